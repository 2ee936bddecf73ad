//! The public leaderboard feed: after each match, the top of the leaderboard read model is
//! published as a `leaderboard_changed` event when it moved, for every client to follow.

use eventful_core::swappable::Swappable;
use eventful_core::{CommandContext, Event, TypeName};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::ids::PlayerId;
use crate::publish::Publisher;
use crate::read_models::{Leaderboard, LeaderboardEntry};
use crate::store::SharedStore;

/// How many places the feed publishes.
pub const PLACES: usize = 10;

/// One place of the published leaderboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    /// The rank, from 1.
    pub rank: usize,
    /// Who.
    pub player_id: PlayerId,
    /// Display name.
    pub name: String,
    /// Level.
    pub level: u32,
    /// Experience.
    pub xp: u64,
}

/// The top of the leaderboard moved. Stored as `leaderboard_changed` on `leaderboard-top`.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct LeaderboardChangedEvent {
    /// The top places, best first.
    pub standings: Vec<Standing>,
}

/// Publishes the leaderboard's top when it differs from what was last published.
pub struct LeaderboardFeed {
    leaderboard: Swappable<Leaderboard>,
    publisher: Publisher<SharedStore>,
    last: Vec<Standing>,
}

impl LeaderboardFeed {
    /// A feed of `leaderboard`, published on `store`.
    pub fn new(leaderboard: Swappable<Leaderboard>, store: SharedStore) -> Self {
        Self {
            leaderboard,
            publisher: Publisher::new(store, TypeName::from_static("leaderboard")),
            last: Vec::new(),
        }
    }

    /// Publishes the top places if they moved; returns whether it did.
    pub async fn publish_if_moved(&mut self) -> Result<bool, Error> {
        let standings = top(&self.leaderboard.current());
        if standings == self.last {
            return Ok(false);
        }
        let event = LeaderboardChangedEvent {
            standings: standings.clone(),
        };
        self.publisher
            .publish(&"top", &[event], &CommandContext::default())
            .await?;
        self.last = standings;
        Ok(true)
    }
}

/// The top places of `leaderboard` now, as the feed publishes them: what a client that
/// follows the feed live shows until the next change (the page's `GET /demo/leaderboard`).
pub fn top(leaderboard: &Leaderboard) -> Vec<Standing> {
    ranked(&leaderboard.standings())
}

fn ranked(entries: &[LeaderboardEntry]) -> Vec<Standing> {
    entries
        .iter()
        .take(PLACES)
        .enumerate()
        .map(|(index, entry)| Standing {
            rank: index + 1,
            player_id: entry.player_id,
            name: entry.name.clone(),
            level: entry.level,
            xp: entry.xp,
        })
        .collect()
}
