//! The player's rules, as given / when / then.

use eventful_core::test_kit::{given, given_no_events};

use crate::game_mode::GameMode;
use crate::ids::{PlayerId, SessionId};

use super::*;

const ANA: PlayerId = PlayerId(1);

fn signed_up() -> PlayerEvent {
    PlayerEvent::Created {
        player_id: ANA,
        name: "Ana".into(),
        email: "ana@example.com".into(),
        stats: PlayerStats::default(),
    }
}

fn result(mode: GameMode, score: u64, placement: u32) -> PlayerCommand {
    PlayerCommand::RecordGameResult {
        player_id: ANA,
        session_id: SessionId(4),
        mode,
        score,
        placement,
    }
}

fn claim(achievement_id: &str) -> PlayerCommand {
    PlayerCommand::ClaimAchievement {
        player_id: ANA,
        achievement_id: achievement_id.into(),
    }
}

#[test]
fn a_new_player_starts_at_level_one_with_nothing() {
    let player = given_no_events::<Player>()
        .when(PlayerCommand::Create {
            player_id: ANA,
            name: " Ana ".into(),
            email: "ana@example.com".into(),
        })
        .then_expect([signed_up()]);
    assert_eq!(player.stats, PlayerStats::default());
    assert_eq!(player.stats.level, 1);
}

#[test]
fn a_player_signs_up_once_with_a_name_and_an_email() {
    given::<Player>([signed_up()])
        .when(PlayerCommand::Create {
            player_id: ANA,
            name: "Ana".into(),
            email: "ana@example.com".into(),
        })
        .then_error(PlayerError::AlreadyExists(ANA));
    let create = |name: &str, email: &str| PlayerCommand::Create {
        player_id: ANA,
        name: name.into(),
        email: email.into(),
    };
    given_no_events::<Player>()
        .when(create("  ", "ana@example.com"))
        .then_error(PlayerError::BlankName);
    given_no_events::<Player>()
        .when(create("Ana", "ana.example.com"))
        .then_error(PlayerError::InvalidEmail("ana.example.com".into()));
}

#[test]
fn a_game_updates_the_stats_by_score_and_mode_with_the_reason() {
    let changes = StatsChange {
        xp: 100 + 42,
        games_played: 1,
        wins: 0,
        score: 420,
        coins: 0,
    };
    let player = given::<Player>([signed_up()])
        .when(result(GameMode::Ranked, 420, 2))
        .then_expect([PlayerEvent::StatsUpdated {
            stats: changes.applied_to(&PlayerStats::default()),
            changes,
            reason: StatsReason::GameCompleted {
                session_id: SessionId(4),
                mode: GameMode::Ranked,
                score: 420,
                placement: 2,
            },
        }]);
    assert_eq!((player.stats.xp, player.stats.level), (142, 1));
}

fn with_xp(xp: u64) -> PlayerEvent {
    PlayerEvent::StatsUpdated {
        changes: StatsChange {
            xp,
            ..StatsChange::default()
        },
        stats: PlayerStats {
            xp,
            ..PlayerStats::default()
        },
        reason: StatsReason::AchievementUnlocked {
            achievement_id: "high_scorer".into(),
        },
    }
}

#[test]
fn crossing_a_threshold_levels_up_with_the_level_reward() {
    let player = given::<Player>([signed_up()])
        .when(claim("marathon"))
        .then_expect([
            PlayerEvent::StatsUpdated {
                changes: StatsChange {
                    xp: 500,
                    coins: 250,
                    ..StatsChange::default()
                },
                stats: PlayerStats {
                    xp: 500,
                    coins: 250,
                    ..PlayerStats::default()
                },
                reason: StatsReason::AchievementUnlocked {
                    achievement_id: "marathon".into(),
                },
            },
            PlayerEvent::LeveledUp {
                old_level: 1,
                new_level: 2,
                rewards: vec![reward_for_level(2)],
            },
        ]);
    assert_eq!(player.stats.level, 2);
    assert_eq!(player.stats.coins, 250 + 200);
    assert_eq!(player.items, ["starter_emote"]);
}

#[test]
fn crossing_two_thresholds_at_once_rewards_both_levels() {
    // 500 xp, then a tournament win with 1500: 150 + 150 + 250 = 550 more, past 900.
    let events = given::<Player>([signed_up(), with_xp(500)])
        .when(result(GameMode::Tournament, 1500, 1))
        .result()
        .expect("accepted");
    assert_eq!(
        events[1],
        PlayerEvent::LeveledUp {
            old_level: 1,
            new_level: 3,
            rewards: vec![reward_for_level(2), reward_for_level(3)],
        }
    );
}

#[test]
fn no_level_up_below_the_next_threshold() {
    let events = given::<Player>([signed_up(), with_xp(100)])
        .when(result(GameMode::Casual, 100, 2))
        .result()
        .expect("accepted");
    assert_eq!(events.len(), 1, "{events:?}");
}

#[test]
fn an_achievement_gives_its_rewards_once() {
    let first = given::<Player>([signed_up()])
        .when(claim("first_win"))
        .result()
        .expect("accepted");
    given::<Player>([signed_up(), first[0].clone()])
        .when(claim("first_win"))
        .then_expect([]);
}

#[test]
fn an_unknown_achievement_or_player_is_refused() {
    given::<Player>([signed_up()])
        .when(claim("flawless"))
        .then_error(PlayerError::UnknownAchievement("flawless".into()));
    given_no_events::<Player>()
        .when(result(GameMode::Casual, 10, 1))
        .then_error(PlayerError::UnknownPlayer(ANA));
    given_no_events::<Player>()
        .when(claim("first_win"))
        .then_error(PlayerError::UnknownPlayer(ANA));
    given::<Player>([signed_up()])
        .when(result(GameMode::Casual, 10, 0))
        .then_error(PlayerError::InvalidPlacement);
}
