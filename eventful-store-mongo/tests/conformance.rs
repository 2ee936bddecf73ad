//! The MongoDB store against the shared conformance suite, each check on a database of its
//! own on the server named by `EVENTFUL_MONGO_URI` (skipped, with a notice, when unset): once
//! through one store, and once through three stores on the database, each call going to the
//! next (as three processes sharing it would).

mod common;

eventful_core::conformance_tests!(|| common::fresh_store("conformance"));

mod three_instances {
    use eventful_core::testing::interleave::Interleaved;

    use super::common;

    eventful_core::conformance_tests!(|| async {
        let settings = common::fresh_settings("conformance, three instances")?;
        let mut instances = Vec::new();
        for _ in 0..3 {
            instances.push(common::connect(settings.clone()).await);
        }
        Some(Interleaved::over(instances))
    });
}
