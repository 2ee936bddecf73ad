//! The memory store against the shared conformance suite.

use eventful_store_memory::MemoryStore;

eventful_core::conformance_tests!(|| async { Some(MemoryStore::new()) });
