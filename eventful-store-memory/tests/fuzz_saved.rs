//! A saved store damaged every way a careless operator, a crash or a bad copy would damage it:
//! bits flipped, cut at any byte or line, lines repeated, swapped, removed or brought from
//! another file, fields edited; half of the damaged files given an end record that matches
//! them, so that what the checksum would catch reaches the checks behind it.
//!
//! Every load is either a typed error or a store that keeps every invariant of the store
//! (versions and positions dense from 1, event ids unique, snapshots within their streams,
//! checkpoints and segments within the log) and that saves back to the same store; a load of a
//! file damaged without a matching end record that succeeds gives back the very file saved.
//! Salvaging loads keep the same invariants, and are whole exactly when `load_from` loads.
//!
//! The cases come from a fixed seed. A longer run:
//! `EVENTFUL_FUZZ_CASES=100000 cargo test --release -p eventful-store-memory --test fuzz_saved`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use eventful_core::progress::{ParkedEvent, Segment, SegmentProgress};
use eventful_core::{
    CheckpointStore, EventFilter, EventStore, ExpectedVersion, Metadata, NewEvent, Payload,
    Position, RecordedEvent, Snapshot, SnapshotStore, StreamId, TypeName, Version,
};
use eventful_store_memory::{MemoryStore, PersistError};
use serde_json::{Value, json};
use uuid::Uuid;

const SEED: u64 = 0x16_5eed;
/// Enough to meet every kind of damage many times, in well under a second in debug builds.
const CASES: usize = 400;

fn cases() -> usize {
    std::env::var("EVENTFUL_FUZZ_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(CASES)
}

fn temporary_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "eventful-fuzz-{name}-{}.jsonl",
        Uuid::new_v4().simple()
    ))
}

fn event(event_type: &'static str, json: &str) -> NewEvent {
    NewEvent::new(
        TypeName::from_static("player"),
        TypeName::from_static(event_type),
        1,
        Payload::from_json_slice(json.as_bytes()).expect("json"),
    )
}

/// Events in five streams, snapshots of two, three checkpoints, a handler split in three and
/// one not split, two parked events.
async fn populated(rounds: u32) -> MemoryStore {
    let store = MemoryStore::new();
    for n in 0..rounds {
        let stream = StreamId::new(format!("player-{}", n % 5)).expect("valid");
        let mut first = event("xp_gained", &format!(r#"{{"amount":{n},"note":"Zoë ✓"}}"#));
        if n % 3 == 0 {
            first = first.with_metadata(Metadata::default().with_entry("round", n.to_string()));
        }
        store
            .append(
                &stream,
                ExpectedVersion::Any,
                &[first, event("leveled_up", r#"{"to":2}"#)],
            )
            .await
            .expect("appends");
    }
    for (stream, version) in [("player-1", 2), ("player-3", 1)] {
        store
            .save_snapshot(Snapshot {
                stream_id: StreamId::new(stream).expect("valid"),
                aggregate_type: TypeName::from_static("player"),
                version: Version::new(version),
                revision: 1,
                taken_at: chrono::Utc::now(),
                payload: Payload::from_json_slice(br#"{"xp":7}"#).expect("json"),
            })
            .await
            .expect("saved");
    }
    let head = u64::from(rounds) * 2;
    for (name, position) in [
        ("leaderboard", head / 2),
        ("achievements", head),
        ("mail", 0),
    ] {
        store
            .save_checkpoint(name, Position::new(position))
            .await
            .expect("saved");
    }
    let split = |count: u32, positions: &[u64]| -> Vec<SegmentProgress> {
        (0..count)
            .map(|index| {
                let mut progress = SegmentProgress::new(Segment { index, count });
                progress.position = Position::new(positions[index as usize]);
                progress
            })
            .collect()
    };
    store
        .put_segments("xp_policy", split(3, &[head, head - 3, 5]))
        .await
        .expect("put");
    store
        .put_segments("mailer", split(1, &[head - 1]))
        .await
        .expect("put");
    let all = everything(&store).await;
    for (handler, event) in [("xp_policy", &all[4]), ("mailer", &all[9])] {
        store
            .park(ParkedEvent::new(
                handler,
                event,
                3,
                &std::io::Error::other("no such player"),
            ))
            .await
            .expect("parked");
    }
    store
}

async fn everything(store: &MemoryStore) -> Vec<RecordedEvent> {
    let mut events = Vec::new();
    let mut from = Position::START;
    loop {
        let batch = store
            .read_all(from, &EventFilter::all(), 1_000)
            .await
            .expect("reads");
        events.extend(batch.events);
        if batch.end_of_log {
            return events;
        }
        from = batch.next;
    }
}

fn save(store: &MemoryStore) -> Vec<u8> {
    let path = temporary_file("saved");
    store.save_to(&path).expect("saves");
    let bytes = std::fs::read(&path).expect("reads");
    std::fs::remove_file(&path).expect("cleans up");
    bytes
}

/// The lines of a file, each with its newline (the last one may have none).
fn split_lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// A line as JSON: its kind (`event`, `snapshot`, …) and its body.
fn json_line(line: &[u8]) -> Option<(String, Value)> {
    let value: Value = serde_json::from_slice(line).ok()?;
    let object = value.as_object()?;
    let (kind, body) = object.iter().next()?;
    Some((kind.clone(), body.clone()))
}

/// What a damaged file is built from: the saved file, another store's, and the values its
/// fields hold (for edits that put one line's value in another).
struct Material {
    original: Vec<u8>,
    lines: Vec<Vec<u8>>,
    foreign: Vec<Vec<u8>>,
    values: HashMap<&'static str, Vec<Value>>,
}

/// The fields an edit may change, by kind of line; a path through nested objects.
const FIELDS: &[(&str, &[&str])] = &[
    ("header", &["eventful_memory_store"]),
    (
        "event",
        &[
            "version",
            "position",
            "stream_id",
            "event_id",
            "recorded_at",
            "event_type",
            "schema_version",
            "payload",
        ],
    ),
    ("snapshot", &["version", "stream_id", "taken_at"]),
    ("checkpoint", &["position", "name"]),
    (
        "segment",
        &["position", "handler", "segment.index", "segment.count"],
    ),
    ("parked", &["position", "event_id", "handler", "version"]),
    (
        "end",
        &[
            "events",
            "snapshots",
            "checkpoints",
            "segments",
            "parked",
            "crc32",
        ],
    ),
];

impl Material {
    fn new(original: Vec<u8>, foreign: &[u8]) -> Self {
        let lines = split_lines(&original);
        let mut values: HashMap<&'static str, Vec<Value>> = HashMap::new();
        for line in &lines {
            let Some((kind, body)) = json_line(line) else {
                continue;
            };
            let fields = FIELDS
                .iter()
                .find(|(k, _)| *k == kind)
                .map_or(&[][..], |(_, fields)| fields);
            for field in fields {
                if let Some(value) = get(&body, field) {
                    values.entry(field).or_default().push(value.clone());
                }
            }
        }
        Self {
            original,
            lines,
            foreign: split_lines(foreign),
            values,
        }
    }
}

fn get<'a>(body: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(body, |value, key| value.get(key))
}

fn set(body: &mut Value, path: &str, new: Value) {
    let mut value = body;
    for key in path.split('.') {
        match value.get_mut(key) {
            Some(inner) => value = inner,
            None => return,
        }
    }
    *value = new;
}

/// A value to put in place of `old` in `field`.
fn edited(rng: &mut fastrand::Rng, material: &Material, field: &str, old: &Value) -> Value {
    if rng.usize(0..4) == 0
        && let Some(other) = material
            .values
            .get(field)
            .and_then(|values| rng.choice(values))
    {
        return other.clone();
    }
    match old {
        Value::Number(number) => {
            let n = number.as_i64().unwrap_or(0);
            match rng.usize(0..7) {
                0 => json!(n + 1),
                1 => json!(n - 1),
                2 => json!(0),
                3 => json!(n * 2 + 1),
                4 => json!(u64::from(u32::MAX) + 1),
                5 => json!(rng.i64(-2..100)),
                _ => json!("7"),
            }
        }
        Value::String(text) => match rng.usize(0..6) {
            0 => json!(""),
            1 => json!("ghost"),
            2 => json!(Uuid::new_v4().to_string()),
            3 => json!(format!("{text}x")),
            4 => json!(text.chars().rev().collect::<String>()),
            _ => json!(null),
        },
        _ => match rng.usize(0..3) {
            0 => json!(null),
            1 => json!([1, 2]),
            _ => json!({"deep": {"er": [true]}}),
        },
    }
}

/// Damages `lines` one way, saying how.
fn damage(rng: &mut fastrand::Rng, material: &Material, lines: &mut Vec<Vec<u8>>) -> String {
    let count = lines.len();
    let any = |rng: &mut fastrand::Rng| rng.usize(0..count.max(1));
    match rng.usize(0..9) {
        0 => {
            let mut bytes = lines.concat();
            let mut flipped = Vec::new();
            for _ in 0..rng.usize(1..=3) {
                if bytes.is_empty() {
                    break;
                }
                let at = rng.usize(0..bytes.len());
                let bit = rng.u8(0..8);
                bytes[at] ^= 1 << bit;
                flipped.push((at, bit));
            }
            *lines = split_lines(&bytes);
            format!("bits flipped (byte, bit): {flipped:?}")
        }
        1 => {
            let mut bytes = lines.concat();
            let at = rng.usize(0..=bytes.len());
            bytes.truncate(at);
            *lines = split_lines(&bytes);
            format!("cut at byte {at}")
        }
        2 => {
            let at = rng.usize(0..=count);
            lines.truncate(at);
            format!("cut after line {at}")
        }
        3 if count > 0 => {
            let (from, to) = (any(rng), rng.usize(0..=count));
            let line = lines[from].clone();
            lines.insert(to, line);
            format!("line {} repeated before line {}", from + 1, to + 1)
        }
        4 if count > 1 => {
            let (a, b) = (any(rng), any(rng));
            lines.swap(a, b);
            format!("lines {} and {} swapped", a + 1, b + 1)
        }
        5 if count > 0 => {
            let at = any(rng);
            lines.remove(at);
            format!("line {} removed", at + 1)
        }
        6 => {
            let at = rng.usize(0..=count);
            let foreign: Vec<u8> = match rng.usize(0..8) {
                0 => b"\n".to_vec(),
                1 => b"{}\n".to_vec(),
                2 => b"{\"unknown\":{\"x\":1}}\n".to_vec(),
                3 => b"\xff\xfe not text\n".to_vec(),
                4 => b"{\"header\":{\"eventful_memory_store\":2}}\n".to_vec(),
                5 => {
                    let mut line = lines.get(any(rng)).cloned().unwrap_or_default();
                    if line.last() == Some(&b'\n') {
                        line.pop();
                        line.extend_from_slice(b"\r\n");
                    }
                    line
                }
                _ => rng.choice(&material.foreign).cloned().unwrap_or_default(),
            };
            let shown = String::from_utf8_lossy(&foreign).trim_end().to_owned();
            lines.insert(at, foreign);
            format!("line `{shown}` put before line {}", at + 1)
        }
        _ if count > 0 => {
            let at = any(rng);
            let Some((kind, mut body)) = json_line(&lines[at]) else {
                return format!("no edit: line {} is not JSON", at + 1);
            };
            let fields = FIELDS
                .iter()
                .find(|(k, _)| *k == kind)
                .map_or(&[][..], |(_, fields)| fields);
            let Some(field) = rng.choice(fields) else {
                return format!("no edit: line {} has no field to edit", at + 1);
            };
            let Some(old) = get(&body, field).cloned() else {
                return format!("no edit: line {} has no {field}", at + 1);
            };
            let new = edited(rng, material, field, &old);
            set(&mut body, field, new.clone());
            let mut line = serde_json::to_vec(&json!({ kind.as_str(): body })).expect("json");
            line.push(b'\n');
            lines[at] = line;
            format!("line {} {kind}.{field}: {old} -> {new}", at + 1)
        }
        _ => "nothing (an empty file)".to_owned(),
    }
}

/// The end record that matches `lines`, in place of any they hold.
fn forge_end(lines: &mut Vec<Vec<u8>>) {
    lines.retain(|line| json_line(line).is_none_or(|(kind, _)| kind != "end"));
    if let Some(last) = lines.last_mut()
        && last.last() != Some(&b'\n')
    {
        last.push(b'\n');
    }
    let mut counts: HashMap<String, u64> = HashMap::new();
    for line in lines.iter() {
        if let Some((kind, _)) = json_line(line) {
            *counts.entry(kind).or_default() += 1;
        }
    }
    let count = |kind: &str| counts.get(kind).copied().unwrap_or(0);
    let end = json!({"end": {
        "events": count("event"),
        "snapshots": count("snapshot"),
        "checkpoints": count("checkpoint"),
        "segments": count("segment"),
        "parked": count("parked"),
        "crc32": crc32fast::hash(&lines.concat()),
    }});
    let mut line = serde_json::to_vec(&end).expect("json");
    line.push(b'\n');
    lines.push(line);
}

/// Every name a file mentions, to ask the loaded store about.
#[derive(Default)]
struct Names {
    streams: BTreeSet<String>,
    checkpoints: BTreeSet<String>,
    handlers: BTreeSet<String>,
}

impl Names {
    fn add(&mut self, bytes: &[u8]) {
        for line in split_lines(bytes) {
            let Some((kind, body)) = json_line(&line) else {
                continue;
            };
            let text = |field: &str| body.get(field).and_then(Value::as_str).map(str::to_owned);
            match kind.as_str() {
                "event" | "snapshot" => self.streams.extend(text("stream_id")),
                "checkpoint" => self.checkpoints.extend(text("name")),
                "segment" | "parked" => self.handlers.extend(text("handler")),
                _ => {}
            }
        }
    }
}

/// Everything a store holds that a file mentions.
#[derive(Debug, PartialEq)]
struct Contents {
    events: Vec<RecordedEvent>,
    snapshots: Vec<Option<Snapshot>>,
    checkpoints: Vec<Option<Position>>,
    segments: Vec<Vec<(Segment, Position)>>,
    parked: Vec<Vec<ParkedEvent>>,
}

async fn contents(store: &MemoryStore, names: &Names) -> Contents {
    let mut snapshots = Vec::new();
    for stream in &names.streams {
        let snapshot = match StreamId::new(stream.as_str()) {
            Ok(stream) => store.load_snapshot(&stream).await.expect("reads"),
            Err(_) => None,
        };
        snapshots.push(snapshot);
    }
    let mut checkpoints = Vec::new();
    for name in &names.checkpoints {
        checkpoints.push(store.load_checkpoint(name).await.expect("reads"));
    }
    let mut segments = Vec::new();
    let mut parked = Vec::new();
    for handler in &names.handlers {
        let held = store.segments(handler).await.expect("reads");
        segments.push(held.iter().map(|s| (s.segment, s.position)).collect());
        parked.push(store.parked(handler).await.expect("reads"));
    }
    Contents {
        events: everything(store).await,
        snapshots,
        checkpoints,
        segments,
        parked,
    }
}

/// Every invariant of the store, on what `names` lead to.
async fn check_invariants(store: &MemoryStore, names: &Names) -> Result<Contents, String> {
    let held = contents(store, names).await;
    let head = held.events.len() as u64;
    if store.head_position().await.ok() != Some(Position::new(head)) {
        return Err(format!("head is not {head}, the number of events"));
    }
    let mut versions: HashMap<StreamId, u64> = HashMap::new();
    let mut ids = HashSet::new();
    for (index, event) in held.events.iter().enumerate() {
        if event.position != Position::new(index as u64 + 1) {
            return Err(format!("event {index} at position {}", event.position));
        }
        let version = versions.entry(event.stream_id.clone()).or_default();
        *version += 1;
        if event.version != Version::new(*version) {
            return Err(format!(
                "`{}` version {} where {version} comes next",
                event.stream_id, event.version
            ));
        }
        if !ids.insert(event.event_id) {
            return Err(format!("id {} stored twice", event.event_id));
        }
    }
    for (stream, version) in &versions {
        if store.stream_version(stream).await.ok() != Some(Version::new(*version)) {
            return Err(format!("`{stream}` does not say version {version}"));
        }
        let read = store
            .read_stream(stream, Version::new(1), usize::MAX)
            .await
            .expect("reads");
        let expected: Vec<_> = held
            .events
            .iter()
            .filter(|e| &e.stream_id == stream)
            .cloned()
            .collect();
        if read != expected {
            return Err(format!("`{stream}` reads other events than the log"));
        }
    }
    // A store with no events keeps other stores' snapshots and checkpoints: nothing to check.
    let holds_the_log = head > 0;
    for snapshot in held.snapshots.iter().filter(|_| holds_the_log).flatten() {
        let stream_version = versions.get(&snapshot.stream_id).copied().unwrap_or(0);
        if snapshot.version == Version::NONE || snapshot.version.get() > stream_version {
            return Err(format!(
                "a snapshot of `{}` at {} where the stream is at {stream_version}",
                snapshot.stream_id, snapshot.version
            ));
        }
    }
    for position in held.checkpoints.iter().flatten() {
        if holds_the_log && position.get() > head {
            return Err(format!("a checkpoint at {position} past head {head}"));
        }
    }
    for segments in &held.segments {
        let count = segments.len() as u32;
        for (index, (segment, position)) in segments.iter().enumerate() {
            if *segment
                != (Segment {
                    index: index as u32,
                    count,
                })
            {
                return Err(format!("segments {segments:?} are not whole"));
            }
            if holds_the_log && position.get() > head {
                return Err(format!("a segment at {position} past head {head}"));
            }
        }
    }
    Ok(held)
}

/// Saves `store`, loads it back, and compares.
async fn saves_back(store: &MemoryStore, names: &Names, held: &Contents) -> Result<(), String> {
    let path = temporary_file("again");
    store
        .save_to(&path)
        .map_err(|error| format!("not saved: {error}"))?;
    let again = MemoryStore::load_from(&path);
    std::fs::remove_file(&path).ok();
    let again = again.map_err(|error| format!("saved, then refused: {error}"))?;
    if &contents(&again, names).await != held {
        return Err("saved and loaded back, it holds something else".to_owned());
    }
    Ok(())
}

fn guarded<T>(path: &Path, load: impl FnOnce(PathBuf) -> T) -> Result<T, String> {
    std::panic::catch_unwind(AssertUnwindSafe(|| load(path.to_owned())))
        .map_err(|_| "panicked".to_owned())
}

fn typed(error: &PersistError) -> Result<(), String> {
    match error {
        PersistError::Io { .. } | PersistError::NotSaved { .. } => {
            Err(format!("not an error about the file's content: {error}"))
        }
        _ if error.to_string().is_empty() => Err("an error that says nothing".to_owned()),
        _ => Ok(()),
    }
}

/// One damaged file, loaded both ways: what `load_from` said (an error's variant, or
/// `loaded`), or what went wrong.
async fn one_case(
    material: &Material,
    original: &Contents,
    rng: &mut fastrand::Rng,
) -> Result<String, String> {
    let mut lines = material.lines.clone();
    let mut how = vec![damage(rng, material, &mut lines)];
    if rng.usize(0..4) == 0 {
        how.push(damage(rng, material, &mut lines));
    }
    let forged = rng.bool();
    if forged {
        forge_end(&mut lines);
        how.push("end record forged to match".to_owned());
    }
    let bytes = lines.concat();
    let mut names = Names::default();
    names.add(&material.original);
    names.add(&bytes);

    let path = temporary_file("damaged");
    std::fs::write(&path, &bytes).expect("writes");
    let loaded = guarded(&path, MemoryStore::load_from);
    let salvaged = guarded(&path, MemoryStore::load_salvaging);
    std::fs::remove_file(&path).ok();
    let describe = |problem: String| format!("{}: {problem}", how.join("; "));

    let mut outcome = "loaded".to_owned();
    let whole = match loaded.map_err(&describe)? {
        Err(error) => {
            typed(&error).map_err(&describe)?;
            outcome = format!("{error:?}");
            outcome.truncate(outcome.find([' ', '(']).unwrap_or(outcome.len()));
            false
        }
        Ok(store) => {
            let held = check_invariants(&store, &names).await.map_err(&describe)?;
            if !forged && held != *original {
                return Err(describe(
                    "loaded, without a matching end record, and not what was saved".to_owned(),
                ));
            }
            saves_back(&store, &names, &held).await.map_err(&describe)?;
            true
        }
    };
    match salvaged.map_err(&describe)? {
        Err(error) => {
            typed(&error).map_err(&describe)?;
            if whole {
                return Err(describe(format!("loaded, but not salvaged: {error}")));
            }
        }
        Ok((store, salvage)) => {
            if salvage.is_whole() != whole {
                return Err(describe(format!(
                    "salvage says whole: {}, load_from loaded: {whole} ({salvage})",
                    salvage.is_whole()
                )));
            }
            let held = check_invariants(&store, &names)
                .await
                .map_err(|problem| describe(format!("salvaged: {problem}")))?;
            if salvage.kept.events != held.events.len() as u64 {
                return Err(describe(format!("salvage says {salvage}")));
            }
            saves_back(&store, &names, &held)
                .await
                .map_err(|problem| describe(format!("salvaged: {problem}")))?;
        }
    }
    if forged {
        outcome.push_str(" (forged end)");
    }
    Ok(outcome)
}

#[tokio::test]
async fn a_damaged_file_is_refused_or_loads_a_store_that_keeps_every_invariant() {
    let store = populated(20).await;
    let material = Material::new(save(&store), &save(&populated(6).await));
    let mut names = Names::default();
    names.add(&material.original);
    let original = check_invariants(&store, &names)
        .await
        .expect("a sound store");

    let cases = cases();
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    let mut outcomes: std::collections::BTreeMap<String, usize> = Default::default();
    for case in 0..cases {
        let mut rng = fastrand::Rng::with_seed(SEED.wrapping_add(case as u64));
        match one_case(&material, &original, &mut rng).await {
            Ok(outcome) => *outcomes.entry(outcome).or_default() += 1,
            Err(failure) => failures.push(format!("case {case}: {failure}")),
        }
    }
    eprintln!(
        "{cases} damaged files in {:.2?}, {} failures; load_from: {outcomes:?}",
        started.elapsed(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
