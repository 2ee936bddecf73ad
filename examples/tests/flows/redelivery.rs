//! The policies are idempotent: a second bus that reads the whole log again (a restart with
//! no checkpoints) records nothing.

use eventful_core::{EventBus, EventStore};
use eventful_examples::game_session::GameSessionService;
use eventful_examples::player::PlayerService;
use eventful_examples::simulation::AchievementService;
use eventful_examples::store::shared;
use eventful_store_memory::MemoryStore;

use crate::support::{backend, versions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_the_policies_again_over_the_log_records_nothing() {
    let backend = backend(5).await;
    let roster: Vec<_> = (1..=5).map(eventful_examples::ids::PlayerId).collect();
    backend.play(&roster, 3, 11).await.expect("played");
    backend.bus.wait_until_settled().await.expect("settled");
    let store = backend.store.clone();
    let before = versions(&store).await;
    let head = store.head_position().await.expect("head");

    let players = PlayerService::new(store.clone());
    let sessions = GameSessionService::new(store.clone());
    let mut again = EventBus::new(store.clone(), MemoryStore::new());
    players.add_handlers(&mut again).expect("registered");
    sessions.add_handlers(&mut again);
    again.policy(AchievementService::new(shared(store.clone())));
    let again = again.start().expect("starts");
    again.wait_until_settled().await.expect("settled");

    assert_eq!(store.head_position().await.expect("head"), head);
    assert_eq!(versions(&store).await, before);
    again.shutdown().await;
}
