//! The backend's read models: projections of the log, queried while the bus feeds them and
//! rebuilt from the log at will.
//!
//! Each is a cheap-clone handle on its state: give one clone to the bus
//! ([`EventBus::projection`](eventful_core::EventBus::projection)) and query another. Their
//! views (`standings`, `list`, `all`) are plain values, so that a rebuilt copy can be
//! compared with the running one.

mod active_sessions;
mod leaderboard;
mod session_history;

pub use self::active_sessions::{ActiveSession, ActiveSessions};
pub use self::leaderboard::{Leaderboard, LeaderboardEntry};
pub use self::session_history::{SessionHistory, SessionOutcome, SessionRecord};
