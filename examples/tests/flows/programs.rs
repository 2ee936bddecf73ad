//! Each example program's main path, with small numbers: an example that stops working fails
//! the build.

use eventful_examples::Error;
use eventful_examples::options::{Options, StoreChoice};
use eventful_examples::programs::{game_backend, game_session, player_service};

fn small() -> Options {
    let mut options = Options::default();
    options.players = 4;
    options.matches = 3;
    options.seed = 5;
    options
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn player_service_runs() {
    let report = player_service::run(small()).await.expect("runs");
    assert_eq!(report.players.len(), 4);
    assert_eq!(
        report.burst.games_after - report.burst.games_before,
        report.burst.sent
    );
    assert!(
        report.unknown_player.contains("there is no player 999"),
        "{}",
        report.unknown_player
    );
    assert_eq!(report.head_around_refusal.0, report.head_around_refusal.1);
    assert_eq!(report.registered.len(), 2, "{:?}", report.registered);
    let text = report.to_string();
    assert!(text.contains("every result counted"), "{text}");
    assert!(text.contains("game_completed"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn game_session_runs() {
    let report = game_session::run(small()).await.expect("runs");
    assert_eq!(report.sessions.len(), 3);
    assert_eq!(report.rejections.len(), 5);
    for rejection in &report.rejections {
        assert!(rejection.error.is_some(), "accepted: {}", rejection.attempt);
    }
    assert_eq!(
        report.head_around_rejections.0,
        report.head_around_rejections.1
    );
    assert_eq!(report.announced["game_world_initialize"], 3);
    assert!(report.announced["game_completed"] >= 2);
    assert!(report.to_string().contains("Nothing was stored"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn game_backend_runs() {
    let report = game_backend::run(small()).await.expect("runs");
    assert_eq!(report.rebuilt, report.views);
    assert_eq!(report.views.standings.len(), 4);
    let replay = report.replay.as_ref().expect("a leader to replay");
    assert!(replay.earlier.version < replay.now.version);
    assert_eq!(
        replay.since.len() as u64,
        replay.now.version.get() - replay.earlier.version.get()
    );
    let text = report.to_string();
    for part in [
        "== The story ==",
        "Leaderboard",
        "match the running read models",
        "load_at",
    ] {
        assert!(text.contains(part), "no `{part}` in:\n{text}");
    }
}

#[tokio::test]
async fn the_backend_runs_on_mongodb() {
    let Ok(uri) = std::env::var("EVENTFUL_MONGO_URI") else {
        eprintln!("skipped: EVENTFUL_MONGO_URI is not set, so the backend was not run on MongoDB");
        return;
    };
    let mut options = small();
    options.store = StoreChoice::Mongo { uri };
    let report = game_backend::run(options).await.expect("runs on MongoDB");
    assert_eq!(
        report.views, report.rebuilt,
        "read models rebuilt from MongoDB match"
    );
    assert!(report.to_string().contains("on MongoDB"), "{report}");
}

#[tokio::test]
async fn an_unreachable_mongodb_is_a_clear_error() {
    let mut options = small();
    options.store = StoreChoice::Mongo {
        uri: "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300".into(),
    };
    let error = game_backend::run(options).await.expect_err("refused");
    assert!(matches!(error, Error::Mongo(_)), "{error:?}");
    assert!(
        error.to_string().to_lowercase().contains("unreachable")
            || error.to_string().contains("127.0.0.1:9"),
        "{error}"
    );
}
