//! One line per event: decoded by whichever of the crate's event types stores it, and told
//! by its `Display`; the raw payload for any other.

use std::fmt::Display;

use eventful_core::{Event, RecordedEvent, Upcasters};

use crate::game_session::GameSessionEvent;
use crate::integration::{
    AchievementUnlockedEvent, GameCompletedEvent, GameWorldInitializeEvent,
    MatchmakingCompletedEvent, PlayerDisconnectedEvent,
};
use crate::player::PlayerEvent;

type Describe = fn(&RecordedEvent) -> Option<String>;

const KNOWN: [Describe; 7] = [
    told::<PlayerEvent>,
    told::<GameSessionEvent>,
    told::<MatchmakingCompletedEvent>,
    told::<PlayerDisconnectedEvent>,
    told::<GameWorldInitializeEvent>,
    told::<GameCompletedEvent>,
    told::<AchievementUnlockedEvent>,
];

/// What `event` says, in a few words.
pub(crate) fn describe(event: &RecordedEvent) -> String {
    KNOWN
        .iter()
        .find_map(|describe| describe(event))
        .unwrap_or_else(|| event.payload.to_string())
}

fn told<E: Event + Display>(event: &RecordedEvent) -> Option<String> {
    if !E::EVENT_TYPES.iter().any(|t| t.name == event.event_type) {
        return None;
    }
    Upcasters::new()
        .decode::<E>(event)
        .ok()
        .map(|decoded| decoded.to_string())
}
