//! [`Leaderboard`]: players by level, then xp.

use std::collections::HashMap;
use std::sync::Arc;

use eventful_core::prelude::*;
use parking_lot::RwLock;

use crate::ids::PlayerId;
use crate::player::PlayerEvent;

/// One player's line on the leaderboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderboardEntry {
    /// Who.
    pub player_id: PlayerId,
    /// Display name.
    pub name: String,
    /// Level.
    pub level: u32,
    /// Experience.
    pub xp: u64,
}

/// Players by level, then xp. Named `leaderboard` on the bus.
#[derive(Clone, Default)]
pub struct Leaderboard {
    players: Arc<RwLock<HashMap<StreamId, LeaderboardEntry>>>,
}

impl Leaderboard {
    /// Every player, best first (ties by player id).
    pub fn standings(&self) -> Vec<LeaderboardEntry> {
        let mut standings: Vec<_> = self.players.read().values().cloned().collect();
        standings.sort_by(|a, b| {
            (b.level, b.xp)
                .cmp(&(a.level, a.xp))
                .then(a.player_id.cmp(&b.player_id))
        });
        standings
    }
}

#[async_trait]
impl Projection for Leaderboard {
    type Event = PlayerEvent;

    fn name(&self) -> &str {
        "leaderboard"
    }

    async fn apply(&self, event: &RecordedEvent<PlayerEvent>) -> Result<(), BoxError> {
        let mut players = self.players.write();
        match &event.payload {
            PlayerEvent::Created {
                player_id,
                name,
                stats,
                ..
            } => {
                let entry = LeaderboardEntry {
                    player_id: *player_id,
                    name: name.clone(),
                    level: stats.level,
                    xp: stats.xp,
                };
                players.insert(event.stream_id.clone(), entry);
            }
            PlayerEvent::StatsUpdated { stats, .. } => {
                if let Some(entry) = players.get_mut(&event.stream_id) {
                    entry.xp = stats.xp;
                }
            }
            PlayerEvent::LeveledUp { new_level, .. } => {
                if let Some(entry) = players.get_mut(&event.stream_id) {
                    entry.level = *new_level;
                }
            }
        }
        Ok(())
    }

    async fn reset(&self) -> Result<(), BoxError> {
        self.players.write().clear();
        Ok(())
    }
}
