//! What the integration tests share: the server's URI from `EVENTFUL_MONGO_URI`, and a fresh
//! database per test.

// Each test file uses a part of this module.
#![allow(dead_code)]

use std::io::Write;
use std::sync::Once;
use std::time::Duration;

use eventful_store_mongo::{MongoSettings, MongoStore};

/// The variable naming the test server.
pub(crate) const URI_VARIABLE: &str = "EVENTFUL_MONGO_URI";

/// Settings for a database of its own on the test server, or `None` (after saying why) when
/// no server is configured.
pub(crate) fn fresh_settings(test: &str) -> Option<MongoSettings> {
    let Ok(uri) = std::env::var(URI_VARIABLE) else {
        skip_notice(test);
        return None;
    };
    let database = format!("eventful_test_{}", uuid::Uuid::new_v4().simple());
    Some(
        MongoSettings::new(uri)
            .with_database(database)
            .with_server_selection_timeout(Duration::from_secs(10))
            .with_poll_interval(Duration::from_millis(20)),
    )
}

/// Says once per test binary, past the test harness's capture, that the MongoDB tests are
/// skipped and why; each skipped test also says so in its own (captured) output.
fn skip_notice(test: &str) {
    static SAID: Once = Once::new();
    SAID.call_once(|| {
        let notice = format!(
            "skipped: {URI_VARIABLE} is not set, so the MongoDB tests of this binary pass without \
             running (set it, e.g. to mongodb://127.0.0.1:27017/?directConnection=true, to run them)\n"
        );
        // Straight to the process's stderr: the harness captures `eprintln!` of passing tests.
        let _ = std::io::stderr().write_all(notice.as_bytes());
    });
    eprintln!("skipped `{test}`: {URI_VARIABLE} is not set");
}

/// A store on a fresh database, or `None` when no server is configured. A server that is
/// configured but does not answer fails the test.
pub(crate) async fn fresh_store(test: &str) -> Option<MongoStore> {
    let settings = fresh_settings(test)?;
    Some(connect(settings).await)
}

/// Connects, failing the test on an error.
pub(crate) async fn connect(settings: MongoSettings) -> MongoStore {
    MongoStore::connect(settings)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to the test server: {error}"))
}

/// Drops the store's test database.
pub(crate) async fn drop_database(store: &MongoStore) {
    store
        .database()
        .drop()
        .await
        .unwrap_or_else(|error| panic!("the test database does not drop: {error}"));
}
