//! Global positions without a global race: a counter document hands each store a block of
//! positions with one `$inc`, and the store's appends take their positions from its blocks
//! with no round trip of their own.
//!
//! Positions are unique (each is handed out once) but may commit out of order: two stores
//! fill their blocks side by side, and two tasks of one store insert at once. What readers do
//! about a position that is not committed yet is the `gaps` module's part; this module's is
//! to keep the positions a store holds but does not use from standing in readers' way:
//!
//! - a position whose insert was refused (a conflict, a duplicate) was never used: it goes
//!   back to the store's free positions for the next append;
//! - free positions a store has not used for [`RELEASE_AFTER`] are closed with a gap document
//!   (the `gaps` module), so that a reader waits for them at most that long while their
//!   owner lives, and the block size shrinks;
//! - a block used up within [`GROW_WITHIN`] doubles the next one, up to [`MAX_BLOCK`]: a busy
//!   store reserves once per many appends, an idle one a position at a time;
//! - when an append leaves fewer than half a block free, the next block is reserved in the
//!   background, so that appends seldom wait for a reservation of their own.
//!
//! The counter lives in the checkpoints collection, under a key no handler name can take. It
//! starts at the log's head when a store connects, so a log written before the counter
//! existed goes on above its last position.

use std::collections::BTreeSet;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use eventful_core::StoreError;
use mongodb::bson::{Document, doc};
use mongodb::options::ReturnDocument;
use parking_lot::Mutex;

use crate::error::MongoStoreError;
use crate::schema::{field, int64};
use crate::store::Inner;
use crate::stored::read_u64;

/// How long a store keeps free positions it does not use before it closes them.
pub(crate) const RELEASE_AFTER: Duration = Duration::from_millis(20);

/// A block used up faster than this makes the next one twice as large.
pub(crate) const GROW_WITHIN: Duration = Duration::from_millis(50);

/// The most positions one reservation takes.
pub(crate) const MAX_BLOCK: u64 = 64;

/// The counter's field.
const NEXT: &str = "next";

/// The positions this store holds and has not used, and how many the next reservation takes.
#[derive(Debug)]
pub(crate) struct Sequence {
    state: Mutex<Blocks>,
    /// One reservation in flight at a time: the appends waiting for positions share it.
    reserving: tokio::sync::Mutex<()>,
    /// Wakes the background task to reserve the next block ahead of need.
    running_low: tokio::sync::Notify,
}

#[derive(Debug)]
struct Blocks {
    free: BTreeSet<u64>,
    block: u64,
    reserved_at: Option<Instant>,
    used_at: Instant,
}

impl Sequence {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(Blocks {
                free: BTreeSet::new(),
                block: 1,
                reserved_at: None,
                used_at: Instant::now(),
            }),
            reserving: tokio::sync::Mutex::new(()),
            running_low: tokio::sync::Notify::new(),
        }
    }

    /// Whether fewer than half a block is free.
    fn low(&self) -> bool {
        let state = self.state.lock();
        (state.free.len() as u64) * 2 < state.block
    }

    /// `count` consecutive free positions all above `above`, taken: the first of them.
    fn take(&self, count: u64, above: u64) -> Option<u64> {
        let mut state = self.state.lock();
        let mut run_start = None;
        let mut run = 0;
        let mut previous = 0;
        for &position in state.free.range(above + 1..) {
            if run > 0 && position == previous + 1 {
                run += 1;
            } else {
                run_start = Some(position);
                run = 1;
            }
            previous = position;
            if run == count {
                break;
            }
        }
        let first = run_start.filter(|_| run == count)?;
        for position in first..first + count {
            state.free.remove(&position);
        }
        state.used_at = Instant::now();
        let low = (state.free.len() as u64) * 2 < state.block;
        drop(state);
        if low {
            self.running_low.notify_one();
        }
        Some(first)
    }

    /// Positions `first..first + count`, taken but not written (the insert was refused), free
    /// again.
    pub(crate) fn give_back(&self, first: u64, count: u64) {
        let mut state = self.state.lock();
        state.free.extend(first..first + count);
        state.used_at = Instant::now();
    }

    /// Takes every position of `from..=to` if all of them are free here (no insert of this
    /// store can be in flight there): whether it did.
    pub(crate) fn take_range(&self, from: u64, to: u64) -> bool {
        let mut state = self.state.lock();
        if state.free.range(from..=to).count() as u64 != to - from + 1 {
            return false;
        }
        for position in from..=to {
            state.free.remove(&position);
        }
        true
    }

    /// The free positions, taken, when none was used for [`RELEASE_AFTER`]; the next block
    /// shrinks to what was used of this one.
    fn idle(&self) -> Vec<u64> {
        let mut state = self.state.lock();
        if state.free.is_empty() || state.used_at.elapsed() < RELEASE_AFTER {
            return Vec::new();
        }
        let unused = state.free.len() as u64;
        state.block = state.block.saturating_sub(unused).max(1);
        std::mem::take(&mut state.free).into_iter().collect()
    }
}

/// Runs of consecutive positions: `(first, last)` each, in order.
pub(crate) fn runs(positions: &[u64]) -> Vec<(u64, u64)> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for &position in positions {
        match runs.last_mut() {
            Some((_, last)) if *last + 1 == position => *last = position,
            _ => runs.push((position, position)),
        }
    }
    runs
}

impl Inner {
    fn counter_key(&self) -> Document {
        doc! { "_id": format!("\u{1}log sequence of {}", self.events.name()) }
    }

    /// `count` consecutive positions for an append, all above `above` (the stream's last
    /// position, so that a stream's positions grow with its versions): from this store's
    /// free positions, else from a new reservation.
    pub(crate) async fn take_positions(&self, count: u64, above: u64) -> Result<u64, StoreError> {
        loop {
            if let Some(first) = self.sequence.take(count, above) {
                return Ok(first);
            }
            let _reserving = self.sequence.reserving.lock().await;
            // Another task's reservation may have brought enough while this one waited.
            if let Some(first) = self.sequence.take(count, above) {
                return Ok(first);
            }
            self.reserve(count).await?;
        }
    }

    /// Reserves a block of at least `count` positions from the counter.
    async fn reserve(&self, count: u64) -> Result<(), StoreError> {
        let size = {
            let mut state = self.sequence.state.lock();
            if state
                .reserved_at
                .is_some_and(|at| at.elapsed() < GROW_WITHIN)
            {
                state.block = (state.block * 2).min(MAX_BLOCK);
            }
            state.block.max(count)
        };
        let counter = self
            .checkpoints
            .find_one_and_update(self.counter_key(), doc! { "$inc": { NEXT: int64(size) } })
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await
            .map_err(|error| self.driver_error("reserving global positions", error))?;
        let last = counter
            .as_deref()
            .and_then(|counter| read_u64(counter, NEXT).ok())
            .ok_or_else(|| {
                self.driver_error(
                    "reserving global positions",
                    mongodb::error::Error::custom("the counter document has no number `next`"),
                )
            })?;
        let mut state = self.sequence.state.lock();
        state.free.extend(last + 1 - size..=last);
        state.reserved_at = Some(Instant::now());
        Ok(())
    }

    /// Moves the counter up to the log's last position at least, so that positions handed
    /// out are above every append already stored (a log written before the counter
    /// existed, or one whose counter was lost).
    pub(crate) async fn start_sequence(&self) -> Result<(), MongoStoreError> {
        let failed = |error| {
            MongoStoreError::from_driver(
                "starting the global position counter",
                self.database.name(),
                error,
            )
        };
        let top = self
            .events
            .find_one(doc! { field::LAST_POSITION: { "$gte": 1_i64 } })
            .sort(doc! { field::LAST_POSITION: -1 })
            .projection(doc! { field::LAST_POSITION: 1 })
            .await
            .map_err(failed)?
            .and_then(|top| read_u64(&top, field::LAST_POSITION).ok())
            .unwrap_or(0);
        self.checkpoints
            .update_one(self.counter_key(), doc! { "$max": { NEXT: int64(top) } })
            .upsert(true)
            .await
            .map_err(failed)?;
        Ok(())
    }

    /// Reserves the next block ahead of need, unless enough is free by now.
    async fn reserve_ahead(&self) {
        let _reserving = self.sequence.reserving.lock().await;
        if !self.sequence.low() {
            return;
        }
        if let Err(error) = self.reserve(1).await {
            // The next append that finds nothing free reserves, and reports the failure.
            tracing::debug!(%error, "reserving global positions ahead failed");
        }
    }

    /// Closes the free positions this store has left unused for [`RELEASE_AFTER`].
    async fn release_idle(&self) {
        let unused = self.sequence.idle();
        if unused.is_empty() {
            return;
        }
        if let Err(error) = self.close_gaps(&runs(&unused)).await {
            // Readers close them after the gap timeout instead.
            tracing::debug!(%error, "closing unused global positions failed");
        }
    }
}

/// For as long as the store lives: reserves the next block when appends run low, and
/// releases unused positions every [`RELEASE_AFTER`].
pub(crate) fn spawn_keeper(inner: &Arc<Inner>) {
    let weak: Weak<Inner> = Arc::downgrade(inner);
    tokio::spawn(async move {
        loop {
            let running_low = {
                let Some(inner) = weak.upgrade() else { return };
                tokio::select! {
                    () = inner.sequence.running_low.notified() => true,
                    () = tokio::time::sleep(RELEASE_AFTER) => false,
                }
            };
            let Some(inner) = weak.upgrade() else { return };
            if running_low {
                inner.reserve_ahead().await;
            } else {
                inner.release_idle().await;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_consecutive_positions_above_a_bound() {
        let sequence = Sequence::new();
        sequence.give_back(1, 3);
        sequence.give_back(5, 4);
        assert_eq!(sequence.take(2, 0), Some(1));
        assert_eq!(sequence.take(3, 0), Some(5), "3 alone is not a run of 3");
        assert_eq!(sequence.take(1, 7), Some(8));
        assert_eq!(sequence.take(1, 8), None);
        assert_eq!(sequence.take(1, 0), Some(3));
        assert_eq!(sequence.take(1, 0), None);
    }

    #[test]
    fn a_range_is_taken_only_when_all_of_it_is_free() {
        let sequence = Sequence::new();
        sequence.give_back(10, 5);
        assert!(!sequence.take_range(9, 11));
        assert!(sequence.take_range(11, 12));
        assert_eq!(sequence.take(1, 10), Some(13));
    }

    #[test]
    fn idle_positions_are_released_and_the_block_shrinks() {
        let sequence = Sequence::new();
        sequence.state.lock().block = 8;
        sequence.give_back(1, 6);
        sequence.state.lock().used_at = Instant::now() - RELEASE_AFTER * 2;
        assert_eq!(sequence.idle(), vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(sequence.state.lock().block, 2);
        assert!(sequence.idle().is_empty());
    }

    #[test]
    fn runs_group_consecutive_positions() {
        assert_eq!(runs(&[1, 2, 3, 7, 9, 10]), vec![(1, 3), (7, 7), (9, 10)]);
        assert!(runs(&[]).is_empty());
    }
}
