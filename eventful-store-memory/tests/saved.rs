//! Saving the store to a file and loading it back: everything survives, bad files are refused
//! with the line to look at, and a restored store passes the whole conformance suite.

use std::path::PathBuf;

use eventful_core::{
    CheckpointStore, EventFilter, EventStore, ExpectedVersion, Metadata, NewEvent, Payload,
    Position, Snapshot, SnapshotStore, StreamId, TypeName, Version,
};
use eventful_store_memory::{MemoryStore, PersistError};
use uuid::Uuid;

fn temporary_file() -> PathBuf {
    std::env::temp_dir().join(format!("eventful-memory-{}.jsonl", Uuid::new_v4().simple()))
}

fn event(event_type: &'static str, json: &str) -> NewEvent {
    NewEvent::new(
        TypeName::from_static("player"),
        TypeName::from_static(event_type),
        2,
        Payload::from_json_slice(json.as_bytes()).expect("json"),
    )
}

/// A store with events in several streams, metadata, a snapshot and a checkpoint.
async fn populated() -> MemoryStore {
    let store = MemoryStore::new();
    for n in 0..30u32 {
        let stream = StreamId::new(format!("player-{}", n % 4)).expect("valid");
        let metadata = Metadata::default()
            .with_correlation_id(Uuid::new_v4())
            .with_entry("round", n.to_string());
        let events = vec![
            event("xp_gained", &format!(r#"{{"amount":{n},"note":"Zoë ✓"}}"#))
                .with_metadata(metadata),
            event("leveled_up", r#"{"from":1,"to":2}"#),
        ];
        store
            .append(&stream, ExpectedVersion::Any, events)
            .await
            .expect("appends");
    }
    store
        .save_snapshot(Snapshot {
            stream_id: StreamId::new("player-1").expect("valid"),
            aggregate_type: TypeName::from_static("player"),
            version: Version::new(6),
            revision: 3,
            taken_at: chrono::Utc::now(),
            payload: Payload::from_json_slice(br#"{"xp":12}"#).expect("json"),
        })
        .await
        .expect("saved");
    store
        .save_checkpoint("leaderboard", Position::new(17))
        .await
        .expect("saved");
    store
}

async fn everything(store: &MemoryStore) -> Vec<eventful_core::RecordedEvent> {
    store
        .read_all(Position::START, &EventFilter::all(), usize::MAX)
        .await
        .expect("reads")
        .events
}

#[tokio::test]
async fn a_saved_store_loads_back_whole_and_carries_on() {
    let store = populated().await;
    let path = temporary_file();
    store.save_to(&path).expect("saves");
    let loaded = MemoryStore::load_from(&path).expect("loads");
    std::fs::remove_file(&path).expect("cleans up");

    assert_eq!(everything(&loaded).await, everything(&store).await);
    assert_eq!(loaded.head_position().await.ok(), Some(Position::new(60)));
    let stream = StreamId::new("player-1").expect("valid");
    assert_eq!(
        loaded.stream_version(&stream).await.ok(),
        Some(Version::new(16))
    );
    assert_eq!(
        loaded.load_snapshot(&stream).await.expect("reads"),
        store.load_snapshot(&stream).await.expect("reads")
    );
    assert_eq!(
        loaded.load_checkpoint("leaderboard").await.ok(),
        Some(Some(Position::new(17)))
    );

    let next = loaded
        .append(
            &stream,
            ExpectedVersion::Exact(Version::new(16)),
            vec![event("xp_gained", r#"{"amount":1}"#)],
        )
        .await
        .expect("appends after loading");
    assert_eq!(
        (next.last_version, next.first_position),
        (Version::new(17), Position::new(61))
    );
    let retried = loaded
        .append(&stream, ExpectedVersion::Exact(Version::new(14)), {
            let stored = loaded
                .read_stream(&stream, Version::new(15), 2)
                .await
                .expect("reads");
            stored
                .into_iter()
                .map(|e| NewEvent {
                    event_id: e.event_id,
                    aggregate_type: e.aggregate_type,
                    event_type: e.event_type,
                    schema_version: e.schema_version,
                    metadata: e.metadata,
                    payload: e.payload,
                })
                .collect()
        })
        .await
        .expect("idempotent");
    assert!(
        retried.already_stored,
        "event ids survive the file, and so does idempotency"
    );
}

fn refused(content: &str) -> (usize, String) {
    let path = temporary_file();
    std::fs::write(&path, content).expect("writes");
    let result = MemoryStore::load_from(&path);
    std::fs::remove_file(&path).expect("cleans up");
    match result {
        Err(PersistError::Corrupt { line, reason, .. }) => (line, reason),
        Err(other) => panic!("expected a corrupt file error, got {other}"),
        Ok(_) => panic!("a bad file was accepted"),
    }
}

#[tokio::test]
async fn a_bad_file_is_refused_naming_the_line() {
    let store = populated().await;
    let path = temporary_file();
    store.save_to(&path).expect("saves");
    let good = std::fs::read_to_string(&path).expect("reads");
    std::fs::remove_file(&path).expect("cleans up");
    let lines: Vec<&str> = good.lines().collect();

    let (line, reason) = refused(&lines[1..].join("\n"));
    assert_eq!(line, 1);
    assert!(reason.contains("no header"), "{reason}");

    let mut gap = lines.clone();
    gap.remove(5);
    let (line, reason) = refused(&gap.join("\n"));
    assert_eq!(line, 6);
    assert!(reason.contains("position 6 where 5 comes next"), "{reason}");

    let mut garbled = lines.clone();
    garbled[3] = "{\"event\": {\"event_id\": 7}}";
    assert_eq!(refused(&garbled.join("\n")).0, 4);

    let mut bad_name = lines.clone();
    let renamed = bad_name[2].replacen("\"stream_id\":\"player-", "\"stream_id\":\"\\u0000", 1);
    bad_name[2] = &renamed;
    let (line, reason) = refused(&bad_name.join("\n"));
    assert_eq!(line, 3);
    assert!(reason.contains("control character"), "{reason}");

    let repeated_id = lines[1].replacen(
        "\"version\":1,\"position\":1",
        "\"version\":2,\"position\":2",
        1,
    );
    assert_ne!(
        repeated_id, lines[1],
        "the first event is version 1 at position 1"
    );
    let (line, reason) = refused(&[lines[0], lines[1], &repeated_id].join("\n"));
    assert_eq!(line, 3);
    assert!(reason.contains("already stored in stream"), "{reason}");

    assert_eq!(refused("").1, "the file is empty");
    match MemoryStore::load_from(temporary_file()) {
        Err(PersistError::Io { .. }) => {}
        other => panic!("a missing file must be an I/O error, got {other:?}"),
    }
}

#[tokio::test]
async fn saving_replaces_the_file_whole() {
    let path = temporary_file();
    populated().await.save_to(&path).expect("saves");
    MemoryStore::new().save_to(&path).expect("saves over it");
    let loaded = MemoryStore::load_from(&path).expect("loads");
    std::fs::remove_file(&path).expect("cleans up");
    assert_eq!(loaded.head_position().await.ok(), Some(Position::START));
}

/// The conformance suite on stores that went through a file: saved with events, snapshots
/// and checkpoints in them, loaded back, then used.
mod restored {
    use super::*;

    async fn restored_store() -> Option<MemoryStore> {
        let path = temporary_file();
        populated().await.save_to(&path).expect("saves");
        let loaded = MemoryStore::load_from(&path).expect("loads");
        std::fs::remove_file(&path).expect("cleans up");
        Some(loaded)
    }

    eventful_core::conformance_tests!(restored_store);
}

#[tokio::test]
async fn shared_handlers_progress_and_parked_events_survive_a_restart_without_their_claims() {
    use eventful_core::progress::{Claim, ClaimOutcome, ParkedEvent, Segment};
    let store = populated().await;
    let claim = |index: u32, owner: &str| Claim {
        handler: "xp_policy".to_owned(),
        segment: Segment { index, count: 2 },
        owner: owner.to_owned(),
        lease: std::time::Duration::from_secs(60),
    };
    for (index, position) in [(0, 17), (1, 9)] {
        store.claim(&claim(index, "before")).await.expect("claimed");
        store
            .save_claimed(&claim(index, "before"), Position::new(position))
            .await
            .expect("saved");
    }
    let poison = store
        .read_stream(
            &StreamId::new("player-1").expect("valid"),
            Version::new(1),
            1,
        )
        .await
        .expect("read")
        .remove(0);
    let error = std::io::Error::other("no such player");
    store
        .park(ParkedEvent::new("xp_policy", &poison, 3, &error))
        .await
        .expect("parked");

    let path = temporary_file();
    store.save_to(&path).expect("saved");
    let restored = MemoryStore::load_from(&path).expect("loaded");
    std::fs::remove_file(&path).ok();

    let segments = restored.segments("xp_policy").await.expect("segments");
    let kept: Vec<_> = segments
        .iter()
        .map(|s| (s.segment.index, s.position.get(), s.owner.clone()))
        .collect();
    assert_eq!(
        kept,
        [(0, 17, None), (1, 9, None)],
        "positions kept, no owner survives"
    );
    match restored.claim(&claim(0, "after")).await.expect("claimed") {
        ClaimOutcome::Held { position, .. } => assert_eq!(position, Position::new(17)),
        other => panic!("a restored segment could not be claimed: {other:?}"),
    }
    let parked = restored.parked("xp_policy").await.expect("parked");
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].event_id, poison.event_id);
    assert_eq!(parked[0].error, "no such player");
    assert_eq!(parked[0].attempts, 3);
}
