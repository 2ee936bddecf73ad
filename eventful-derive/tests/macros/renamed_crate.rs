//! The macros with eventful-core under another name, told with `crate = "..."`.
//!
//! Cargo refuses one package as two dev-dependencies under two names, so the other name is a
//! `use` alias here; the expansion snapshots (`src/expand_tests.rs`) check that generated
//! code with `crate = "..."` names `::eventful_core` nowhere.

use ::eventful_core as renamed_core;
use renamed_core::test_kit::given;
use serde::{Deserialize, Serialize};

#[derive(renamed_core::Event, Serialize, Deserialize, Debug, PartialEq)]
#[event(crate = "renamed_core")]
enum DoorEvent {
    Opened,
    Closed { by: String },
}

#[derive(renamed_core::Event, Serialize, Deserialize, Debug, PartialEq)]
#[event(crate = "renamed_core", rename = "door_painted", version = 3)]
struct PaintedEvent {
    colour: String,
}

#[derive(renamed_core::Command)]
#[command(aggregate = Door, crate = "renamed_core")]
struct Toggle {
    #[aggregate_id]
    door: String,
}

#[derive(Debug, PartialEq, thiserror::Error)]
#[error("never")]
struct Never;

#[derive(Default)]
struct Door {
    open: bool,
}

#[renamed_core::aggregate(
    name = "door",
    id = String,
    command = Toggle,
    event = DoorEvent,
    error = Never,
    crate = "renamed_core"
)]
impl Door {
    #[handle(Toggle)]
    fn toggle(&self) -> Result<Vec<DoorEvent>, Never> {
        Ok(vec![if self.open {
            DoorEvent::Closed {
                by: "someone".into(),
            }
        } else {
            DoorEvent::Opened
        }])
    }

    #[apply(DoorEvent::Opened)]
    fn opened(&mut self) {
        self.open = true;
    }

    #[apply(DoorEvent::Closed)]
    fn closed(&mut self) {
        self.open = false;
    }
}

#[test]
fn the_macros_work_through_a_renamed_dependency() {
    use renamed_core::Event as _;
    let door = given::<Door>([])
        .when(Toggle {
            door: "front".into(),
        })
        .then_expect([DoorEvent::Opened]);
    assert!(door.open);
    given::<Door>([DoorEvent::Opened])
        .when(Toggle {
            door: "front".into(),
        })
        .then_expect([DoorEvent::Closed {
            by: "someone".into(),
        }]);
    assert_eq!(
        PaintedEvent::EVENT_TYPES,
        [renamed_core::EventType::new("door_painted", 3)]
    );
}
