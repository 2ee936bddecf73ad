//! Names and emails for simulated players.

use crate::ids::PlayerId;

const NAMES: [&str; 12] = [
    "Ana", "Bo", "Chen", "Dara", "Eli", "Fay", "Gus", "Hana", "Ivo", "Juno", "Kai", "Lea",
];

/// The name of simulated player `player_id`: `Ana`, `Bo`, …, then `Ana 2`, `Bo 2`, ….
pub fn name_of(player_id: PlayerId) -> String {
    let index = usize::try_from(player_id.0.saturating_sub(1)).unwrap_or(usize::MAX);
    let name = NAMES[index % NAMES.len()];
    match index / NAMES.len() {
        0 => name.to_owned(),
        round => format!("{name} {}", round + 1),
    }
}

/// The email of simulated player `player_id`.
pub fn email_of(player_id: PlayerId) -> String {
    format!("player{}@example.com", player_id.0)
}
