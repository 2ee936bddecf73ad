//! The game workload on the memory store with mimalloc as the global allocator, to compare
//! with `game_workload` (the system's allocator): the allocator is the program's to choose,
//! and docs/performance.md says which a game server should use.
//! `cargo bench -p eventful-store-memory --bench game_workload_mimalloc -- --players 10000`

mod workload;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    workload::main()
}
