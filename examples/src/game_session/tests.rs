//! The session's rules, as given / when / then.

use chrono::{DateTime, Duration, Utc};
use eventful_core::test_kit::{given, given_no_events};

use crate::game_mode::{GameMode, GameSettings};
use crate::ids::{PlayerId, SessionId};

use super::*;

const SESSION: SessionId = SessionId(1);

fn start_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).expect("a valid time")
}

fn settings() -> GameSettings {
    GameSettings {
        map: "harbor".into(),
        max_players: 3,
        time_limit_minutes: 20,
    }
}

fn start(players: &[u64]) -> GameSessionCommand {
    GameSessionCommand::Start {
        session_id: SESSION,
        players: players.iter().copied().map(PlayerId).collect(),
        mode: GameMode::Ranked,
        settings: settings(),
        started_at: start_time(),
    }
}

fn started(players: &[u64]) -> GameSessionEvent {
    GameSessionEvent::Started {
        session_id: SESSION,
        players: players.iter().copied().map(PlayerId).collect(),
        mode: GameMode::Ranked,
        settings: settings(),
        started_at: start_time(),
    }
}

fn join(player: u64) -> GameSessionCommand {
    GameSessionCommand::Join {
        session_id: SESSION,
        player_id: PlayerId(player),
    }
}

fn end(scores: &[(u64, u64)], after: Duration) -> GameSessionCommand {
    GameSessionCommand::End {
        session_id: SESSION,
        final_scores: scores
            .iter()
            .map(|&(player, score)| PlayerScore {
                player_id: PlayerId(player),
                score,
            })
            .collect(),
        ended_at: start_time() + after,
        reason: EndReason::Completed,
    }
}

fn ended() -> GameSessionEvent {
    GameSessionEvent::Ended {
        final_scores: vec![],
        ended_at: start_time(),
        duration_secs: 0,
        reason: EndReason::Abandoned,
    }
}

#[test]
fn a_session_starts_with_its_players_mode_and_settings() {
    let session = given_no_events::<GameSession>()
        .when(start(&[1, 2]))
        .then_expect([started(&[1, 2])]);
    let GameSession::InProgress(details) = session else {
        panic!("{session:?}")
    };
    assert_eq!(details.players.len(), 2);
}

#[test]
fn a_session_cannot_start_empty_crowded_twice_or_with_a_player_twice() {
    given_no_events::<GameSession>()
        .when(start(&[]))
        .then_error(GameSessionError::NoPlayers(SESSION));
    given_no_events::<GameSession>()
        .when(start(&[1, 2, 3, 4]))
        .then_error(GameSessionError::TooManyPlayers {
            session_id: SESSION,
            players: 4,
            max_players: 3,
        });
    given_no_events::<GameSession>()
        .when(start(&[1, 2, 1]))
        .then_error(GameSessionError::DuplicatePlayer {
            session_id: SESSION,
            player_id: PlayerId(1),
        });
    given::<GameSession>([started(&[1])])
        .when(start(&[1]))
        .then_error(GameSessionError::AlreadyStarted(SESSION));
}

#[test]
fn players_join_once_while_there_is_room() {
    given::<GameSession>([started(&[1])])
        .when(join(2))
        .then_expect([GameSessionEvent::PlayerJoined {
            player_id: PlayerId(2),
        }]);
    given::<GameSession>([started(&[1, 2])])
        .when(join(2))
        .then_error(GameSessionError::AlreadyJoined {
            session_id: SESSION,
            player_id: PlayerId(2),
        });
    given::<GameSession>([started(&[1, 2, 3])])
        .when(join(4))
        .then_error(GameSessionError::SessionFull {
            session_id: SESSION,
            max_players: 3,
        });
}

#[test]
fn nobody_joins_an_ended_or_unknown_session() {
    given::<GameSession>([started(&[1]), ended()])
        .when(join(2))
        .then_error(GameSessionError::AlreadyEnded(SESSION));
    given_no_events::<GameSession>()
        .when(join(2))
        .then_error(GameSessionError::UnknownSession(SESSION));
}

#[test]
fn a_player_leaves_with_a_reason_and_can_join_again() {
    let leave = GameSessionCommand::Leave {
        session_id: SESSION,
        player_id: PlayerId(2),
        reason: LeaveReason::Disconnected,
    };
    let left = GameSessionEvent::PlayerLeft {
        player_id: PlayerId(2),
        reason: LeaveReason::Disconnected,
    };
    given::<GameSession>([started(&[1, 2])])
        .when(leave.clone())
        .then_expect([left.clone()]);
    given::<GameSession>([started(&[1, 2]), left.clone()])
        .when(leave)
        .then_error(GameSessionError::NotInSession {
            session_id: SESSION,
            player_id: PlayerId(2),
        });
    given::<GameSession>([started(&[1, 2]), left])
        .when(join(2))
        .then_expect([GameSessionEvent::PlayerJoined {
            player_id: PlayerId(2),
        }]);
}

#[test]
fn a_session_ends_with_final_scores_end_time_duration_and_reason() {
    given::<GameSession>([started(&[1, 2])])
        .when(end(&[(1, 900), (2, 400)], Duration::seconds(754)))
        .then_expect([GameSessionEvent::Ended {
            final_scores: vec![
                PlayerScore {
                    player_id: PlayerId(1),
                    score: 900,
                },
                PlayerScore {
                    player_id: PlayerId(2),
                    score: 400,
                },
            ],
            ended_at: start_time() + Duration::seconds(754),
            duration_secs: 754,
            reason: EndReason::Completed,
        }]);
}

#[test]
fn ending_an_unknown_or_ended_session_is_a_typed_error() {
    given_no_events::<GameSession>()
        .when(end(&[], Duration::zero()))
        .then_error(GameSessionError::UnknownSession(SESSION));
    given::<GameSession>([started(&[1]), ended()])
        .when(end(&[], Duration::zero()))
        .then_error(GameSessionError::AlreadyEnded(SESSION));
}

#[test]
fn only_players_in_the_session_are_scored_and_it_cannot_end_before_it_started() {
    given::<GameSession>([started(&[1])])
        .when(end(&[(7, 100)], Duration::minutes(5)))
        .then_error(GameSessionError::NotInSession {
            session_id: SESSION,
            player_id: PlayerId(7),
        });
    given::<GameSession>([started(&[1])])
        .when(end(&[(1, 100)], Duration::minutes(-5)))
        .then_error(GameSessionError::EndsBeforeStart(SESSION));
}
