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

use eventful_store_mongo::{DEFAULT_DATABASE, MongoSettings, MongoStore};

use crate::error::Error;
use crate::options::StoreChoice;

/// The name of the store a run uses, for its report.
fn store_name(store: &StoreChoice) -> &'static str {
    match store {
        StoreChoice::Memory => "the in-memory store",
        StoreChoice::Mongo { .. } => "MongoDB",
    }
}

/// Connects to MongoDB at `uri`, in a database of this run's own: the programs number their
/// players and matches from 1, so a run needs a world of its own. The database is the URI's
/// (or `eventful`) with the run's start time after it, and the run says which.
pub(crate) async fn open_mongo(uri: &str) -> Result<MongoStore, Error> {
    let base = uri_database(uri).unwrap_or(DEFAULT_DATABASE);
    let database = format!("{base}_{}", chrono::Utc::now().format("%Y%m%d_%H%M%S_%3f"));
    eprintln!("MongoDB: this run's events go to database `{database}`");
    Ok(MongoStore::connect(MongoSettings::new(uri).with_database(database)).await?)
}

/// The database a MongoDB URI names in its path (`mongodb://host/gameevents?…`), if any.
fn uri_database(uri: &str) -> Option<&str> {
    let after_scheme = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let (_, path) = after_scheme.split_once('/')?;
    let database = path.split(['?', '#']).next().unwrap_or_default();
    (!database.is_empty()).then_some(database)
}

#[cfg(test)]
mod tests {
    use super::uri_database;

    #[test]
    fn the_database_comes_from_the_uri_path() {
        assert_eq!(
            uri_database("mongodb://h:27017/gameevents?directConnection=true"),
            Some("gameevents")
        );
        assert_eq!(
            uri_database("mongodb+srv://u:p@cluster.example.net/games"),
            Some("games")
        );
        assert_eq!(
            uri_database("mongodb://h:27017/?directConnection=true"),
            None
        );
        assert_eq!(uri_database("mongodb://h:27017"), None);
    }
}
