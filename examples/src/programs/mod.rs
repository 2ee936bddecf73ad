//! The main paths of the three example programs, as library functions: each `main` in
//! `examples/examples/` calls one, and the tests call the same with small numbers.
//!
//! | program | function | what it shows |
//! | --- | --- | --- |
//! | `player_service` | [`player_service::run`] | the player aggregate, its `#[register]`ed policies, level-ups, once-only achievements, concurrent updates |
//! | `game_session` | [`game_session::run`] | the session aggregate, its policies added by hand, publishing, typed and by-name subscribers, the rejections |
//! | `game_backend` | [`game_backend::run`] | both on one store and one bus: the story, the read models, a rebuild, a replay |

pub mod game_backend;
pub mod game_session;
pub mod player_service;

use crate::error::Error;
use crate::options::StoreChoice;

/// The name of the store a run uses, for its report.
fn store_name(store: &StoreChoice) -> &'static str {
    match store {
        StoreChoice::Memory => "the in-memory store",
        StoreChoice::Mongo { .. } => "MongoDB",
    }
}

/// The error for a store the examples cannot open.
fn not_built_in(store: &StoreChoice) -> Error {
    Error::StoreNotBuiltIn {
        store: match store {
            StoreChoice::Memory => "memory",
            StoreChoice::Mongo { .. } => "MongoDB",
        },
    }
}
