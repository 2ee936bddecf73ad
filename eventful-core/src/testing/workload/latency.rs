//! Command latencies (only with `--latencies`): the commands case once more, on a fresh store,
//! every command timed on its own. A game server's tick has a budget, and what meets it is the
//! slowest commands as much as the average: a pause of the store (a table that grows while
//! appends wait, say) shows here and nowhere else. The throughput figure is not taken from
//! this run, whose two clock reads a command it would count.

use std::fmt::{self, Display, Formatter};
use std::time::Duration;

use super::{WorkloadError, run_commands_timed};
use crate::store::EventStore;

/// How long the commands of a run took, each on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LatencyReport {
    /// Commands timed.
    pub commands: u64,
    /// Half the commands took at most this.
    pub p50: Duration,
    /// 99 in 100 commands took at most this.
    pub p99: Duration,
    /// 999 in 1,000 commands took at most this.
    pub p999: Duration,
    /// The slowest command.
    pub max: Duration,
}

impl LatencyReport {
    /// The report of `latencies`, in any order; `None` when there are none.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eventful_core::testing::workload::LatencyReport;
    ///
    /// let latencies: Vec<Duration> = (1..=1_000).rev().map(Duration::from_micros).collect();
    /// let report = LatencyReport::of(latencies).unwrap();
    /// assert_eq!(report.commands, 1_000);
    /// assert_eq!(report.p50, Duration::from_micros(500));
    /// assert_eq!(report.p99, Duration::from_micros(990));
    /// assert_eq!(report.p999, Duration::from_micros(999));
    /// assert_eq!(report.max, Duration::from_micros(1_000));
    /// assert_eq!(LatencyReport::of(Vec::new()), None);
    /// ```
    pub fn of(mut latencies: Vec<Duration>) -> Option<Self> {
        latencies.sort_unstable();
        let max = *latencies.last()?;
        // The smallest latency at least `per_mille` thousandths of the commands did not exceed.
        let at = |per_mille: usize| latencies[(latencies.len() * per_mille).div_ceil(1000) - 1];
        Some(Self {
            commands: latencies.len() as u64,
            p50: at(500),
            p99: at(990),
            p999: at(999),
            max,
        })
    }
}

impl Display for LatencyReport {
    /// `210000 commands: p50 0.6 µs, p99 1.4 µs, p99.9 3.1 µs, max 412.0 µs`
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let micros = |d: Duration| d.as_secs_f64() * 1e6;
        write!(
            f,
            "{} commands: p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs",
            self.commands,
            micros(self.p50),
            micros(self.p99),
            micros(self.p999),
            micros(self.max),
        )
    }
}

/// Runs the commands of `players` players on `store` as [`run_commands`](super::run_commands)
/// does, timing each.
///
/// ```
/// use eventful_core::testing::workload::latency::run_latencies;
/// use eventful_store_memory::MemoryStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), eventful_core::testing::workload::WorkloadError> {
/// let report = run_latencies(MemoryStore::new(), 10, 2).await?;
/// assert_eq!(report.commands, 210);
/// assert!(report.p50 <= report.p99 && report.p99 <= report.p999 && report.p999 <= report.max);
/// # Ok(())
/// # }
/// ```
pub async fn run_latencies<S>(
    store: S,
    players: u64,
    tasks: u64,
) -> Result<LatencyReport, WorkloadError>
where
    S: EventStore + Clone + 'static,
{
    let (_, latencies) = run_commands_timed(&[store], players, tasks, true).await?;
    LatencyReport::of(latencies).ok_or(WorkloadError::Miscount {
        what: "commands timed".to_owned(),
        expected: players * (super::COMMANDS_PER_PLAYER + 1),
        found: 0,
    })
}
