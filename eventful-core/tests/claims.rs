//! Claims held by a slow handler: two instances share a durable handler whose every event
//! takes longer than the lease, and the segment never has two owners at once.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{GameCompletedEvent, publish_game_completed};
use eventful_core::bus::HandlerSettings;
use eventful_core::prelude::*;
use eventful_core::testing::interleave::Interleaved;
use eventful_store_memory::MemoryStore;
use tokio::sync::Semaphore;

const LEASE: Duration = Duration::from_millis(90);
/// Each event takes more than a lease and a half to handle.
const HANDLING: Duration = Duration::from_millis(150);
const EVENTS: u64 = 6;
/// How long the test waits for the instances to get through the events before it fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// How the instances' handler calls overlapped.
#[derive(Default)]
struct Calls {
    in_progress: AtomicU64,
    most_at_once: AtomicU64,
    handled: AtomicU64,
    by_b: AtomicU64,
}

fn slow_handler(
    bus: &mut EventBus<Interleaved<MemoryStore>>,
    calls: &Arc<Calls>,
    started: &Arc<Semaphore>,
    instance: &'static str,
) {
    let calls = calls.clone();
    let started = started.clone();
    bus.subscribe::<GameCompletedEvent, _, _>("slow_count", move |_| {
        let calls = calls.clone();
        let started = started.clone();
        async move {
            let now = calls.in_progress.fetch_add(1, Ordering::SeqCst) + 1;
            calls.most_at_once.fetch_max(now, Ordering::SeqCst);
            started.add_permits(1);
            tokio::time::sleep(HANDLING).await;
            calls.in_progress.fetch_sub(1, Ordering::SeqCst);
            calls.handled.fetch_add(1, Ordering::SeqCst);
            if instance == "b" {
                calls.by_b.fetch_add(1, Ordering::SeqCst);
            }
            Ok::<(), BoxError>(())
        }
    });
    bus.configure("slow_count", HandlerSettings::durable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_slower_than_the_lease_keeps_its_claim_and_never_shares_the_segment() {
    let shared = MemoryStore::new();
    // Two handles on one store, every call yielding first, as two processes would have.
    let store = Interleaved::over(vec![shared.clone(), shared.clone()]);
    for index in 0..EVENTS {
        publish_game_completed(&store, &format!("m{index}"), "a", index).await;
    }
    let calls = Arc::new(Calls::default());
    let started = Arc::new(Semaphore::new(0));

    let mut a = EventBus::new(store.clone(), store.clone())
        .with_instance_id("a")
        .with_lease(LEASE);
    slow_handler(&mut a, &calls, &started, "a");
    let a = a.start().expect("starts");
    // `a` is on its first event (and holds the claim) when `b` starts looking for it.
    started.acquire().await.expect("open").forget();
    let mut b = EventBus::new(store.clone(), store.clone())
        .with_instance_id("b")
        .with_lease(LEASE);
    slow_handler(&mut b, &calls, &started, "b");
    let b = b.start().expect("starts");

    // Bounded, not timed: a claim taken from under a slow handler is taken back and forth
    // without the segment ever getting through.
    let caught_up = tokio::time::timeout(PATIENCE, async {
        a.wait_until_caught_up().await.expect("caught up");
        b.wait_until_caught_up().await.expect("caught up");
    })
    .await;
    let most_at_once = calls.most_at_once.load(Ordering::SeqCst);
    assert!(
        caught_up.is_ok(),
        "never caught up; at most {most_at_once} handler calls at once"
    );
    let status = &b.status().await.expect("status")[0];
    // The race was on: `b` ran beside `a` through every event, each longer than the lease.
    assert_eq!(status.segments[0].owner.as_deref(), Some("a"));
    assert_eq!(
        calls.most_at_once.load(Ordering::SeqCst),
        1,
        "two owners at once"
    );
    assert_eq!(
        calls.handled.load(Ordering::SeqCst),
        EVENTS,
        "an event handled twice"
    );
    assert_eq!(calls.by_b.load(Ordering::SeqCst), 0);
    b.shutdown().await;
    a.shutdown().await;
}
