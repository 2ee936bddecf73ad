//! One segment of one handler, on its own task: for durable progress, claim the segment (or
//! wait while another instance holds it), resume from its saved position, read the log in
//! batches, handle the segment's events with retries, park or stop on an event that keeps
//! failing, save the position under the claim after each batch, and give the claim up when
//! it is lost or the bus stops. The claim is renewed a few times a lease whatever the bus
//! is doing: between batches, between events and while the handler is on one, so that a slow
//! handler keeps it. Volatile progress skips the claim and the saves. While the
//! handler is paused, it reads nothing and keeps its claim. Each batch runs in a
//! `handler_batch` span and each event in a `handle_event` span, and the segment's metrics
//! move with them ([`crate::telemetry`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

use super::settings::{OnFailure, Progress};
use super::status::{BusError, HandlerFailure};
use crate::checkpoint::{CheckpointStore, DynCheckpointStore};
use crate::envelope::{Position, RecordedEvent};
use crate::handler::EventHandler;
use crate::progress::{Claim, ClaimOutcome, ParkedEvent, Segment};
use crate::repository::RetryPolicy;
use crate::store::{AllBatch, EventStore, StoreError};
use crate::telemetry::handles::{Behind, SegmentMetrics};
use crate::telemetry::spans;
use crate::upcast::{BoxError, Upcasters};

/// How many events the runner reads at a time.
const BATCH: usize = 512;

/// What one segment's runner reports.
#[derive(Debug, Clone, Default)]
pub(crate) struct SegmentState {
    /// Every event of the segment up to here is handled (and saved, for durable progress), as
    /// far as this instance knows.
    pub(crate) processed: Position,
    /// This instance holds the segment's claim (always, for volatile progress).
    pub(crate) holding: bool,
    pub(crate) failure: Option<Arc<HandlerFailure>>,
    pub(crate) halted: Option<Arc<BusError>>,
    /// The segment is paused: it reads nothing until the handler is resumed.
    pub(crate) paused: bool,
    /// The segment's task has ended (the bus stopped, or the handler stopped or halted).
    pub(crate) ended: bool,
}

pub(crate) struct Runner<S> {
    pub(crate) handler: Arc<dyn EventHandler>,
    pub(crate) progress: Progress,
    pub(crate) on_failure: OnFailure,
    pub(crate) segment: Segment,
    /// Segments of this handler this instance holds now, shared by its runners.
    pub(crate) claimed: Arc<AtomicU32>,
    pub(crate) max_claims: u32,
    pub(crate) owner: String,
    pub(crate) lease: Duration,
    pub(crate) store: S,
    pub(crate) checkpoints: Arc<dyn DynCheckpointStore>,
    pub(crate) upcasters: Upcasters,
    pub(crate) retry: RetryPolicy,
    pub(crate) state: watch::Sender<SegmentState>,
    pub(crate) stop: watch::Receiver<bool>,
    /// True while the handler is paused, in this instance.
    pub(crate) paused: watch::Receiver<bool>,
    pub(crate) metrics: SegmentMetrics,
}

/// Why work on a segment ended.
enum Ended {
    /// The bus is stopping.
    Stopped,
    /// Another instance took the claim.
    Lost,
    /// The handler stopped on an event.
    Failed,
}

impl Ended {
    /// The `outcome` of the `handler_batch` span it ends.
    fn label(&self) -> &'static str {
        match self {
            Self::Stopped => "stopped",
            Self::Lost => "lost_claim",
            Self::Failed => "failed",
        }
    }
}

/// Marks the segment's task ended when it goes, however it goes: a handler that panics
/// unwinds the task without returning, and the bus's status, readiness and
/// [`HANDLER_STOPPED`](crate::telemetry::HANDLER_STOPPED) must still see it stopped.
struct Ending {
    state: watch::Sender<SegmentState>,
    stopped: metrics::Gauge,
    /// The task returned (the bus stopped it, or the handler stopped or halted, each
    /// reported already) rather than unwound.
    returned: bool,
}

impl Drop for Ending {
    fn drop(&mut self) {
        if !self.returned {
            tracing::error!(
                "a handler's task ended without returning (it panicked); the handler no longer runs in this instance"
            );
            self.stopped.set(1.0);
        }
        self.state.send_modify(|state| state.ended = true);
    }
}

/// The claim a segment is worked on under, and when this instance last wrote it (took it, or
/// renewed it inside a batch): a batch renews it once a third of the lease has passed.
struct Held<'a> {
    claim: &'a Claim,
    written: Instant,
}

/// Resolves when `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // An error means the bus was dropped: stop as well.
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Resolves when `paused` is `to` (or its sender is gone).
async fn paused_is(paused: &mut watch::Receiver<bool>, to: bool) {
    // An error means the bus was dropped; `stopped` resolves too.
    let _ = paused.wait_for(|paused| *paused == to).await;
}

impl<S: EventStore> Runner<S> {
    fn claim(&self) -> Claim {
        Claim {
            handler: self.handler.name().to_owned(),
            segment: self.segment,
            owner: self.owner.clone(),
            lease: self.lease,
        }
    }

    pub(crate) async fn run(mut self) {
        let mut ending = Ending {
            state: self.state.clone(),
            stopped: self.metrics.stopped_gauge(),
            returned: false,
        };
        self.run_segment().await;
        ending.returned = true;
    }

    async fn run_segment(&mut self) {
        if self.progress == Progress::Volatile {
            if self
                .wait_while_paused(None, Some(Position::START))
                .await
                .is_err()
            {
                return;
            }
            self.state.send_modify(|state| state.holding = true);
            self.metrics.resumed(Position::START);
            self.work(Position::START, None).await;
            return;
        }
        let claim = self.claim();
        let mut failures = 0;
        loop {
            if *self.stop.borrow() {
                return;
            }
            // A paused handler claims nothing new.
            if *self.paused.borrow() {
                if self.wait_while_paused(None, None).await.is_err() {
                    return;
                }
                continue;
            }
            // A slot among this instance's claims first, so that its runners together never
            // hold more than `max_claims`.
            let max = self.max_claims;
            let reserved = self
                .claimed
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |held| {
                    (held < max).then_some(held + 1)
                })
                .is_ok();
            if !reserved {
                self.look_from_store().await;
                if !self.wait(self.lease / 4).await {
                    return;
                }
                continue;
            }
            let outcome = self.checkpoints.claim(&claim).await;
            if !matches!(outcome, Ok(ClaimOutcome::Held { .. })) {
                self.claimed.fetch_sub(1, Ordering::SeqCst);
            }
            match outcome {
                Ok(ClaimOutcome::Held { position, .. }) => {
                    failures = 0;
                    if let Some(error) = self.beyond_the_log(&claim, position).await {
                        self.claimed.fetch_sub(1, Ordering::SeqCst);
                        let _ = self.checkpoints.release(&claim).await;
                        tracing::error!(handler = %claim.handler, %error, "the handler cannot run");
                        self.metrics.stopped();
                        self.state
                            .send_modify(|state| state.halted = Some(Arc::new(error)));
                        return;
                    }
                    self.state.send_modify(|state| {
                        state.holding = true;
                        state.processed = position;
                    });
                    self.metrics.resumed(position);
                    tracing::info!(handler = %claim.handler, segment = %claim.segment, owner = %claim.owner, %position, "claimed");
                    let ended = self.work(position, Some(&claim)).await;
                    self.state.send_modify(|state| state.holding = false);
                    self.claimed.fetch_sub(1, Ordering::SeqCst);
                    if let Err(error) = self.checkpoints.release(&claim).await {
                        tracing::warn!(handler = %claim.handler, segment = %claim.segment, %error, "cannot release the claim; it runs out with its lease");
                    }
                    match ended {
                        Ended::Lost => continue,
                        Ended::Stopped | Ended::Failed => return,
                    }
                }
                Ok(ClaimOutcome::HeldBy { .. }) => {
                    failures = 0;
                    // The holder's lease runs out unrenewed only if it died: look again a few
                    // times a lease.
                    self.look_from_store().await;
                    if !self.wait(self.lease / 4).await {
                        return;
                    }
                }
                Ok(ClaimOutcome::OtherSegments { count }) => {
                    let error = BusError::SegmentsChanged {
                        handler: claim.handler.clone(),
                        stored: count,
                        configured: claim.segment.count,
                    };
                    tracing::error!(handler = %claim.handler, %error, "the handler cannot run");
                    self.metrics.stopped();
                    self.state
                        .send_modify(|state| state.halted = Some(Arc::new(error)));
                    return;
                }
                Err(error) => {
                    failures += 1;
                    tracing::warn!(handler = %claim.handler, segment = %claim.segment, %error, "cannot claim; retrying");
                    if !self.pause(failures).await {
                        return;
                    }
                }
            }
        }
    }

    /// A saved position past the head of the log (a damaged or foreign checkpoint store):
    /// resuming from it would skip every event until the log reached it.
    async fn beyond_the_log(&self, claim: &Claim, position: Position) -> Option<BusError> {
        let head = self.store.head_position().await.ok()?;
        (position > head).then(|| {
            BusError::Store(StoreError::PositionBeyondHead {
                name: claim.handler.clone(),
                position,
                head,
            })
        })
    }

    /// Works on the segment from after `processed` until the bus stops, the claim is lost or
    /// the handler stops on an event.
    async fn work(&mut self, processed: Position, claim: Option<&Claim>) -> Ended {
        let name = self.handler.name().to_owned();
        let filter = self.handler.filter();
        let mut next = processed.next();
        let mut saved = processed;
        let mut store_failures = 0;
        let mut held = claim.map(|claim| Held {
            claim,
            written: Instant::now(),
        });
        loop {
            if *self.stop.borrow() {
                return Ended::Stopped;
            }
            if let Err(ended) = self.wait_while_paused(claim, Some(saved)).await {
                return ended;
            }
            let batch = tokio::select! {
                batch = self.store.read_all(next, &filter, BATCH) => batch,
                () = stopped(&mut self.stop) => return Ended::Stopped,
            };
            let batch = match batch {
                Ok(batch) => {
                    store_failures = 0;
                    batch
                }
                Err(error) => {
                    store_failures += 1;
                    tracing::warn!(handler = %name, %error, "cannot read the log; retrying");
                    if !self.pause(store_failures).await {
                        return Ended::Stopped;
                    }
                    continue;
                }
            };
            let span = spans::handler_batch(&name, self.segment, next);
            let mut handled = 0;
            let done = self
                .handle_batch(
                    &name,
                    &batch,
                    held.as_mut(),
                    &mut saved,
                    &mut next,
                    &mut handled,
                )
                .instrument(span.clone())
                .await;
            spans::record(&span, "events", handled);
            if let Err(ended) = done {
                spans::record(&span, "outcome", ended.label());
                if let Ended::Failed = ended {
                    self.metrics.stopped();
                }
                return ended;
            }
            next = next.max(batch.next);
            let processed = Position::new(next.get().saturating_sub(1));
            if let Err(ended) = self.save(claim, &mut saved, processed).await {
                spans::record(&span, "outcome", ended.label());
                return ended;
            }
            spans::record(&span, "to", processed.get());
            spans::record(&span, "outcome", "ok");
            self.state.send_modify(|state| state.processed = processed);
            let behind = if batch.end_of_log {
                Behind::EndOfLog
            } else {
                match self.store.head_position().await {
                    Ok(head) => Behind::Head(head),
                    Err(_) => Behind::Unknown,
                }
            };
            let last = batch
                .events
                .iter()
                .rev()
                .find(|event| self.segment.holds(&event.stream_id));
            self.metrics.batch_done(processed, handled, behind, last);
            if batch.end_of_log {
                // A claim is renewed at least a few times a lease, appends or not, and the
                // lag looked at as often (a wait for an append the store does not signal
                // would otherwise read 0 while the log grows).
                tokio::select! {
                    () = self.store.wait_for_append(processed) => {}
                    () = tokio::time::sleep(self.lease / 3) => {
                        if let Some(claim) = claim
                            && let Err(ended) = self.renew(claim, saved).await
                        {
                            return ended;
                        }
                        self.look(processed).await;
                    }
                    () = stopped(&mut self.stop) => return Ended::Stopped,
                    () = paused_is(&mut self.paused, true) => {}
                }
            }
        }
    }

    /// Hands the segment's events of `batch` to the handler, moving `next` past each one
    /// handled or parked; stops on an event the handler gives up on (saving the position just
    /// before it) unless it parks it. Renews the claim on the way (a batch of slow events
    /// outlasts a lease), and stops before the next event once the claim is lost.
    async fn handle_batch(
        &mut self,
        name: &str,
        batch: &AllBatch,
        mut held: Option<&mut Held<'_>>,
        saved: &mut Position,
        next: &mut Position,
        handled: &mut usize,
    ) -> Result<(), Ended> {
        let claim = held.as_deref().map(|held| held.claim);
        for event in &batch.events {
            if !self.segment.holds(&event.stream_id) {
                continue;
            }
            if let Some(held) = held.as_deref_mut()
                && held.written.elapsed() >= self.lease / 3
            {
                held.written = Instant::now();
                self.renew(held.claim, *saved).await?;
            }
            let span = spans::handle_event(name, event);
            let (mut outcome, renewal) = self
                .handle_held(&span, name, event, *saved, held.as_deref_mut())
                .await;
            if let (Some(claim), Some(error)) = (claim, renewal) {
                // The event is handled; a claim lost meanwhile is another instance's now,
                // which handles the event again (at least once), and this one stops here.
                self.save_failed(claim, error)?;
            }
            // A store that does not answer is no fault of the event: wait until it does,
            // then try the event again, rather than park it or stop on it.
            let mut outage = 0;
            while outcome.is_err() && self.store.head_position().await.is_err() {
                outage += 1;
                tracing::warn!(handler = %name, position = %event.position, "the store does not answer; trying the event again once it does");
                if !self.pause(outage).await {
                    return Err(Ended::Stopped);
                }
                outcome = self.handle_in(&span, name, event).await;
            }
            spans::record(
                &span,
                "outcome",
                if outcome.is_ok() { "ok" } else { "failed" },
            );
            if let Err(failure) = outcome {
                self.metrics.failed();
                if self.on_failure == OnFailure::Park && self.park(&failure, event).await {
                    self.metrics.parked();
                    continue;
                }
                let before = Position::new(event.position.get() - 1);
                self.save(claim, saved, before).await?;
                let stopped_at = *saved;
                self.state.send_modify(|state| {
                    state.processed = stopped_at;
                    state.failure = Some(Arc::new(failure));
                });
                return Err(Ended::Failed);
            }
            *handled += 1;
            *next = event.position.next();
        }
        Ok(())
    }

    /// Waits while the handler is paused, renewing `claim` a few times a lease so that no
    /// other instance takes the segment meanwhile, and refreshing the lag as often: from
    /// `saved` when the segment is this instance's, from the store when it holds no claim
    /// yet (`None`).
    async fn wait_while_paused(
        &mut self,
        claim: Option<&Claim>,
        saved: Option<Position>,
    ) -> Result<(), Ended> {
        if !*self.paused.borrow() {
            return Ok(());
        }
        self.state.send_modify(|state| state.paused = true);
        self.metrics.paused(true);
        let waited = loop {
            tokio::select! {
                () = paused_is(&mut self.paused, false) => break Ok(()),
                () = stopped(&mut self.stop) => break Err(Ended::Stopped),
                () = tokio::time::sleep(self.lease / 3) => {
                    if let (Some(claim), Some(saved)) = (claim, saved)
                        && let Err(ended) = self.renew(claim, saved).await
                    {
                        break Err(ended);
                    }
                    match saved {
                        Some(saved) => self.look(saved).await,
                        None => self.look_from_store().await,
                    }
                }
            }
        };
        self.metrics.paused(false);
        self.state.send_modify(|state| state.paused = false);
        waited
    }

    /// Sets the lag of a segment this instance works on, at `processed`, against the head
    /// of the log now.
    async fn look(&self, processed: Position) {
        let behind = match self.store.head_position().await {
            Ok(head) => Behind::Head(head),
            Err(_) => Behind::Unknown,
        };
        self.metrics.behind(processed, behind);
    }

    /// Sets the lag of a segment this instance does not hold, from its saved position, so
    /// that a segment no instance moves shows its lag growing here too.
    async fn look_from_store(&self) {
        let (Ok(head), Ok(stored)) = (
            self.store.head_position().await,
            self.checkpoints.segments(self.handler.name()).await,
        ) else {
            return;
        };
        if let Some(record) = stored.iter().find(|record| record.segment == self.segment) {
            self.metrics.behind(record.position, Behind::Head(head));
        }
    }

    /// [`Runner::handle_in`], renewing `held` (at `saved`) every third of a lease while the
    /// handler is on the event, so that a handler slower than the lease keeps the segment. A
    /// renewal that failed is returned beside the outcome once the handler is done, rather
    /// than cancel the handler halfway; after a lost claim it renews no more.
    async fn handle_held(
        &mut self,
        span: &tracing::Span,
        name: &str,
        event: &RecordedEvent,
        saved: Position,
        held: Option<&mut Held<'_>>,
    ) -> (Result<(), HandlerFailure>, Option<StoreError>) {
        let Some(held) = held else {
            return (self.handle_in(span, name, event).await, None);
        };
        let checkpoints = self.checkpoints.clone();
        let every = self.lease / 3;
        let handling = self.handle_in(span, name, event);
        tokio::pin!(handling);
        let mut renewal: Option<StoreError> = None;
        loop {
            let lost = matches!(renewal, Some(StoreError::ClaimLost { .. }));
            tokio::select! {
                biased;
                outcome = &mut handling => return (outcome, renewal),
                () = tokio::time::sleep_until(held.written + every), if !lost => {
                    held.written = Instant::now();
                    renewal = checkpoints.save_claimed(held.claim, saved).await.err();
                }
            }
        }
    }

    /// [`Runner::handle`] in `span`; in place when the span is off, so that an event costs no
    /// move of its future into a wrapper.
    async fn handle_in(
        &mut self,
        span: &tracing::Span,
        name: &str,
        event: &RecordedEvent,
    ) -> Result<(), HandlerFailure> {
        if span.is_disabled() {
            self.handle(name, event).await
        } else {
            self.handle(name, event).instrument(span.clone()).await
        }
    }

    /// Handles one event, retrying as the policy allows.
    async fn handle(&mut self, name: &str, event: &RecordedEvent) -> Result<(), HandlerFailure> {
        let mut attempt = 1;
        loop {
            match self.handler.handle(event, &self.upcasters).await {
                Ok(()) => return Ok(()),
                Err(error) if attempt < self.retry.max_attempts => {
                    tracing::warn!(
                        handler = %name, stream_id = %event.stream_id, version = %event.version,
                        event_type = %event.event_type, attempt, %error,
                        "handler failed; retrying"
                    );
                    if !self.pause(attempt).await {
                        return Err(failure(name, event, attempt, error));
                    }
                    attempt += 1;
                }
                Err(error) => {
                    tracing::error!(
                        handler = %name, stream_id = %event.stream_id, version = %event.version,
                        position = %event.position, event_type = %event.event_type, attempt,
                        %error, "handler failed after its retries"
                    );
                    return Err(failure(name, event, attempt, error));
                }
            }
        }
    }

    /// Parks the event the handler gave up on, retrying a failing store; false if the bus
    /// stopped first (the event is then not parked, and is delivered again).
    async fn park(&mut self, failure: &HandlerFailure, event: &RecordedEvent) -> bool {
        let parked = ParkedEvent::new(
            &failure.handler,
            event,
            failure.attempts,
            failure.error.as_ref(),
        );
        let mut failures = 0;
        loop {
            match self.checkpoints.park(parked.clone()).await {
                Ok(()) => {
                    tracing::warn!(
                        handler = %failure.handler, stream_id = %event.stream_id,
                        position = %event.position, error = %failure.error,
                        "parked an event the handler keeps failing on; going on"
                    );
                    return true;
                }
                Err(error) => {
                    failures += 1;
                    tracing::warn!(handler = %failure.handler, %error, "cannot park an event; retrying");
                    if !self.pause(failures).await {
                        return false;
                    }
                }
            }
        }
    }

    /// Saves `processed` if it moved: under the claim for durable progress, nowhere for
    /// volatile. A failed save is logged and tried again after the next batch (the events since
    /// stay unacknowledged, never lost); a lost claim ends the work.
    async fn save(
        &self,
        claim: Option<&Claim>,
        saved: &mut Position,
        processed: Position,
    ) -> Result<(), Ended> {
        if processed == *saved {
            return Ok(());
        }
        let Some(claim) = claim else {
            *saved = processed;
            return Ok(());
        };
        match self.checkpoints.save_claimed(claim, processed).await {
            Ok(()) => {
                *saved = processed;
                Ok(())
            }
            Err(error) => self.save_failed(claim, error),
        }
    }

    /// Renews the claim at `saved` (idle, paused, or inside a long batch).
    async fn renew(&self, claim: &Claim, saved: Position) -> Result<(), Ended> {
        match self.checkpoints.save_claimed(claim, saved).await {
            Ok(()) => Ok(()),
            Err(error) => self.save_failed(claim, error),
        }
    }

    fn save_failed(&self, claim: &Claim, error: StoreError) -> Result<(), Ended> {
        if let StoreError::ClaimLost { .. } = error {
            tracing::warn!(handler = %claim.handler, segment = %claim.segment, %error, "lost the claim; stopping work on the segment");
            return Err(Ended::Lost);
        }
        if let StoreError::PositionBeyondHead { .. } = error {
            // The checkpoint store holds another log than the one read: saving again would
            // never succeed.
            tracing::error!(handler = %claim.handler, %error, "the handler cannot run");
            let halted = Arc::new(BusError::Store(error));
            self.metrics.stopped();
            self.state.send_modify(|state| state.halted = Some(halted));
            return Err(Ended::Failed);
        }
        tracing::warn!(handler = %claim.handler, segment = %claim.segment, %error, "cannot save the position");
        Ok(())
    }

    /// Waits before retry number `retry`; false if the bus stopped meanwhile.
    async fn pause(&mut self, retry: u32) -> bool {
        self.wait(self.retry.delay_before(retry)).await
    }

    /// Waits `delay`; false if the bus stopped meanwhile.
    async fn wait(&mut self, delay: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(delay) => true,
            () = stopped(&mut self.stop) => false,
        }
    }
}

fn failure(name: &str, event: &RecordedEvent, attempts: u32, error: BoxError) -> HandlerFailure {
    HandlerFailure {
        handler: name.to_owned(),
        stream_id: event.stream_id.clone(),
        version: event.version,
        position: event.position,
        event_type: event.event_type.clone(),
        attempts,
        error,
    }
}
