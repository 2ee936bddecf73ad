use eventful_core::test_kit::{given, given_no_events};
use eventful_core::{
    Aggregate, Command, Event, EventRegistry, PayloadFormat, PayloadRef, Repository,
};
use eventful_store_memory::MemoryStore;

use crate::player::{Player, PlayerCommand, PlayerCreated, PlayerError, PlayerEvent};

fn created() -> PlayerEvent {
    PlayerEvent::Created(PlayerCreated {
        name: "ana".into(),
        email: "ana@example.com".into(),
    })
}

fn gain(amount: u64) -> PlayerCommand {
    PlayerCommand::GainXp {
        player_id: 7,
        amount,
    }
}

#[test]
fn event_types_are_listed_in_declaration_order_with_their_versions() {
    let types: Vec<_> = PlayerEvent::EVENT_TYPES
        .iter()
        .map(|t| (t.name.as_str(), t.schema_version))
        .collect();
    assert_eq!(
        types,
        [
            ("player_created", 1),
            ("xp_gained", 1),
            ("level_reached", 2),
            ("achievement_unlocked", 1)
        ]
    );
    assert_eq!(created().event_type().name, "player_created");
    assert_eq!(
        PlayerEvent::LevelReached { level: 2 }
            .event_type()
            .schema_version,
        2
    );
}

#[test]
fn every_kind_of_variant_round_trips_without_its_tag() {
    let events = [
        (created(), r#"{"name":"ana","email":"ana@example.com"}"#),
        (PlayerEvent::XpGained { amount: 5 }, r#"{"amount":5}"#),
        (
            PlayerEvent::AchievementUnlocked {
                achievement: "first_blood".into(),
            },
            r#"{"achievement":"first_blood"}"#,
        ),
    ];
    for (event, json) in events {
        let payload = event.encode().expect("encodes");
        assert_eq!(std::str::from_utf8(payload.as_bytes()), Ok(json));
        let back = PlayerEvent::decode(&event.event_type().name, &payload).expect("decodes");
        assert_eq!(back, event);
    }
}

#[test]
fn every_kind_of_variant_round_trips_in_postcard_read_in_place() {
    let events = [
        (created(), &b"\x03ana\x0fana@example.com"[..]),
        (PlayerEvent::XpGained { amount: 300 }, &[0xac, 0x02][..]),
        (PlayerEvent::LevelReached { level: 2 }, &[2][..]),
    ];
    for (event, bytes) in events {
        let payload = event.encode_as(PayloadFormat::Postcard).expect("encodes");
        assert_eq!(
            (payload.format(), payload.as_bytes()),
            (PayloadFormat::Postcard, bytes)
        );
        let name = &event.event_type().name;
        assert_eq!(PlayerEvent::decode(name, &payload).expect("decodes"), event);
        let borrowed = PayloadRef::new(bytes, PayloadFormat::Postcard);
        assert_eq!(
            PlayerEvent::decode_ref(name, borrowed).expect("decodes"),
            event
        );
    }
    let json = PlayerEvent::XpGained { amount: 5 }
        .encode_as(PayloadFormat::Json)
        .expect("encodes");
    assert_eq!(json.as_bytes(), br#"{"amount":5}"#);
}

#[test]
fn an_unknown_stored_name_is_a_typed_failure_listing_the_known_ones() {
    let payload = PlayerEvent::XpGained { amount: 1 }
        .encode()
        .expect("encodes");
    let failure = PlayerEvent::decode("xp_lost", &payload).expect_err("unknown type");
    let message = failure.to_string();
    assert!(
        message.contains("`xp_lost` is not an event type"),
        "{message}"
    );
    assert!(message.contains("player_created, xp_gained"), "{message}");
}

#[test]
fn the_registry_finds_the_rust_type_of_a_stored_name() {
    let registry = EventRegistry::global();
    let registration = registry
        .lookup("level_reached")
        .expect("registered by the derive");
    assert!((registration.rust_type)().ends_with("PlayerEvent"));
    let payload = PlayerEvent::LevelReached { level: 3 }
        .encode()
        .expect("encodes");
    let described = registry.describe("level_reached", &payload).expect("known");
    assert_eq!(described.expect("decodes"), "LevelReached { level: 3 }");
    assert!(
        registry.collisions().is_empty(),
        "{:?}",
        registry.collisions()
    );
}

#[test]
fn commands_name_their_aggregate_instance() {
    assert_eq!(*gain(1).aggregate_id(), 7);
    assert_eq!(
        *PlayerCommand::UnlockAchievement(9, "x".into()).aggregate_id(),
        9
    );
    assert_eq!(Player::TYPE, "player");
    assert_eq!(Player::SNAPSHOT_REVISION, 2);
}

#[test]
fn a_player_is_created_once() {
    let create = || PlayerCommand::Create {
        player_id: 7,
        name: "ana".into(),
        email: "ana@example.com".into(),
    };
    given_no_events::<Player>()
        .when(create())
        .then_expect([created()]);
    given::<Player>([created()])
        .when(create())
        .then_error(PlayerError::AlreadyCreated);
    given_no_events::<Player>()
        .when(PlayerCommand::Create {
            player_id: 7,
            name: " ".into(),
            email: String::new(),
        })
        .then_error(PlayerError::EmptyName);
}

#[test]
fn xp_levels_up_at_every_thousand() {
    let player = given::<Player>([created(), PlayerEvent::XpGained { amount: 900 }])
        .when(gain(2150))
        .then_expect([
            PlayerEvent::XpGained { amount: 2150 },
            PlayerEvent::LevelReached { level: 2 },
            PlayerEvent::LevelReached { level: 3 },
            PlayerEvent::LevelReached { level: 4 },
        ]);
    assert_eq!((player.xp, player.level), (3050, 4));
    given::<Player>([created()])
        .when(gain(0))
        .then_error(PlayerError::NoXp);
    given_no_events::<Player>()
        .when(gain(5))
        .then_error(PlayerError::NotCreated);
}

#[test]
fn an_achievement_is_unlocked_once() {
    let unlock = || PlayerCommand::UnlockAchievement(7, "first_blood".into());
    let unlocked = PlayerEvent::AchievementUnlocked {
        achievement: "first_blood".into(),
    };
    given::<Player>([created()])
        .when(unlock())
        .then_expect([unlocked.clone()]);
    given::<Player>([created(), unlocked])
        .when(unlock())
        .then_expect([]);
}

#[tokio::test]
async fn a_repository_on_the_memory_store_runs_the_aggregate() {
    let players = Repository::<Player, _>::new(MemoryStore::new());
    players
        .execute(PlayerCommand::Create {
            player_id: 7,
            name: "ana".into(),
            email: "ana@example.com".into(),
        })
        .await
        .expect("created");
    let committed = players.execute(gain(1200)).await.expect("xp gained");
    let stored: Vec<_> = committed
        .events
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(stored, ["xp_gained", "level_reached"]);
    assert_eq!(committed.events[1].schema_version, 2);
    let loaded = players.load(&7).await.expect("loads");
    assert_eq!((loaded.state.xp, loaded.state.level), (1200, 2));
}

#[tokio::test]
async fn a_repository_on_a_postcard_store_writes_and_replays_postcard() {
    let store = MemoryStore::with_payload_format(PayloadFormat::Postcard);
    let players = Repository::<Player, _>::new(store.clone()).with_cache_capacity(0);
    players
        .execute(PlayerCommand::Create {
            player_id: 7,
            name: "ana".into(),
            email: "ana@example.com".into(),
        })
        .await
        .expect("created");
    let committed = players.execute(gain(1200)).await.expect("xp gained");
    let stored = eventful_core::EventStore::read_stream(
        &store,
        &committed.stream_id,
        eventful_core::Version::new(1),
        10,
    )
    .await
    .expect("reads");
    assert!(
        stored
            .iter()
            .all(|event| event.payload.format() == PayloadFormat::Postcard)
    );
    let loaded = players.load(&7).await.expect("loads");
    assert_eq!((loaded.state.xp, loaded.state.level), (1200, 2));
}
