//! [`reshape_segments`]: a durable handler's stored progress split or merged into another
//! number of segments, while no instance runs it.

use super::status::BusError;
use crate::checkpoint::CheckpointStore;
use crate::progress::{Segment, SegmentProgress};

/// Splits or merges the stored progress of durable handler `handler` into `count` segments,
/// while no instance runs it, so that a bus configured with `count` segments takes over with
/// no event lost or handled twice.
///
/// - A multiple of the current count splits each segment: every new segment starts where the
///   segment holding its streams was (a stream's new segment is always under its old one).
/// - A divisor merges segments: allowed only when the segments merged into one are at the same
///   position (run the handler until it has caught up, stop it, then merge), since a merged
///   segment has one position.
/// - Any other count is refused ([`BusError::SegmentCount`]): go through a multiple or a
///   divisor. A segment still claimed by a live instance refuses the whole operation
///   ([`BusError::SegmentInUse`]); nothing is changed by a refusal.
///
/// ```
/// use eventful_core::bus::reshape_segments;
/// use eventful_core::progress::{Claim, Segment};
/// use eventful_core::CheckpointStore;
/// use eventful_store_memory::MemoryStore;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryStore::new();
/// let claim = Claim { handler: "xp".into(), segment: Segment::WHOLE, owner: "a".into(), lease: std::time::Duration::from_secs(5) };
/// store.claim(&claim).await?;
/// store.release(&claim).await?;
/// reshape_segments(&store, "xp", 4).await?;
/// assert_eq!(store.segments("xp").await?.len(), 4);
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
pub async fn reshape_segments(
    checkpoints: &impl CheckpointStore,
    handler: &str,
    count: u32,
) -> Result<(), BusError> {
    let count = count.max(1);
    let current = checkpoints.segments(handler).await?;
    if current.is_empty() {
        return Ok(());
    }
    let now = chrono::Utc::now();
    if let Some(held) = current
        .iter()
        .find(|segment| segment.owner.is_some() && !segment.claimable_by("", now))
    {
        return Err(BusError::SegmentInUse {
            handler: handler.to_owned(),
            segment: held.segment,
            owner: held.owner.clone().unwrap_or_default(),
        });
    }
    let from = current.len() as u32;
    let position_of = |index: u32| current[index as usize].position;
    let reshaped: Vec<SegmentProgress> = if count.is_multiple_of(from) {
        Segment::all(count)
            .into_iter()
            .map(|segment| {
                let mut progress = SegmentProgress::new(segment);
                progress.position = position_of(segment.index % from);
                progress
            })
            .collect()
    } else if from.is_multiple_of(count) {
        let mut merged = Vec::with_capacity(count as usize);
        for segment in Segment::all(count) {
            let mut parts = (segment.index..from).step_by(count as usize);
            let first = parts.next().unwrap_or(segment.index);
            if let Some(apart) = parts.find(|&part| position_of(part) != position_of(first)) {
                return Err(BusError::SegmentsApart {
                    handler: handler.to_owned(),
                    first: current[first as usize].segment,
                    first_position: position_of(first),
                    second: current[apart as usize].segment,
                    second_position: position_of(apart),
                });
            }
            let mut progress = SegmentProgress::new(segment);
            progress.position = position_of(first);
            merged.push(progress);
        }
        merged
    } else {
        return Err(BusError::SegmentCount {
            handler: handler.to_owned(),
            from,
            to: count,
        });
    };
    checkpoints.put_segments(handler, reshaped).await?;
    Ok(())
}
