//! Stand-ins for the services around the two of this crate — matchmaking, the connection
//! gateway, the game servers, the achievement service — and a seeded driver that plays
//! matches with them. A real backend has real services here; what they publish and how the
//! two services react is the same.

mod achievement_service;
mod game_server;
mod matches;
mod publishers;
mod roster;
mod settle;

pub use self::achievement_service::{AchievementService, HIGH_SCORE};
pub use self::game_server::GameServer;
pub use self::matches::{MatchPlan, MatchSimulator};
pub use self::publishers::{Gateway, Matchmaking};
pub use self::roster::{email_of, name_of};
pub use self::settle::{Settle, Step};
