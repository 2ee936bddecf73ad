//! Payload formats: each event keeps the format it was written in, every read hands it back
//! as written, and upcasting reads old payloads of every format the store writes.

use std::ops::ControlFlow;

use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use super::fresh_stream;
use crate::aggregate::Aggregate;
use crate::envelope::{ExpectedVersion, NewEvent, Position, Version};
use crate::names::TypeName;
use crate::payload::{Payload, PayloadFormat};
use crate::repository::Repository;
use crate::store::{EventFilter, EventStore};
use crate::streams::EventStoreExt;
use crate::testing::ConformanceStore;
use crate::testing::model::{Player, PlayerEvent};
use crate::upcast::Upcasters;

/// The formats a check writes in: JSON, which every store holds, and the store's own.
fn formats_of<S: EventStore>(store: &S) -> Vec<PayloadFormat> {
    let mut formats = vec![PayloadFormat::Json];
    if store.payload_format() != PayloadFormat::Json {
        formats.push(store.payload_format());
    }
    formats
}

/// An event of `format` with payload `{"n": n}` (in postcard, the number alone).
fn numbered_in(format: PayloadFormat, n: u64) -> NewEvent {
    #[derive(Serialize)]
    struct Numbered {
        n: u64,
    }
    NewEvent::new(
        TypeName::from_static("test"),
        TypeName::from_static("numbered"),
        1,
        Payload::encode_as(&Numbered { n }, format).unwrap_or_else(|error| panic!("{error}")),
    )
}

/// Events appended in JSON and in the store's own format come back from every read in the
/// format and with the bytes they were written with, side by side in one stream.
pub async fn payloads_keep_their_format<S: ConformanceStore>(store: S) {
    let stream = fresh_stream("formats");
    let sent: Vec<NewEvent> = formats_of(&store)
        .into_iter()
        .cycle()
        .take(4)
        .zip(1..)
        .map(|(format, n)| numbered_in(format, n))
        .collect();
    let appended = store
        .append(&stream, ExpectedVersion::NoStream, &sent)
        .await
        .unwrap_or_else(|error| panic!("append failed: {error}"));
    let expected: Vec<&Payload> = sent.iter().map(|event| &event.payload).collect();

    let read = store
        .read_stream(&stream, Version::new(1), usize::MAX)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let read: Vec<&Payload> = read.iter().map(|event| &event.payload).collect();
    assert_eq!(read, expected, "read_stream gives each payload as written");

    let mut visited = Vec::new();
    store
        .visit_stream(&stream, Version::new(1), usize::MAX, &mut |event| {
            visited.push(event.payload.to_payload());
            ControlFlow::Continue(())
        })
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        visited.iter().collect::<Vec<_>>(),
        expected,
        "visit_stream gives each payload as written"
    );

    let from = Position::new(appended.first_position.get());
    let logged: Vec<_> = store
        .read_all_events(from, EventFilter::default())
        .try_collect()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let logged: Vec<&Payload> = logged
        .iter()
        .filter(|event| event.stream_id == stream)
        .map(|event| &event.payload)
        .collect();
    assert_eq!(logged, expected, "read_all gives each payload as written");

    for event in &sent {
        let found = store
            .find_event(&stream, event.event_id)
            .await
            .unwrap_or_else(|error| panic!("{error}"))
            .unwrap_or_else(|| panic!("event {} not found", event.event_id));
        assert_eq!(
            found.payload, event.payload,
            "find_event gives it as written"
        );
    }
}

/// `xp_gained` as schema version 0 wrote it: `half_points`, twice which is now `amount`.
#[derive(Serialize, Deserialize)]
struct XpGainedV0 {
    half_points: u64,
}

/// Events written in an older shape, in JSON and in the store's own format, are upcast on
/// every load: a repository whose upcasters know the old shape replays them into the state
/// the current events give.
pub async fn upcasting_reads_old_payloads_in_every_format<S: ConformanceStore>(store: S) {
    let xp_gained = TypeName::from_static("xp_gained");
    let upcasters = Upcasters::new()
        .register(xp_gained.clone(), 0, |payload| {
            let half = payload["half_points"]
                .as_u64()
                .ok_or("no `half_points` in an old `xp_gained`")?;
            Ok(serde_json::json!({ "amount": half * 2 }))
        })
        .with_shape::<XpGainedV0>(xp_gained.clone(), 0);
    for format in formats_of(&store) {
        let id = fastrand::u64(..);
        let stream = Player::stream_id(&id).unwrap_or_else(|error| panic!("{error}"));
        let created = PlayerEvent::PlayerCreated {
            name: format!("player {id}"),
        };
        let events = vec![
            NewEvent::new(
                Player::TYPE,
                TypeName::from_static("player_created"),
                1,
                crate::event::Event::encode_as(&created, format)
                    .unwrap_or_else(|error| panic!("{error}")),
            ),
            NewEvent::new(
                Player::TYPE,
                xp_gained.clone(),
                0,
                Payload::encode_as(&XpGainedV0 { half_points: 125 }, format)
                    .unwrap_or_else(|error| panic!("{error}")),
            ),
        ];
        store
            .append(&stream, ExpectedVersion::NoStream, &events)
            .await
            .unwrap_or_else(|error| panic!("append failed: {error}"));
        let loaded = Repository::<Player, _>::new(store.clone())
            .with_upcasters(upcasters.clone())
            .with_cache_capacity(0)
            .load(&id)
            .await
            .unwrap_or_else(|error| panic!("{format} events did not upcast: {error}"));
        assert_eq!(
            (loaded.version, loaded.state.xp),
            (Version::new(2), 250),
            "{format}: the old xp gain counts"
        );
    }
}
