use eventful_core::Event;

#[derive(Event)]
union PlayerEvent {
    xp: u64,
    level: u32,
}

fn main() {}
