//! The store conformance suite and the game workload benchmark (feature `testing`).
//!
//! Every store, ours or a user's, proves itself with the same checks, one public async
//! function per guarantee of the design document, in [`conformance`]. A store crate runs them
//! all with one macro in its tests:
//!
//! ```
//! use eventful_store_memory::MemoryStore;
//!
//! // One #[test] per guarantee; the factory gives each test a fresh store, or `None` to skip.
//! eventful_core::conformance_tests!(|| async { Some(MemoryStore::new()) });
//! # fn main() {}
//! ```
//!
//! The benchmark of `../shared/WORKLOAD.md` lives in [`workload`], so that every store runs
//! the same code: a store's `benches/game_workload.rs` parses [`workload::BenchArgs`], calls
//! [`workload::run`] and prints the report it returns.
//!
//! | module | what lives there |
//! | --- | --- |
//! | [`model`] | the workload's `Player` aggregate, written by hand against the core traits |
//! | [`conformance`] | the checks, one function per guarantee |
//! | [`interleave`] | [`Interleaved`](interleave::Interleaved): a store wrapper that makes concurrent checks really race |
//! | [`faults`] | [`FaultyStore`](faults::FaultyStore): a store that fails on purpose (stream reads, writes) |
//! | [`workload`] | the game workload: commands, replay, keyed commands on a long stream, the `RESULT` line |

pub mod conformance;
pub mod faults;
pub mod interleave;
pub mod model;
pub mod workload;

use std::future::Future;

use crate::checkpoint::CheckpointStore;
use crate::snapshot::SnapshotStore;
use crate::store::EventStore;

/// What the suite needs of a store under test: events, snapshots and checkpoints in one
/// cloneable handle.
pub trait ConformanceStore: EventStore + SnapshotStore + CheckpointStore + Clone + 'static {}

impl<S: EventStore + SnapshotStore + CheckpointStore + Clone + 'static> ConformanceStore for S {}

/// Runs one check on a fresh store from `make_store`, on a two-worker runtime (so that the
/// concurrent checks really run in parallel). A factory that returns `None` skips the check;
/// it should print why.
///
/// # Panics
///
/// When the check fails, or the runtime cannot start.
pub fn run_check<S, Make, Made, Check, Checked>(make_store: Make, check: Check)
where
    S: ConformanceStore,
    Make: FnOnce() -> Made,
    Made: Future<Output = Option<S>>,
    Check: FnOnce(S) -> Checked,
    Checked: Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|error| panic!("cannot start a runtime: {error}"));
    runtime.block_on(async move {
        if let Some(store) = make_store().await {
            check(store).await;
        }
    });
}

/// Expands to one `#[test]` per conformance check, each on a fresh store made by the given
/// factory (`|| async { Some(store) }`, or `None` to skip).
///
/// ```
/// eventful_core::conformance_tests!(|| async { Some(eventful_store_memory::MemoryStore::new()) });
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($make_store:expr) => {
        $crate::conformance_tests!(@each $make_store;
            append_and_read_back,
            empty_append_checks_the_version_only,
            expected_version_is_checked,
            conflicting_multi_event_append_writes_nothing,
            concurrent_exact_appends_have_one_winner_per_version,
            retried_append_is_stored_once,
            appends_are_atomic_to_readers,
            versions_and_positions_are_ordered,
            read_stream_from_a_version,
            read_all_in_batches,
            read_a_time_range,
            filter_by_event_and_aggregate_type,
            find_an_event_by_id,
            envelope_round_trips,
            wait_for_append_wakes_on_append,
            subscriber_sees_every_event_once_across_handover,
            snapshot_and_tail_equal_full_replay,
            stale_or_unreadable_snapshot_is_ignored,
            concurrent_commands_are_retried_not_lost,
            idempotent_command_is_applied_once,
            keyed_command_is_applied_once_under_concurrency,
            event_id_is_stored_once_in_its_stream,
            event_id_is_unique_across_streams,
            claims_are_exclusive_under_racing_instances,
            a_claim_is_handed_over_after_its_lease,
            segments_have_claims_of_their_own,
            parked_events_are_kept_until_dismissed,
            snapshots_and_positions_stay_within_the_log,
            racing_segment_counts_lay_out_one,
            checkpoint_resumes_after_restart,
            bad_input_is_typed_and_changes_nothing,
            payloads_keep_their_format,
            upcasting_reads_old_payloads_in_every_format,
        );
    };
    (@each $make_store:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::testing::run_check($make_store, $crate::testing::conformance::$check);
            }
        )*
    };
}
