//! The store as the services hold it: any [`EventStore`], chosen when the program starts.
//!
//! The services keep their repositories on `Arc<dyn DynEventStore>` rather than on a type
//! parameter, so that the handlers the player service registers with `#[register]` (which
//! must be concrete types) run unchanged on the in-memory store, on MongoDB or on a store of
//! your own. One dynamic call per store operation is the whole cost.

use std::sync::Arc;

use eventful_core::{DynEventStore, EventStore};

/// A shared handle on the event store.
pub type SharedStore = Arc<dyn DynEventStore>;

/// `store` as a [`SharedStore`].
pub fn shared(store: impl EventStore + 'static) -> SharedStore {
    Arc::new(store)
}
