//! Saving a store of postcard payloads: the file says so (format 3, each such payload tagged
//! and in hex), it loads back byte for byte, a store of JSON payloads is still saved as
//! before (format 2), and a postcard payload that is not hex is refused with its line.

use std::path::PathBuf;

use eventful_core::testing::model::{Player, PlayerAction, PlayerCommand};
use eventful_core::{
    EventFilter, EventStore, ExpectedVersion, NewEvent, Payload, PayloadFormat, Position,
    Repository, StreamId, TypeName,
};
use eventful_store_memory::{MemoryStore, PersistError};
use uuid::Uuid;

fn temporary_file() -> PathBuf {
    std::env::temp_dir().join(format!(
        "eventful-formats-{}.jsonl",
        Uuid::new_v4().simple()
    ))
}

/// A postcard store with a few players' commands and one JSON event beside them.
async fn mixed() -> MemoryStore {
    let store = MemoryStore::with_payload_format(PayloadFormat::Postcard);
    let players = Repository::<Player, _>::new(store.clone());
    for id in 0..3u64 {
        let actions = [
            PlayerAction::CreatePlayer {
                name: format!("Zoë {id}"),
            },
            PlayerAction::GainXp { amount: 1_200 },
            PlayerAction::UnlockAchievement {
                id: "first_win".into(),
            },
        ];
        for action in actions {
            players
                .execute(PlayerCommand::new(id, action))
                .await
                .expect("command");
        }
    }
    let note = NewEvent::new(
        TypeName::from_static("note"),
        TypeName::from_static("noted"),
        1,
        Payload::from_json_slice(br#"{"text":"by hand"}"#).expect("json"),
    );
    store
        .append(
            &StreamId::new("note-1").expect("valid"),
            ExpectedVersion::NoStream,
            &[note],
        )
        .await
        .expect("appends");
    store
}

async fn everything(store: &MemoryStore) -> Vec<eventful_core::RecordedEvent> {
    store
        .read_all(Position::START, &EventFilter::all(), usize::MAX)
        .await
        .expect("reads")
        .events
}

fn saved_text(store: &MemoryStore) -> String {
    let path = temporary_file();
    store.save_to(&path).expect("saves");
    let text = std::fs::read_to_string(&path).expect("reads");
    std::fs::remove_file(&path).expect("cleans up");
    text
}

fn load(text: &str) -> Result<MemoryStore, PersistError> {
    let path = temporary_file();
    std::fs::write(&path, text).expect("writes");
    let loaded = MemoryStore::load_from(&path);
    std::fs::remove_file(&path).expect("cleans up");
    loaded
}

#[tokio::test]
async fn postcard_payloads_are_saved_in_hex_and_load_back_as_they_were() {
    let store = mixed().await;
    let text = saved_text(&store);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], r#"{"header":{"eventful_memory_store":3}}"#);
    let created = lines[1];
    assert!(
        created.contains(r#""payload_format":"postcard","payload":"065a6fc3ab2030""#),
        "{created}"
    );
    assert!(
        text.contains(r#""event_type":"noted","schema_version":1,"version":1"#)
            && text.contains(r#""payload":{"text":"by hand"}"#)
            && !text.contains(r#""payload_format":"json""#),
        "a JSON payload stays JSON, untagged: {text}"
    );

    let loaded = load(&text).expect("loads");
    let (before, after) = (everything(&store).await, everything(&loaded).await);
    assert_eq!(
        after, before,
        "every event, payload format and bytes included"
    );
    assert!(
        after
            .iter()
            .any(|event| event.payload.format() == PayloadFormat::Json)
            && after
                .iter()
                .any(|event| event.payload.format() == PayloadFormat::Postcard)
    );
    let replayed = Repository::<Player, _>::new(loaded.clone())
        .load(&1u64)
        .await
        .expect("replays");
    assert_eq!((replayed.state.xp, replayed.state.level), (1_200, 2));
    assert_eq!(saved_text(&loaded), text, "saved again the same");
}

#[tokio::test]
async fn a_store_of_json_payloads_is_saved_in_the_format_earlier_versions_load() {
    let store = MemoryStore::new();
    Repository::<Player, _>::new(store.clone())
        .execute(PlayerCommand::new(
            7,
            PlayerAction::CreatePlayer { name: "Ana".into() },
        ))
        .await
        .expect("command");
    let text = saved_text(&store);
    assert!(
        text.starts_with("{\"header\":{\"eventful_memory_store\":2}}\n"),
        "{text}"
    );
    assert!(!text.contains("payload_format"), "{text}");
    assert!(text.contains(r#""payload":{"name":"Ana"}"#), "{text}");
}

#[tokio::test]
async fn a_postcard_payload_that_is_not_hex_or_of_an_unknown_format_is_refused_with_its_line() {
    let text = saved_text(&mixed().await);
    for (from, to, says) in [
        (r#""payload":"065a"#, r#""payload":"g65a"#, "hex digits"),
        (
            r#""payload":"065a6fc3ab2030""#,
            r#""payload":[6,90]"#,
            "hex digits",
        ),
        (
            r#""payload_format":"postcard""#,
            r#""payload_format":"bson""#,
            "not a payload format",
        ),
    ] {
        let damaged = text.replacen(from, to, 1);
        assert_ne!(damaged, text, "{from} is in the file");
        match load(&damaged) {
            Err(PersistError::Corrupt {
                line: 2, reason, ..
            }) => {
                assert!(reason.contains(says), "{reason}");
            }
            other => panic!("expected line 2 refused for {to}, got {other:?}"),
        }
    }
}
