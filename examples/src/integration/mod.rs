//! The integration events: what one service tells the others. Each is published on its
//! publisher's topic stream (see [`publish`](crate::publish)) and read by whoever subscribes.
//!
//! | event | published by | on topic | read by |
//! | --- | --- | --- | --- |
//! | [`MatchmakingCompletedEvent`] | matchmaking | `matchmaking-<match>` | the game-session service: starts the session |
//! | [`PlayerDisconnectedEvent`] | the connection gateway | `gateway-<player>` | the game-session service: the player leaves |
//! | [`GameWorldInitializeEvent`] | the game-session service | `game_world-<session>` | the game servers: load the map |
//! | [`GameCompletedEvent`] | the game-session service | `game_results-<session>` | the player service (xp, stats), achievements |
//! | [`AchievementUnlockedEvent`] | the achievement service | `achievements-<player>` | the player service: the achievement's rewards |

mod achievement_unlocked;
mod game_completed;
mod game_world_initialize;
mod matchmaking_completed;
mod player_disconnected;

pub use self::achievement_unlocked::AchievementUnlockedEvent;
pub use self::game_completed::GameCompletedEvent;
pub use self::game_world_initialize::GameWorldInitializeEvent;
pub use self::matchmaking_completed::MatchmakingCompletedEvent;
pub use self::player_disconnected::PlayerDisconnectedEvent;

use eventful_core::TypeName;

/// The topics the events above are published on.
pub mod topics {
    use super::TypeName;

    /// `matchmaking-<match>`: [`MatchmakingCompletedEvent`](super::MatchmakingCompletedEvent).
    pub const MATCHMAKING: TypeName = TypeName::from_static("matchmaking");
    /// `gateway-<player>`: [`PlayerDisconnectedEvent`](super::PlayerDisconnectedEvent).
    pub const GATEWAY: TypeName = TypeName::from_static("gateway");
    /// `game_world-<session>`: [`GameWorldInitializeEvent`](super::GameWorldInitializeEvent).
    pub const GAME_WORLD: TypeName = TypeName::from_static("game_world");
    /// `game_results-<session>`: [`GameCompletedEvent`](super::GameCompletedEvent).
    pub const GAME_RESULTS: TypeName = TypeName::from_static("game_results");
    /// `achievements-<player>`: [`AchievementUnlockedEvent`](super::AchievementUnlockedEvent).
    pub const ACHIEVEMENTS: TypeName = TypeName::from_static("achievements");
}
