//! [`Swappable`]: a read model that is rebuilt into a fresh copy while the old copy goes on
//! serving reads (and following the log), the fresh copy swapped in once it has caught up —
//! a rebuild nobody sees, where [`RunningBus::rebuild`](crate::RunningBus::rebuild) empties
//! the read model first.

use std::sync::Arc;

use async_trait::async_trait;
use futures::TryStreamExt;
use parking_lot::RwLock;

use crate::envelope::{Position, RecordedEvent};
use crate::handler::filter_for;
use crate::projection::{Projection, RebuildError};
use crate::store::EventStore;
use crate::streams::EventStoreExt;
use crate::upcast::{BoxError, Upcasters};

/// A projection kept as a copy that can be replaced: register it on the bus like any
/// projection, read through [`Swappable::current`], and [`Swappable::rebuild`] it from the
/// first event into a fresh copy (made by the closure given to [`Swappable::new`]) that is
/// swapped in once it has caught up with the live one.
///
/// Until the swap, reads see the old copy, which the bus keeps feeding. At the swap the fresh
/// copy is brought to the last event the old one had, and from then on the bus feeds the
/// fresh copy, skipping the events at or below that swap point, which it already has: no
/// event is lost or applied twice. Only those are skipped, so a handler split into several
/// segments (each delivering its own streams, at its own pace) and a parked event replayed
/// later reach the copy like any other event.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use async_trait::async_trait;
/// use eventful_core::swappable::Swappable;
/// use eventful_core::{BoxError, EventBus, Projection, RecordedEvent, Upcasters};
/// # use eventful_core::{Event, EventType, Payload, PayloadError, DecodeFailure};
/// # #[derive(serde::Serialize, serde::Deserialize, Debug)]
/// # pub enum PlayerEvent { XpGained { amount: u64 } }
/// # impl Event for PlayerEvent {
/// #     const EVENT_TYPES: &'static [EventType] = &[EventType::new("xp_gained", 1)];
/// #     fn event_type(&self) -> &'static EventType { &Self::EVENT_TYPES[0] }
/// #     fn encode(&self) -> Result<Payload, PayloadError> { Payload::encode_variant_content(self) }
/// #     fn decode(_: &str, p: &Payload) -> Result<Self, DecodeFailure> { Ok(p.decode_variant(0)?) }
/// # }
/// # use eventful_store_memory::MemoryStore;
///
/// #[derive(Default)]
/// struct TotalXp(AtomicU64);
///
/// #[async_trait]
/// impl Projection for TotalXp {
///     type Event = PlayerEvent;
///     fn name(&self) -> &str { "total_xp" }
///     async fn apply(&self, event: &RecordedEvent<PlayerEvent>) -> Result<(), BoxError> {
///         let PlayerEvent::XpGained { amount } = event.payload;
///         self.0.fetch_add(amount, Ordering::Relaxed);
///         Ok(())
///     }
///     async fn reset(&self) -> Result<(), BoxError> { self.0.store(0, Ordering::Relaxed); Ok(()) }
/// }
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryStore::new();
/// let total = Swappable::new(TotalXp::default);
/// let mut bus = EventBus::new(store.clone(), store.clone());
/// bus.projection(total.clone());
/// let running = bus.start()?;
/// let before = total.current();
/// total.rebuild(&store, &Upcasters::new()).await?; // `before` served reads meanwhile
/// assert!(!std::sync::Arc::ptr_eq(&before, &total.current()));
/// # running.shutdown().await;
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
pub struct Swappable<P> {
    inner: Arc<Inner<P>>,
}

struct Inner<P> {
    name: String,
    make: Box<dyn Fn() -> P + Send + Sync>,
    /// The copy the bus feeds, and what it was given. Held across an event's `apply`, and
    /// across the catch-up of a swap, so that none falls in between.
    live: tokio::sync::Mutex<LiveCopy<P>>,
    /// The copy reads see: the live one, swapped at the same moment.
    current: RwLock<Arc<P>>,
    /// One rebuild at a time.
    rebuilding: tokio::sync::Mutex<()>,
}

/// The copy the bus feeds.
struct LiveCopy<P> {
    model: Arc<P>,
    /// The highest position of an event it was given (segments deliver out of order between
    /// them, so not every event below it).
    applied: Position,
    /// It was swapped in holding every event up to here: the bus's deliveries at or below it
    /// are skipped. `START` for a copy fed by the bus from the first event.
    swapped_at: Position,
}

impl<P> LiveCopy<P> {
    fn new(model: Arc<P>, swapped_at: Position) -> Self {
        Self {
            model,
            applied: swapped_at,
            swapped_at,
        }
    }
}

impl<P> Clone for Swappable<P> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

/// A swappable read model starting empty: `Swappable::new(P::default)`.
impl<P: Projection + Default> Default for Swappable<P> {
    fn default() -> Self {
        Self::new(P::default)
    }
}

impl<P: Projection> Swappable<P> {
    /// A swappable read model starting as `make()`; each rebuild makes its fresh copy with
    /// `make` too. Its name is the first copy's.
    pub fn new(make: impl Fn() -> P + Send + Sync + 'static) -> Self {
        let first = Arc::new(make());
        Self {
            inner: Arc::new(Inner {
                name: first.name().to_owned(),
                make: Box::new(make),
                live: tokio::sync::Mutex::new(LiveCopy::new(first.clone(), Position::START)),
                current: RwLock::new(first),
                rebuilding: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The copy to read: the one the bus feeds now. Hold it briefly — a rebuild swaps in
    /// another, and this one then no longer follows the log.
    pub fn current(&self) -> Arc<P> {
        self.inner.current.read().clone()
    }

    /// Builds a fresh copy from the first event of `store` to the end of its log, while the
    /// current copy serves reads, then swaps it in: returns the position the fresh copy had
    /// reached at the swap. A second rebuild waits for the first.
    ///
    /// Run it while the projection is registered on a bus reading `store`; on its own, it
    /// simply replaces the copy with one built from the whole log.
    pub async fn rebuild<S>(
        &self,
        store: &S,
        upcasters: &Upcasters,
    ) -> Result<Position, RebuildError>
    where
        S: EventStore + Clone + 'static,
    {
        let _one_at_a_time = self.inner.rebuilding.lock().await;
        let fresh = Arc::new((self.inner.make)());
        let built = self
            .feed(store, upcasters, &fresh, Position::START, None)
            .await?;
        let mut live = self.inner.live.lock().await;
        // The live copy may have gone further while the fresh one was built: bring the fresh
        // one there, under the lock, so that the bus gives it exactly the events after.
        if live.applied > built {
            self.feed(store, upcasters, &fresh, built.next(), Some(live.applied))
                .await?;
        }
        let reached = built.max(live.applied);
        *live = LiveCopy::new(fresh.clone(), reached);
        *self.inner.current.write() = fresh;
        tracing::info!(projection = %self.inner.name, position = %reached, "rebuilt into a fresh copy and swapped it in");
        Ok(reached)
    }

    /// Applies the events of the projection's types from `from` to the end of the log (or to
    /// `until`) to `copy`; the position of the last event read, `from - 1` if none.
    async fn feed<S>(
        &self,
        store: &S,
        upcasters: &Upcasters,
        copy: &P,
        from: Position,
        until: Option<Position>,
    ) -> Result<Position, RebuildError>
    where
        S: EventStore + Clone + 'static,
    {
        let mut events = store.read_all_events(from, filter_for::<P::Event>());
        let mut reached = Position::new(from.get().saturating_sub(1));
        while let Some(event) = events.try_next().await? {
            if until.is_some_and(|until| event.position > until) {
                break;
            }
            reached = event.position;
            let decoded = upcasters.decode_recorded::<P::Event>(event)?;
            copy.apply(&decoded)
                .await
                .map_err(|source| RebuildError::Apply {
                    projection: self.inner.name.clone(),
                    position: reached,
                    source,
                })?;
        }
        Ok(reached)
    }
}

#[async_trait]
impl<P: Projection> Projection for Swappable<P> {
    type Event = P::Event;

    fn name(&self) -> &str {
        &self.inner.name
    }

    /// Applies the event to the live copy, unless it already has it: a fresh copy swapped in
    /// ahead of the bus holds every event up to its swap point.
    async fn apply(&self, event: &RecordedEvent<Self::Event>) -> Result<(), BoxError> {
        let mut live = self.inner.live.lock().await;
        if event.position <= live.swapped_at {
            return Ok(());
        }
        live.model.apply(event).await?;
        live.applied = live.applied.max(event.position);
        Ok(())
    }

    /// Replaces the copy with an empty one (`make()`), for a bus that feeds it again from the
    /// first event.
    async fn reset(&self) -> Result<(), BoxError> {
        let mut live = self.inner.live.lock().await;
        let empty = Arc::new((self.inner.make)());
        *live = LiveCopy::new(empty.clone(), Position::START);
        *self.inner.current.write() = empty;
        Ok(())
    }
}
