//! The game-session service: the [`GameSession`] aggregate, and the policies by which it
//! starts sessions from matchmaking, lets disconnected players leave, and tells the other
//! services when a session starts and ends.
//!
//! | module | what lives there |
//! | --- | --- |
//! | `aggregate` | [`GameSession`]: decides on [`GameSessionCommand`]s, evolves by [`GameSessionEvent`]s |
//! | `commands`, `events`, `errors` | what it is asked, what it records, why it refuses |
//! | `scores` | [`PlayerScore`] and the placements of a set of final scores |
//! | `policies` | `matchmaking_completed` → start; `player_disconnected` → leave; started / ended → `game_world_initialize` / `game_completed` |
//! | `service` | [`GameSessionService`]: the repository and the wiring onto a bus |

mod aggregate;
mod commands;
mod errors;
mod events;
mod policies;
mod scores;
mod service;

#[cfg(test)]
mod tests;

pub use self::aggregate::{GameSession, SessionDetails};
pub use self::commands::GameSessionCommand;
pub use self::errors::GameSessionError;
pub use self::events::{EndReason, GameSessionEvent, LeaveReason};
pub use self::policies::{LeaveOnDisconnect, PublishSessionNews, StartSessionOnMatchmaking};
pub use self::scores::{Placement, PlayerScore, placements};
pub use self::service::{GameSessionRepository, GameSessionService};
