//! The conformance checks, one public function per guarantee of the design document. Each
//! takes a store (it may already hold events: every check works on streams of its own) and
//! panics with a message naming the broken guarantee.
//!
//! | guarantee | checks |
//! | --- | --- |
//! | 1. atomic appends | [`conflicting_multi_event_append_writes_nothing`], [`appends_are_atomic_to_readers`] |
//! | 2. expected version | [`expected_version_is_checked`], [`empty_append_checks_the_version_only`], [`concurrent_exact_appends_have_one_winner_per_version`] |
//! | 3. idempotent appends | [`retried_append_is_stored_once`], [`idempotent_command_is_applied_once`] |
//! | 10. one event id, one place | [`event_id_is_stored_once_in_its_stream`], [`event_id_is_unique_across_streams`] |
//! | 11. a keyed command is applied once | [`keyed_command_is_applied_once_under_concurrency`] |
//! | 12. shared handlers | [`claims_are_exclusive_under_racing_instances`], [`a_claim_is_handed_over_after_its_lease`], [`segments_have_claims_of_their_own`], [`parked_events_are_kept_until_dismissed`], [`racing_segment_counts_lay_out_one`] |
//! | 4. versions and positions | [`versions_and_positions_are_ordered`], [`subscriber_sees_every_event_once_across_handover`] |
//! | 5. reads | [`append_and_read_back`], [`read_stream_from_a_version`], [`read_all_in_batches`], [`read_a_time_range`], [`filter_by_event_and_aggregate_type`], [`find_an_event_by_id`], [`wait_for_append_wakes_on_append`] |
//! | 6. snapshots | [`snapshot_and_tail_equal_full_replay`], [`stale_or_unreadable_snapshot_is_ignored`], [`snapshots_and_positions_stay_within_the_log`] |
//! | 7. checkpoints | [`checkpoint_resumes_after_restart`] |
//! | 8. envelope | [`envelope_round_trips`] |
//! | 9. bad input | [`bad_input_is_typed_and_changes_nothing`] |
//! | payload formats | [`payloads_keep_their_format`], [`upcasting_reads_old_payloads_in_every_format`] |
//! | the command path on the store | [`concurrent_commands_are_retried_not_lost`] |

mod appends;
mod claims;
mod commands;
mod formats;
mod ids;
mod live;
mod reads;

pub use self::appends::{
    appends_are_atomic_to_readers, concurrent_exact_appends_have_one_winner_per_version,
    conflicting_multi_event_append_writes_nothing, empty_append_checks_the_version_only,
    expected_version_is_checked, retried_append_is_stored_once,
};
pub use self::claims::{
    a_claim_is_handed_over_after_its_lease, claims_are_exclusive_under_racing_instances,
    parked_events_are_kept_until_dismissed, racing_segment_counts_lay_out_one,
    segments_have_claims_of_their_own, snapshots_and_positions_stay_within_the_log,
};
pub use self::commands::{
    bad_input_is_typed_and_changes_nothing, concurrent_commands_are_retried_not_lost,
    idempotent_command_is_applied_once, keyed_command_is_applied_once_under_concurrency,
    snapshot_and_tail_equal_full_replay, stale_or_unreadable_snapshot_is_ignored,
};
pub use self::formats::{payloads_keep_their_format, upcasting_reads_old_payloads_in_every_format};
pub use self::ids::{event_id_is_stored_once_in_its_stream, event_id_is_unique_across_streams};
pub use self::live::{
    checkpoint_resumes_after_restart, subscriber_sees_every_event_once_across_handover,
    wait_for_append_wakes_on_append,
};
pub use self::reads::{
    append_and_read_back, envelope_round_trips, filter_by_event_and_aggregate_type,
    find_an_event_by_id, read_a_time_range, read_all_in_batches, read_stream_from_a_version,
    versions_and_positions_are_ordered,
};

use futures::TryStreamExt;
use uuid::Uuid;

use crate::envelope::{NewEvent, Position, RecordedEvent, Version};
use crate::names::{StreamId, TypeName};
use crate::payload::Payload;
use crate::store::{EventFilter, EventStore};
use crate::streams::EventStoreExt;
use crate::testing::interleave::Interleaved;

/// A stream id no other check uses: `"<prefix>-<uuid>"`.
/// Runs `race` again, at most `runs` times, until one run met a conflict: a run in which the
/// scheduler let every writer through alone proves nothing (on a loaded machine one runtime
/// worker may get no processor for a while, and the task on the other then does its whole
/// share alone). `writers` names them in the failure.
async fn until_raced<S, Race, Raced>(store: &Interleaved<S>, runs: usize, writers: &str, race: Race)
where
    Race: Fn() -> Raced,
    Raced: std::future::Future<Output = ()>,
{
    for _ in 0..runs {
        let before = store.seen().conflicts;
        race().await;
        if store.seen().conflicts > before {
            return;
        }
    }
    panic!(
        "no {writers} met a conflict in {runs} runs: the writers did not race, and the check proved nothing"
    );
}

fn fresh_stream(prefix: &str) -> StreamId {
    StreamId::new(format!("{prefix}-{}", Uuid::new_v4().simple()))
        .unwrap_or_else(|error| panic!("{error}"))
}

/// An event of aggregate type `test`, type `event_type`, with payload `{"n": n}`.
fn numbered(event_type: &'static str, n: u64) -> NewEvent {
    raw_event("test", event_type, &format!(r#"{{"n":{n}}}"#))
}

fn raw_event(aggregate_type: &str, event_type: &str, json: &str) -> NewEvent {
    NewEvent::new(
        TypeName::new(aggregate_type).unwrap_or_else(|error| panic!("{error}")),
        TypeName::new(event_type).unwrap_or_else(|error| panic!("{error}")),
        1,
        Payload::from_json_slice(json.as_bytes()).unwrap_or_else(|error| panic!("{error}")),
    )
}

fn numbers(events: &[RecordedEvent]) -> Vec<u64> {
    events
        .iter()
        .map(|event| {
            let value: serde_json::Value = event
                .payload
                .decode()
                .unwrap_or_else(|error| panic!("stored payload does not read back: {error}"));
            value["n"]
                .as_u64()
                .unwrap_or_else(|| panic!("payload {} lost its number", event.payload))
        })
        .collect()
}

async fn whole_stream<S: EventStore + ?Sized>(
    store: &S,
    stream_id: &StreamId,
) -> Vec<RecordedEvent> {
    store
        .read_stream(stream_id, Version::new(1), usize::MAX)
        .await
        .unwrap_or_else(|error| panic!("reading `{stream_id}` failed: {error}"))
}

async fn whole_log<S: EventStore + Clone + 'static>(
    store: &S,
    filter: EventFilter,
) -> Vec<RecordedEvent> {
    store
        .read_all_events(Position::START, filter)
        .try_collect()
        .await
        .unwrap_or_else(|error| panic!("reading the log failed: {error}"))
}
