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
            .append(&stream, ExpectedVersion::Any, &events)
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
            &[event("xp_gained", r#"{"amount":1}"#)],
        )
        .await
        .expect("appends after loading");
    assert_eq!(
        (next.last_version, next.first_position),
        (Version::new(17), Position::new(61))
    );
    let retried = loaded
        .append(&stream, ExpectedVersion::Exact(Version::new(14)), &{
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
                .collect::<Vec<_>>()
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

// The end record: a file is loaded whole or refused, never cut short in silence.

/// `populated()` with a second checkpoint, a shared handler's two segments and a parked event.
async fn with_progress() -> MemoryStore {
    use eventful_core::progress::{ParkedEvent, Segment, SegmentProgress};
    let store = populated().await;
    store
        .save_checkpoint("achievements", Position::new(60))
        .await
        .expect("saved");
    let segments = [(0, 40), (1, 33)]
        .into_iter()
        .map(|(index, position)| {
            let mut progress = SegmentProgress::new(Segment { index, count: 2 });
            progress.position = Position::new(position);
            progress
        })
        .collect();
    store
        .put_segments("xp_policy", segments)
        .await
        .expect("put");
    let poison = store
        .read_stream(
            &StreamId::new("player-2").expect("valid"),
            Version::new(3),
            1,
        )
        .await
        .expect("read")
        .remove(0);
    store
        .park(ParkedEvent::new(
            "xp_policy",
            &poison,
            5,
            &std::io::Error::other("no such player"),
        ))
        .await
        .expect("parked");
    store
}

fn saved_text(store: &MemoryStore) -> String {
    let path = temporary_file();
    store.save_to(&path).expect("saves");
    let text = std::fs::read_to_string(&path).expect("reads");
    std::fs::remove_file(&path).expect("cleans up");
    text
}

/// `read` on a file holding `content`.
fn with_file<T>(content: impl AsRef<[u8]>, read: impl FnOnce(PathBuf) -> T) -> T {
    let path = temporary_file();
    std::fs::write(&path, content).expect("writes");
    let result = read(path.clone());
    std::fs::remove_file(&path).expect("cleans up");
    result
}

fn load(content: impl AsRef<[u8]>) -> Result<MemoryStore, PersistError> {
    with_file(content, MemoryStore::load_from)
}

fn load_error(content: impl AsRef<[u8]>) -> PersistError {
    match load(content) {
        Err(error) => error,
        Ok(_) => panic!("a damaged file was loaded"),
    }
}

/// The lines of a saved store, each with its newline.
fn lines_of(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_owned).collect()
}

#[tokio::test]
async fn a_file_cut_short_anywhere_is_refused_saying_so() {
    let text = saved_text(&with_progress().await);
    let lines = lines_of(&text);
    assert_eq!(
        lines.len(),
        1 + 60 + 1 + 2 + 2 + 1 + 1,
        "header, events, …, end"
    );
    for kept in 1..lines.len() {
        match load_error(lines[..kept].concat()) {
            PersistError::Truncated {
                lines_read,
                events_read,
                ..
            } => {
                assert_eq!(lines_read, kept);
                assert_eq!(events_read, (kept as u64 - 1).min(60));
            }
            other => panic!("cut after line {kept}: {other}"),
        }
        let half_line = format!(
            "{}{}",
            lines[..kept].concat(),
            &lines[kept][..lines[kept].len() / 2]
        );
        match load_error(half_line) {
            PersistError::Corrupt { line, .. } => assert_eq!(line, kept + 1),
            other => panic!("cut in line {}: {other}", kept + 1),
        }
    }
    let message = load_error(lines[..30].concat()).to_string();
    assert!(
        message.contains("no end record after line 30 (29 events read)"),
        "{message}"
    );

    let without_last_newline = text.strip_suffix('\n').expect("ends a line");
    let loaded = load(without_last_newline).expect("only the last newline is missing");
    assert_eq!(loaded.head_position().await.ok(), Some(Position::new(60)));
}

#[tokio::test]
async fn an_end_record_that_does_not_match_is_refused() {
    let text = saved_text(&with_progress().await);
    let lines = lines_of(&text);
    let end = lines.len() - 1;

    let mut miscounted = lines.clone();
    miscounted[end] = miscounted[end].replace("\"snapshots\":1", "\"snapshots\":2");
    match load_error(miscounted.concat()) {
        PersistError::CountMismatch {
            line,
            recorded,
            found,
            ..
        } => {
            assert_eq!(line, end + 1);
            assert_eq!((recorded.snapshots, found.snapshots), (2, 1));
            assert_eq!(
                (
                    found.events,
                    found.checkpoints,
                    found.segments,
                    found.parked
                ),
                (60, 2, 2, 1)
            );
        }
        other => panic!("expected a count mismatch, got {other}"),
    }

    let mut without_snapshot = lines.clone();
    without_snapshot.remove(61);
    let message = load_error(without_snapshot.concat()).to_string();
    assert!(
        message.contains("the end record counts 60 events, 1 snapshot, 2 checkpoints, 2 segments, 1 parked event, the lines before it hold 60 events, 0 snapshots"),
        "{message}"
    );

    let mut edited = lines.clone();
    edited[3] = edited[3].replacen("\"amount\":1,", "\"amount\":9,", 1);
    assert_ne!(edited[3], lines[3], "the second xp_gained is line 4");
    match load_error(edited.concat()) {
        PersistError::ChecksumMismatch {
            line,
            expected,
            found,
            ..
        } => {
            assert_eq!(line, end + 1);
            assert_ne!(expected, found);
        }
        other => panic!("expected a checksum mismatch, got {other}"),
    }

    let mut swapped = lines.clone();
    swapped.swap(62, 63);
    assert!(
        matches!(
            load_error(swapped.concat()),
            PersistError::ChecksumMismatch { .. }
        ),
        "two checkpoints in another order: the same store, not the same file"
    );

    for after in [
        "\n",
        "{\"checkpoint\":{\"name\":\"late\",\"position\":1}}\n",
        &lines[end],
    ] {
        match load_error(format!("{text}{after}")) {
            PersistError::AfterEnd { line, .. } => assert_eq!(line, end + 2),
            other => panic!("expected a line after the end, got {other}"),
        }
    }
}

#[tokio::test]
async fn the_checksum_is_the_crc32_of_every_byte_before_the_end_record() {
    let store = with_progress().await;
    let text = saved_text(&store);
    let end_starts = text.trim_end().rfind('\n').expect("lines") + 1;
    let end: serde_json::Value = serde_json::from_str(&text[end_starts..]).expect("json");
    assert_eq!(
        end["end"]["crc32"].as_u64(),
        Some(u64::from(crc32fast::hash(&text.as_bytes()[..end_starts])))
    );
    assert_eq!(
        saved_text(&store),
        text,
        "the same store is saved the same way"
    );
}

#[test]
fn invalid_utf8_is_corruption_at_its_line() {
    let store = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(populated());
    let text = saved_text(&store);
    let mut bytes = text.into_bytes();
    let second_line = bytes.iter().position(|&b| b == b'\n').expect("lines") + 1;
    let zoe = second_line
        + bytes[second_line..]
            .windows(2)
            .position(|pair| pair == "ë".as_bytes())
            .expect("the first event says Zoë");
    bytes[zoe] = 0xff;
    match load_error(&bytes) {
        PersistError::Corrupt { line, reason, .. } => {
            assert_eq!(line, 2);
            assert!(reason.contains("not UTF-8"), "{reason}");
        }
        other => panic!("expected corruption at line 2, got {other}"),
    }
}

#[tokio::test]
async fn an_old_file_is_refused_naming_its_format_and_salvaged_on_request() {
    let store = with_progress().await;
    let text = saved_text(&store);
    let mut lines = lines_of(&text);
    lines.pop();
    lines[0] = lines[0].replace(":2}", ":1}");
    let old = lines.concat();
    match load_error(&old) {
        error @ PersistError::UnsupportedFormat {
            found: 1,
            supported: 3,
            ..
        } => assert!(error.to_string().contains("load_salvaging"), "{error}"),
        other => panic!("expected an unsupported format, got {other}"),
    }
    let (salvaged, salvage) = with_file(&old, MemoryStore::load_salvaging).expect("reads");
    assert_eq!(salvage.format, 1);
    assert!(salvage.dropped.is_none(), "{salvage}");
    assert!(
        matches!(
            salvage.problems[..],
            [PersistError::UnsupportedFormat { found: 1, .. }]
        ),
        "{salvage}"
    );
    assert_eq!(
        saved_text(&salvaged),
        text,
        "saved again in the current format"
    );

    let future = text.replacen(":2}", ":4}", 1);
    assert!(matches!(
        load_error(&future),
        PersistError::UnsupportedFormat { found: 4, .. }
    ));
    assert!(matches!(
        with_file(&future, MemoryStore::load_salvaging),
        Err(PersistError::UnsupportedFormat { found: 4, .. })
    ));
}

/// The error for `line` put in place of line `at` (from 0) of `lines`.
fn with_line(lines: &[String], at: usize, line: &str) -> PersistError {
    let mut edited = lines.to_vec();
    edited.insert(at, format!("{line}\n"));
    load_error(edited.concat())
}

#[tokio::test]
async fn snapshots_and_progress_past_the_log_are_refused_at_their_line() {
    let text = saved_text(&with_progress().await);
    let lines = lines_of(&text);
    let snapshot = &lines[61];
    let inconsistent =
        |error: PersistError, expected_line: usize, kind: &str, says: &str| match error {
            PersistError::Inconsistent { line, problem, .. } => {
                assert_eq!(line, expected_line, "{problem}");
                assert!(format!("{problem:?}").starts_with(kind), "{problem:?}");
                assert!(problem.to_string().contains(says), "{problem}");
            }
            other => panic!("expected {kind}, got {other}"),
        };

    let mut ahead = lines.clone();
    ahead[61] = snapshot.replace("\"version\":6", "\"version\":17");
    inconsistent(
        load_error(ahead.concat()),
        62,
        "SnapshotBeyondStream",
        "a snapshot of `player-1` at version 17, where the stream is at version 16",
    );
    let mut ghost = lines.clone();
    ghost[61] = snapshot.replace("player-1", "ghost");
    inconsistent(
        load_error(ghost.concat()),
        62,
        "SnapshotBeyondStream",
        "where the stream is at version 0",
    );
    inconsistent(
        with_line(
            &lines,
            64,
            r#"{"checkpoint":{"name":"ranking","position":61}}"#,
        ),
        65,
        "CheckpointBeyondHead",
        "checkpoint `ranking` at position 61, past the head of the log (60)",
    );
    let segment = |handler: &str, index: u32, count: u32, position: u64| {
        format!(
            r#"{{"segment":{{"handler":"{handler}","segment":{{"index":{index},"count":{count}}},"position":{position}}}}}"#
        )
    };
    inconsistent(
        with_line(&lines, 66, &segment("rank", 0, 1, 61)),
        67,
        "SegmentBeyondHead",
        "segment 0/1 of `rank` at position 61",
    );
    inconsistent(
        with_line(&lines, 66, &segment("rank", 1, 2, 5)),
        67,
        "SegmentOutOfOrder",
        "segment 1/2 of `rank` where segment 0/2 comes next",
    );
    let mut cut_run = lines.clone();
    cut_run.remove(65);
    inconsistent(
        load_error(cut_run.concat()),
        66,
        "SegmentsNotWhole",
        "`xp_policy` has 1 of its 2 segments",
    );
    let mut count_changed = lines.clone();
    count_changed[65] = segment("xp_policy", 1, 3, 33) + "\n";
    inconsistent(
        load_error(count_changed.concat()),
        66,
        "SegmentOutOfOrder",
        "segment 1/3 of `xp_policy` where segment 1/2 comes next",
    );

    for (at, line, says) in [
        (62, lines[5].trim_end(), "events after snapshots"),
        (
            64,
            r#"{"checkpoint":{"name":"leaderboard","position":3}}"#,
            "a second checkpoint `leaderboard`",
        ),
        (
            62,
            &snapshot.replace("\"version\":6", "\"version\":5"),
            "a second snapshot of `player-1`",
        ),
        (
            66,
            &segment("xp_policy", 0, 1, 3),
            "a second run of segments of `xp_policy`",
        ),
        (
            67,
            lines[66].trim_end(),
            "parked a second time by `xp_policy`",
        ),
        (
            30,
            lines[0].trim_end(),
            "a header in the middle of the file",
        ),
    ] {
        match with_line(&lines, at, line) {
            PersistError::Corrupt { line, reason, .. } => {
                assert_eq!(line, at + 1, "{reason}");
                assert!(reason.contains(says), "{reason}");
            }
            other => panic!("expected corruption ({says}), got {other}"),
        }
    }
}

#[tokio::test]
async fn salvaging_keeps_what_comes_before_the_damage_and_says_what_it_left_out() {
    let store = with_progress().await;
    let text = saved_text(&store);
    let lines = lines_of(&text);

    let (whole, salvage) = with_file(&text, MemoryStore::load_salvaging).expect("reads");
    assert!(salvage.is_whole(), "{salvage}");
    assert_eq!(salvage.recorded, Some(salvage.kept));
    assert_eq!(everything(&whole).await, everything(&store).await);

    // Cut in the middle of line 41: events 1 to 39 kept.
    let cut = format!("{}{}", lines[..40].concat(), &lines[40][..50]);
    let (salvaged, salvage) = with_file(&cut, MemoryStore::load_salvaging).expect("reads");
    assert_eq!(salvage.kept.events, 39);
    let dropped = salvage.dropped.as_ref().expect("dropped");
    assert_eq!(
        (dropped.from_line, dropped.lines, dropped.unreadable),
        (41, 1, 1)
    );
    assert!(matches!(
        dropped.because,
        PersistError::Corrupt { line: 41, .. }
    ));
    assert!(matches!(
        salvage.problems[..],
        [PersistError::Truncated {
            lines_read: 41,
            events_read: 39,
            ..
        }]
    ));
    assert_eq!(salvage.recorded, None);
    assert!(
        salvage.to_string().starts_with("kept 39 events, 0 snapshots, 0 checkpoints, 0 segments, 0 parked events; left out lines 41 to 41 (0 events"),
        "{salvage}"
    );
    assert_eq!(
        everything(&salvaged).await[..],
        everything(&store).await[..39]
    );
    let next = salvaged
        .append(
            &StreamId::new("player-9").expect("valid"),
            ExpectedVersion::NoStream,
            &[event("xp_gained", r#"{"amount":1}"#)],
        )
        .await
        .expect("appends after salvaging");
    assert_eq!(next.first_position, Position::new(40));
    assert!(load(saved_text(&salvaged)).is_ok(), "saved again whole");

    // A line missing in the middle: nothing after it continues the log.
    let mut gap = lines.clone();
    gap.remove(10);
    let (_, salvage) = with_file(gap.concat(), MemoryStore::load_salvaging).expect("reads");
    assert_eq!(salvage.kept.events, 9);
    let dropped = salvage.dropped.as_ref().expect("dropped");
    assert_eq!((dropped.from_line, dropped.lines), (11, gap.len() - 10));
    assert_eq!(
        (
            dropped.readable.events,
            dropped.readable.snapshots,
            dropped.readable.checkpoints
        ),
        (50, 1, 2)
    );
    assert_eq!(salvage.recorded.map(|counts| counts.events), Some(60));
    assert!(salvage.problems.is_empty(), "{salvage}");

    // Cut between a handler's segments: none of them is kept.
    let (salvaged, salvage) =
        with_file(lines[..65].concat(), MemoryStore::load_salvaging).expect("reads");
    let dropped = salvage.dropped.as_ref().expect("dropped");
    assert_eq!(
        (dropped.from_line, dropped.lines, dropped.readable.segments),
        (65, 1, 1)
    );
    assert!(matches!(dropped.because, PersistError::Truncated { .. }));
    assert!(salvage.problems.is_empty(), "{salvage}");
    assert_eq!(salvage.kept.checkpoints, 2);
    assert!(
        salvaged
            .segments("xp_policy")
            .await
            .expect("reads")
            .is_empty(),
        "a handler's segments whole or not at all"
    );

    // Damage after a handler's first segment: its segments are left out with the damage.
    let mut after_first_segment = lines.clone();
    after_first_segment[65] = "{\"segment\":\n".to_owned();
    let (_, salvage) =
        with_file(after_first_segment.concat(), MemoryStore::load_salvaging).expect("reads");
    let dropped = salvage.dropped.as_ref().expect("dropped");
    assert_eq!((dropped.from_line, dropped.readable.segments), (65, 1));
    assert!(matches!(
        dropped.because,
        PersistError::Corrupt { line: 66, .. }
    ));
    assert_eq!(salvage.kept.segments, 0);

    // A changed line: everything kept, and the report says a line may be wrong.
    let edited = text.replacen("\"amount\":1,", "\"amount\":9,", 1);
    let (_, salvage) = with_file(&edited, MemoryStore::load_salvaging).expect("reads");
    assert!(salvage.dropped.is_none());
    assert_eq!(salvage.kept, salvage.recorded.expect("an end record"));
    assert!(matches!(
        salvage.problems[..],
        [PersistError::ChecksumMismatch { .. }]
    ));

    // Nothing to salvage from a file that is not a saved store.
    assert!(matches!(
        with_file("{\"hello\":1}\n", MemoryStore::load_salvaging),
        Err(PersistError::Corrupt { line: 1, .. })
    ));
}

#[tokio::test]
async fn a_store_whose_progress_is_past_its_log_is_not_saved() {
    use eventful_core::progress::{Segment, SegmentProgress};
    let path = temporary_file();
    populated().await.save_to(&path).expect("saves");
    let before = std::fs::read(&path).expect("reads");

    let store = populated().await;
    let mut ahead = SegmentProgress::new(Segment::WHOLE);
    ahead.position = Position::new(61);
    assert!(
        matches!(
            store.put_segments("rank", vec![ahead]).await,
            Err(eventful_core::StoreError::PositionBeyondHead { .. })
        ),
        "a position past the head is refused where it is put"
    );
    store
        .put_segments(
            "rank",
            vec![SegmentProgress::new(Segment { index: 1, count: 2 })],
        )
        .await
        .expect("put");
    assert!(matches!(
        store.save_to(&path),
        Err(PersistError::NotSaved { .. })
    ));

    assert_eq!(
        std::fs::read(&path).expect("reads"),
        before,
        "the file as it was"
    );
    let mut saving = path.clone().into_os_string();
    saving.push(".saving");
    assert!(!PathBuf::from(saving).exists(), "nothing left beside it");
    std::fs::remove_file(&path).expect("cleans up");
}

/// Snapshots and checkpoints saved while the store is saved lie within the events saved: the
/// store takes them before the events, since the log only grows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_saved_while_in_use_always_loads() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let store = MemoryStore::new();
    let saving = Arc::new(AtomicBool::new(true));
    let writer = {
        let store = store.clone();
        let saving = saving.clone();
        tokio::spawn(async move {
            let stream = StreamId::new("player-1").expect("valid");
            let mut n = 0u64;
            while saving.load(Ordering::Relaxed) && n < 3_000 {
                n += 1;
                let appended = store
                    .append(&stream, ExpectedVersion::Any, &[event("xp_gained", "{}")])
                    .await
                    .expect("appends");
                store
                    .save_checkpoint("leaderboard", appended.first_position)
                    .await
                    .expect("saved");
                store
                    .save_snapshot(Snapshot {
                        stream_id: stream.clone(),
                        aggregate_type: TypeName::from_static("player"),
                        version: appended.last_version,
                        revision: 1,
                        taken_at: chrono::Utc::now(),
                        payload: Payload::from_json_slice(format!("{{\"n\":{n}}}").as_bytes())
                            .expect("json"),
                    })
                    .await
                    .expect("saved");
            }
        })
    };
    let path = temporary_file();
    for _ in 0..10 {
        store.save_to(&path).expect("saves");
        MemoryStore::load_from(&path).expect("every checkpoint and snapshot within its log");
    }
    saving.store(false, Ordering::Relaxed);
    writer.await.expect("wrote");
    std::fs::remove_file(&path).ok();
}

/// The example file of `docs/stores/memory.md` is a saved store, end record and all.
#[tokio::test]
async fn the_documented_file_loads() {
    let docs = include_str!("../../docs/stores/memory.md");
    let start = docs.find("```jsonl\n").expect("an example file") + "```jsonl\n".len();
    let file = &docs[start..start + docs[start..].find("```").expect("its end")];
    let store = load(file).expect("the documented file loads");
    let stream = StreamId::new("player-7").expect("valid");
    assert_eq!(
        store.stream_version(&stream).await.ok(),
        Some(Version::new(2))
    );
    assert_eq!(
        store
            .load_snapshot(&stream)
            .await
            .expect("reads")
            .map(|s| s.version),
        Some(Version::new(2))
    );
    assert_eq!(
        store.load_checkpoint("leaderboard").await.ok(),
        Some(Some(Position::new(2)))
    );
    assert_eq!(saved_text(&store), file, "saved again, the same file");
}

#[tokio::test]
async fn a_store_of_another_stores_checkpoints_and_snapshots_saves_and_loads() {
    let keeper = MemoryStore::new();
    keeper
        .save_checkpoint("leaderboard", Position::new(500))
        .await
        .expect("a store with no events keeps any position");
    keeper
        .save_snapshot(Snapshot {
            stream_id: StreamId::new("player-1").expect("valid"),
            aggregate_type: TypeName::from_static("player"),
            version: Version::new(40),
            revision: 1,
            taken_at: chrono::Utc::now(),
            payload: Payload::from_json_slice(br#"{"xp":1}"#).expect("json"),
        })
        .await
        .expect("and any snapshot");
    let path = temporary_file();
    keeper.save_to(&path).expect("saves");
    let loaded = MemoryStore::load_from(&path).expect("loads");
    std::fs::remove_file(&path).ok();
    assert_eq!(
        loaded.load_checkpoint("leaderboard").await.expect("reads"),
        Some(Position::new(500))
    );
    assert!(
        loaded
            .load_snapshot(&StreamId::new("player-1").expect("valid"))
            .await
            .expect("reads")
            .is_some()
    );
}
