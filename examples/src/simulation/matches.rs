//! A seeded driver that plays matches: matchmaking, a late join or a disconnect, final
//! scores — waiting for the bus between steps, as players would between their actions.

use std::sync::Arc;
use std::time::Duration;

use eventful_core::{CommandContext, Uuid};

use crate::error::Error;
use crate::game_mode::{GameMode, GameSettings};
use crate::game_session::{
    EndReason, GameSession, GameSessionCommand, GameSessionRepository, PlayerScore,
};
use crate::ids::{PlayerId, SessionId};
use crate::store::SharedStore;

use super::game_server::GameServer;
use super::publishers::{Gateway, Matchmaking};
use super::settle::{Settle, Step};

const MAPS: [&str; 4] = ["harbor", "canyon", "citadel", "glacier"];

/// Players matchmaking puts in one match, at most.
const MATCH_SIZE: usize = 3;

/// What one simulated match does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchPlan {
    /// The match, and so the session.
    pub match_id: SessionId,
    /// Who matchmaking puts in it.
    pub players: Vec<PlayerId>,
    /// What kind of game.
    pub mode: GameMode,
    /// On what terms.
    pub settings: GameSettings,
    /// A player who joins after the start (in even matches, when someone is left over).
    pub late_joiner: Option<PlayerId>,
    /// A player whose connection drops (in odd matches).
    pub disconnected: Option<PlayerId>,
    /// Whether the match ends with final scores, or is still being played.
    pub finished: bool,
}

/// Plays matches with stand-ins for matchmaking, the gateway and the game servers.
pub struct MatchSimulator {
    rng: fastrand::Rng,
    matchmaking: Matchmaking,
    gateway: Gateway,
    game_server: GameServer,
    sessions: Arc<GameSessionRepository>,
}

impl MatchSimulator {
    /// A simulator whose choices follow `seed`, publishing on `store`, reading `sessions`
    /// and ending them through `game_server`.
    pub fn new(
        seed: u64,
        store: SharedStore,
        sessions: Arc<GameSessionRepository>,
        game_server: GameServer,
    ) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(seed),
            matchmaking: Matchmaking::new(store.clone()),
            gateway: Gateway::new(store),
            game_server,
            sessions,
        }
    }

    /// Plans match `match_id` among `roster`.
    pub fn plan(&mut self, match_id: SessionId, roster: &[PlayerId], finished: bool) -> MatchPlan {
        let mut shuffled = roster.to_vec();
        self.rng.shuffle(&mut shuffled);
        let size = shuffled.len().min(MATCH_SIZE);
        let mut players = shuffled[..size].to_vec();
        players.sort();
        let odd = match_id.0 % 2 == 1;
        let late_joiner = if odd {
            None
        } else {
            shuffled.get(size).copied()
        };
        let disconnected = (odd && size > 1).then(|| players[self.rng.usize(..size)]);
        let round = usize::try_from(match_id.0).unwrap_or(0);
        MatchPlan {
            match_id,
            players,
            mode: GameMode::ALL[round % GameMode::ALL.len()],
            settings: GameSettings {
                map: MAPS[round % MAPS.len()].to_owned(),
                max_players: 4,
                time_limit_minutes: 20,
            },
            late_joiner,
            disconnected,
            finished,
        }
    }

    /// Plays `plan`, waiting after each step until it has been handled: with a
    /// [`RunningBus`](eventful_core::RunningBus), until the bus has settled.
    pub async fn play(&mut self, plan: &MatchPlan, settle: &impl Settle) -> Result<(), Error> {
        let session_id = plan.match_id;
        let matched = self
            .matchmaking
            .complete(
                session_id,
                plan.players.clone(),
                plan.mode,
                plan.settings.clone(),
            )
            .await?;
        settle.settle(Step::Published(&matched)).await?;
        if let Some(player_id) = plan.late_joiner {
            let join = GameSessionCommand::Join {
                session_id,
                player_id,
            };
            let request = CommandContext::default().with_correlation_id(Uuid::new_v4());
            self.sessions.execute_with(join, request).await?;
        }
        if let Some(player_id) = plan.disconnected {
            let dropped = self.gateway.disconnect(player_id, session_id).await?;
            settle.settle(Step::Published(&dropped)).await?;
        }
        if plan.finished {
            let final_scores = self.final_scores(session_id).await?;
            let played = Duration::from_secs(self.rng.u64(8 * 60..=20 * 60));
            self.game_server
                .finish(session_id, final_scores, played, EndReason::Completed)
                .await?;
            settle.settle(Step::Ended(session_id)).await?;
        }
        Ok(())
    }

    /// A score, in tens from 100 to 1500, for each player still in the session.
    async fn final_scores(&mut self, session_id: SessionId) -> Result<Vec<PlayerScore>, Error> {
        let session = self.sessions.load(&session_id).await?;
        let GameSession::InProgress(details) = session.state else {
            return Ok(Vec::new());
        };
        Ok(details
            .players
            .into_iter()
            .map(|player_id| PlayerScore {
                player_id,
                score: self.rng.u64(10..=150) * 10,
            })
            .collect())
    }
}
