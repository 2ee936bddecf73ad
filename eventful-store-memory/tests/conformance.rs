//! The memory store against the shared conformance suite, once for each payload format it
//! writes new events in.

use eventful_core::PayloadFormat;
use eventful_store_memory::MemoryStore;

eventful_core::conformance_tests!(|| async { Some(MemoryStore::new()) });

/// The same checks on a store that writes postcard: the command path encodes in it, and the
/// checks' own JSON events sit beside them in one log.
mod postcard {
    use super::*;

    eventful_core::conformance_tests!(|| async {
        Some(MemoryStore::with_payload_format(PayloadFormat::Postcard))
    });
}
