//! [`SessionHistory`]: each player's sessions, and how each went for them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use eventful_core::prelude::*;
use parking_lot::RwLock;

use crate::game_mode::GameMode;
use crate::game_session::{GameSessionEvent, LeaveReason, placements};
use crate::ids::{PlayerId, SessionId};

/// One session in a player's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session.
    pub session_id: SessionId,
    /// What kind of game.
    pub mode: GameMode,
    /// How it went.
    pub outcome: SessionOutcome,
}

/// How a session went for one player.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionOutcome {
    /// Still playing.
    Playing,
    /// Left before the end.
    Left(LeaveReason),
    /// There at the end, with a score and a place.
    Finished {
        /// The final score.
        score: u64,
        /// The place, from 1.
        placement: u32,
    },
    /// There at the end, without a score.
    Unscored,
}

impl fmt::Display for SessionOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Playing => f.write_str("playing"),
            Self::Left(reason) => write!(f, "left ({reason})"),
            Self::Finished { score, placement } => write!(f, "place {placement}, score {score}"),
            Self::Unscored => f.write_str("no score"),
        }
    }
}

/// A session being played.
struct Running {
    session_id: SessionId,
    mode: GameMode,
    players: BTreeSet<PlayerId>,
}

#[derive(Default)]
struct Histories {
    running: HashMap<StreamId, Running>,
    players: BTreeMap<PlayerId, Vec<SessionRecord>>,
}

impl Histories {
    fn join(&mut self, stream_id: &StreamId, player_id: PlayerId) {
        if let Some(running) = self.running.get_mut(stream_id) {
            running.players.insert(player_id);
            self.players
                .entry(player_id)
                .or_default()
                .push(SessionRecord {
                    session_id: running.session_id,
                    mode: running.mode,
                    outcome: SessionOutcome::Playing,
                });
        }
    }

    /// Closes the player's record of the session they are playing.
    fn close(&mut self, session_id: SessionId, player_id: PlayerId, outcome: SessionOutcome) {
        let playing = self.players.get_mut(&player_id).and_then(|records| {
            records.iter_mut().rev().find(|record| {
                record.session_id == session_id && record.outcome == SessionOutcome::Playing
            })
        });
        if let Some(record) = playing {
            record.outcome = outcome;
        }
    }
}

/// Each player's sessions, oldest first. Named `session_history` on the bus.
#[derive(Clone, Default)]
pub struct SessionHistory {
    histories: Arc<RwLock<Histories>>,
}

impl SessionHistory {
    /// The sessions of `player_id`, oldest first.
    pub fn of(&self, player_id: PlayerId) -> Vec<SessionRecord> {
        self.histories
            .read()
            .players
            .get(&player_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Every player's sessions, by player.
    pub fn all(&self) -> BTreeMap<PlayerId, Vec<SessionRecord>> {
        self.histories.read().players.clone()
    }
}

#[async_trait]
impl Projection for SessionHistory {
    type Event = GameSessionEvent;

    fn name(&self) -> &str {
        "session_history"
    }

    async fn apply(&self, event: &RecordedEvent<GameSessionEvent>) -> Result<(), BoxError> {
        let mut histories = self.histories.write();
        let stream_id = &event.stream_id;
        match &event.payload {
            GameSessionEvent::Started {
                session_id,
                players,
                mode,
                ..
            } => {
                let running = Running {
                    session_id: *session_id,
                    mode: *mode,
                    players: BTreeSet::new(),
                };
                histories.running.insert(stream_id.clone(), running);
                for player_id in players {
                    histories.join(stream_id, *player_id);
                }
            }
            GameSessionEvent::PlayerJoined { player_id } => histories.join(stream_id, *player_id),
            GameSessionEvent::PlayerLeft { player_id, reason } => {
                if let Some(running) = histories.running.get_mut(stream_id) {
                    running.players.remove(player_id);
                    let session_id = running.session_id;
                    histories.close(session_id, *player_id, SessionOutcome::Left(*reason));
                }
            }
            GameSessionEvent::Ended { final_scores, .. } => {
                let Some(running) = histories.running.remove(stream_id) else {
                    return Ok(());
                };
                let ranked = placements(final_scores);
                for player_id in running.players {
                    let outcome = ranked
                        .iter()
                        .find(|placed| placed.player_id == player_id)
                        .map_or(SessionOutcome::Unscored, |placed| {
                            SessionOutcome::Finished {
                                score: placed.score,
                                placement: placed.placement,
                            }
                        });
                    histories.close(running.session_id, player_id, outcome);
                }
            }
        }
        Ok(())
    }

    async fn reset(&self) -> Result<(), BoxError> {
        *self.histories.write() = Histories::default();
        Ok(())
    }
}
