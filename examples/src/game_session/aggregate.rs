//! The [`GameSession`] aggregate: not started, in progress with its players, or ended.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use eventful_core::aggregate;
use serde::{Deserialize, Serialize};

use crate::game_mode::{GameMode, GameSettings};
use crate::ids::{PlayerId, SessionId};

use super::commands::GameSessionCommand;
use super::errors::GameSessionError;
use super::events::{EndReason, GameSessionEvent, LeaveReason};
use super::scores::PlayerScore;

/// A game session, as rebuilt from its stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub enum GameSession {
    /// No event yet: the session does not exist.
    #[default]
    NotStarted,
    /// Running.
    InProgress(SessionDetails),
    /// Over; the players are those who were in it at the end.
    Ended(SessionDetails),
}

/// What a started session knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionDetails {
    /// Its id.
    pub session_id: SessionId,
    /// What kind of game.
    pub mode: GameMode,
    /// On what terms.
    pub settings: GameSettings,
    /// Who is in it now.
    pub players: BTreeSet<PlayerId>,
    /// When it started.
    pub started_at: DateTime<Utc>,
}

#[aggregate(
    name = "game_session",
    id = SessionId,
    command = GameSessionCommand,
    event = GameSessionEvent,
    error = GameSessionError
)]
impl GameSession {
    #[handle(GameSessionCommand::Start)]
    fn start(
        &self,
        session_id: &SessionId,
        players: &[PlayerId],
        mode: &GameMode,
        settings: &GameSettings,
        started_at: &DateTime<Utc>,
    ) -> Result<Vec<GameSessionEvent>, GameSessionError> {
        let session_id = *session_id;
        if *self != Self::NotStarted {
            return Err(GameSessionError::AlreadyStarted(session_id));
        }
        if players.is_empty() {
            return Err(GameSessionError::NoPlayers(session_id));
        }
        if players.len() > settings.max_players as usize {
            return Err(GameSessionError::TooManyPlayers {
                session_id,
                players: players.len(),
                max_players: settings.max_players,
            });
        }
        let mut seen = BTreeSet::new();
        if let Some(player_id) = players.iter().find(|player| !seen.insert(**player)) {
            return Err(GameSessionError::DuplicatePlayer {
                session_id,
                player_id: *player_id,
            });
        }
        Ok(vec![GameSessionEvent::Started {
            session_id,
            players: players.to_vec(),
            mode: *mode,
            settings: settings.clone(),
            started_at: *started_at,
        }])
    }

    #[handle(GameSessionCommand::Join)]
    fn join(
        &self,
        session_id: &SessionId,
        player_id: &PlayerId,
    ) -> Result<Vec<GameSessionEvent>, GameSessionError> {
        let session = self.in_progress(*session_id)?;
        if session.players.contains(player_id) {
            return Err(GameSessionError::AlreadyJoined {
                session_id: *session_id,
                player_id: *player_id,
            });
        }
        if session.players.len() >= session.settings.max_players as usize {
            return Err(GameSessionError::SessionFull {
                session_id: *session_id,
                max_players: session.settings.max_players,
            });
        }
        Ok(vec![GameSessionEvent::PlayerJoined {
            player_id: *player_id,
        }])
    }

    #[handle(GameSessionCommand::Leave)]
    fn leave(
        &self,
        session_id: &SessionId,
        player_id: &PlayerId,
        reason: &LeaveReason,
    ) -> Result<Vec<GameSessionEvent>, GameSessionError> {
        let session = self.in_progress(*session_id)?;
        if !session.players.contains(player_id) {
            return Err(GameSessionError::NotInSession {
                session_id: *session_id,
                player_id: *player_id,
            });
        }
        Ok(vec![GameSessionEvent::PlayerLeft {
            player_id: *player_id,
            reason: *reason,
        }])
    }

    #[handle(GameSessionCommand::End)]
    fn end(
        &self,
        session_id: &SessionId,
        final_scores: &[PlayerScore],
        ended_at: &DateTime<Utc>,
        reason: &EndReason,
    ) -> Result<Vec<GameSessionEvent>, GameSessionError> {
        let session = self.in_progress(*session_id)?;
        if let Some(stranger) = final_scores
            .iter()
            .find(|score| !session.players.contains(&score.player_id))
        {
            return Err(GameSessionError::NotInSession {
                session_id: *session_id,
                player_id: stranger.player_id,
            });
        }
        let duration = ended_at.signed_duration_since(session.started_at);
        let Ok(duration_secs) = u64::try_from(duration.num_seconds()) else {
            return Err(GameSessionError::EndsBeforeStart(*session_id));
        };
        Ok(vec![GameSessionEvent::Ended {
            final_scores: final_scores.to_vec(),
            ended_at: *ended_at,
            duration_secs,
            reason: *reason,
        }])
    }

    #[apply(GameSessionEvent::Started)]
    fn started(
        &mut self,
        session_id: &SessionId,
        players: &[PlayerId],
        mode: &GameMode,
        settings: &GameSettings,
        started_at: &DateTime<Utc>,
    ) {
        *self = Self::InProgress(SessionDetails {
            session_id: *session_id,
            mode: *mode,
            settings: settings.clone(),
            players: players.iter().copied().collect(),
            started_at: *started_at,
        });
    }

    #[apply(GameSessionEvent::PlayerJoined)]
    fn player_joined(&mut self, player_id: &PlayerId) {
        if let Self::InProgress(session) = self {
            session.players.insert(*player_id);
        }
    }

    #[apply(GameSessionEvent::PlayerLeft)]
    fn player_left(&mut self, player_id: &PlayerId) {
        if let Self::InProgress(session) = self {
            session.players.remove(player_id);
        }
    }

    #[apply(GameSessionEvent::Ended)]
    fn ended(&mut self) {
        if let Self::InProgress(session) = std::mem::take(self) {
            *self = Self::Ended(session);
        }
    }

    /// The session's details if it is running; why not otherwise.
    fn in_progress(&self, session_id: SessionId) -> Result<&SessionDetails, GameSessionError> {
        match self {
            Self::InProgress(session) => Ok(session),
            Self::NotStarted => Err(GameSessionError::UnknownSession(session_id)),
            Self::Ended(_) => Err(GameSessionError::AlreadyEnded(session_id)),
        }
    }
}
