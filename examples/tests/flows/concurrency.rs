//! Concurrent updates to one player are retried on fresh state, never lost; versions come
//! from the store and have no gaps.

use eventful_core::CommandContext;
use eventful_examples::game_mode::GameMode;
use eventful_examples::ids::{PlayerId, SessionId};
use eventful_examples::player::{PlayerCommand, PlayerService};
use eventful_store_memory::MemoryStore;
use tokio::task::JoinSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_results_for_one_player_all_count() {
    let store = MemoryStore::new();
    // Two services on one store, as two processes would be: separate caches, one stream.
    let first = PlayerService::new(store.clone());
    let second = PlayerService::new(store.clone());
    first
        .sign_up(
            PlayerId(1),
            "Ana",
            "ana@example.com",
            CommandContext::default(),
        )
        .await
        .expect("signed up");

    let mut tasks = JoinSet::new();
    for game in 0..24u64 {
        let service = if game % 2 == 0 { &first } else { &second };
        let players = service.players().clone();
        tasks.spawn(async move {
            let result = PlayerCommand::RecordGameResult {
                player_id: PlayerId(1),
                session_id: SessionId(game),
                mode: GameMode::Casual,
                score: 0,
                placement: 2,
            };
            players.execute(result).await
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("no panic").expect("every result commits");
    }

    let ana = second.players().load(&PlayerId(1)).await.expect("loads");
    assert_eq!(ana.state.stats.games_played, 24);
    assert_eq!(ana.state.stats.xp, 24 * 50);
    let history = first
        .players()
        .history(&PlayerId(1))
        .await
        .expect("history");
    let versions: Vec<_> = history.iter().map(|event| event.version.get()).collect();
    assert_eq!(versions, (1..=history.len() as u64).collect::<Vec<_>>());
    assert_eq!(ana.version.get(), history.len() as u64);
}
