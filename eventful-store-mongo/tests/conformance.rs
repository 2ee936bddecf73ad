//! The MongoDB store against the shared conformance suite, each check on a database of its
//! own on the server named by `EVENTFUL_MONGO_URI` (skipped, with a notice, when unset).

mod common;

eventful_core::conformance_tests!(|| common::fresh_store("conformance"));
