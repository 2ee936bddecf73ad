//! [`WorkloadReport`]: the figures of one run, and the lines scripts read.

use std::fmt::{self, Display, Formatter};

use super::{CommandsReport, KeyedReport, LatencyReport, PoliciesReport, ReplayReport};

/// The figures of one run of [`run`](super::run), printed as a bench prints them: one line per
/// figure, then the `RESULT_KEYED` line (with the keyed case), the `RESULT_POLICIES` line
/// (with the policies case), the `RESULT_LATENCY` line (with the latencies) and the `RESULT`
/// line, last.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WorkloadReport {
    /// The store, as the `RESULT` line names it.
    pub name: String,
    /// The commands run.
    pub commands: CommandsReport,
    /// The replay run.
    pub replay: ReplayReport,
    /// The keyed commands on a short and a long stream, when asked for.
    pub keyed: Option<KeyedReport>,
    /// The policy shared by instances, when asked for.
    pub policies: Option<PoliciesReport>,
    /// Each command timed, when asked for.
    pub latencies: Option<LatencyReport>,
    /// The process's peak resident memory in bytes, as the bench measured it.
    pub peak_memory: Option<u64>,
    /// A bench's own figures, appended to the `RESULT` line as `name=value`.
    pub result_fields: Vec<(String, String)>,
}

impl WorkloadReport {
    pub(super) fn new(
        name: &str,
        commands: CommandsReport,
        replay: ReplayReport,
        keyed: Option<KeyedReport>,
    ) -> Self {
        Self {
            name: name.to_owned(),
            commands,
            replay,
            keyed,
            policies: None,
            latencies: None,
            peak_memory: None,
            result_fields: Vec::new(),
        }
    }

    /// With the policies case's figures.
    pub(super) fn with_policies(mut self, policies: Option<PoliciesReport>) -> Self {
        self.policies = policies;
        self
    }

    /// With the latencies case's figures.
    pub(super) fn with_latencies(mut self, latencies: Option<LatencyReport>) -> Self {
        self.latencies = latencies;
        self
    }

    /// With the process's peak memory, from
    /// [`peak_memory_bytes`](super::peak_memory_bytes) after the run.
    pub fn with_peak_memory(mut self, bytes: Option<u64>) -> Self {
        self.peak_memory = bytes;
        self
    }

    /// With `name=value` at the end of the `RESULT` line: a figure only this store's bench
    /// measures (MongoDB's insert ceiling, say).
    pub fn with_result_field(mut self, name: &str, value: impl Display) -> Self {
        self.result_fields
            .push((name.to_owned(), value.to_string()));
        self
    }

    /// `RESULT name=<impl> players=<P> tasks=<T> commands_per_s=<x> events_per_s=<y>
    /// replay_events_per_s=<z>` (one line), then the bench's own fields.
    pub fn result_line(&self) -> String {
        let mut line = format!(
            "RESULT name={} players={} tasks={} commands_per_s={:.0} events_per_s={:.0} replay_events_per_s={:.0}",
            self.name,
            self.commands.players,
            self.commands.tasks,
            self.commands.commands_per_s(),
            self.commands.events_per_s(),
            self.replay.events_per_s(),
        );
        for (name, value) in &self.result_fields {
            line.push_str(&format!(" {name}={value}"));
        }
        line
    }

    /// `RESULT_KEYED name=<impl> commands=<K> short_stream_events=<n> short_us_per_command=<a>
    /// long_stream_events=<N> long_us_per_command=<b> ratio=<b/a>` (one line), with the keyed
    /// case.
    pub fn keyed_result_line(&self) -> Option<String> {
        let keyed = self.keyed.as_ref()?;
        Some(format!(
            "RESULT_KEYED name={} commands={} short_stream_events={} short_us_per_command={:.1} \
             long_stream_events={} long_us_per_command={:.1} ratio={:.1}",
            self.name,
            keyed.short.commands,
            keyed.short.stream_events,
            keyed.short.micros_per_command(),
            keyed.long.stream_events,
            keyed.long.micros_per_command(),
            keyed.ratio(),
        ))
    }
}

impl WorkloadReport {
    /// `RESULT_POLICIES name=<impl> instances=<K> events=<n> reactions=<r> events_per_s=<x>
    /// reactions_per_s=<y>` (one line), with the policies case.
    pub fn policies_result_line(&self) -> Option<String> {
        let policies = self.policies.as_ref()?;
        Some(format!(
            "RESULT_POLICIES name={} instances={} events={} reactions={} events_per_s={:.0} \
             reactions_per_s={:.0}",
            self.name,
            policies.instances,
            policies.events,
            policies.reactions,
            policies.events_per_s(),
            policies.reactions_per_s(),
        ))
    }
}

impl WorkloadReport {
    /// `RESULT_LATENCY name=<impl> players=<P> tasks=<T> commands=<n> p50_us=<a> p99_us=<b>
    /// p999_us=<c> max_us=<d>` (one line), with the latencies.
    pub fn latency_result_line(&self) -> Option<String> {
        let latencies = self.latencies.as_ref()?;
        let micros = |d: std::time::Duration| d.as_secs_f64() * 1e6;
        Some(format!(
            "RESULT_LATENCY name={} players={} tasks={} commands={} p50_us={:.2} p99_us={:.2} \
             p999_us={:.2} max_us={:.1}",
            self.name,
            self.commands.players,
            self.commands.tasks,
            latencies.commands,
            micros(latencies.p50),
            micros(latencies.p99),
            micros(latencies.p999),
            micros(latencies.max),
        ))
    }
}

impl Display for WorkloadReport {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(f, "commands: {}", self.commands)?;
        writeln!(f, "replay: {}", self.replay)?;
        if let Some(keyed) = &self.keyed {
            writeln!(f, "keyed commands: {keyed}")?;
        }
        if let Some(policies) = &self.policies {
            writeln!(f, "policies: {policies}")?;
        }
        if let Some(latencies) = &self.latencies {
            writeln!(f, "latencies: {latencies}")?;
        }
        if let Some(peak) = self.peak_memory {
            writeln!(f, "peak memory: {:.1} MB", peak as f64 / 1e6)?;
        }
        if let Some(line) = self.keyed_result_line() {
            writeln!(f, "{line}")?;
        }
        if let Some(line) = self.policies_result_line() {
            writeln!(f, "{line}")?;
        }
        if let Some(line) = self.latency_result_line() {
            writeln!(f, "{line}")?;
        }
        writeln!(f, "{}", self.result_line())
    }
}

impl Display for CommandsReport {
    /// `10000 players, 1 task(s): 210000 commands and 220000 events in 0.210 s = …`
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} players, {} task(s): {} commands and {} events in {:.3} s = {:.0} commands/s, \
             {:.0} events/s ({:.0} ns/command)",
            self.players,
            self.tasks,
            self.commands,
            self.events,
            self.elapsed.as_secs_f64(),
            self.commands_per_s(),
            self.events_per_s(),
            self.elapsed.as_nanos() as f64 / self.commands as f64,
        )
    }
}

impl Display for ReplayReport {
    /// `10000 events: … events/s without snapshots (… ms), … with snapshots every 100 (… ms)`
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} events: {:.0} events/s without snapshots ({:.2} ms), {:.0} events/s with \
             snapshots every {} ({:.3} ms)",
            self.events,
            self.events_per_s(),
            self.without_snapshots.as_secs_f64() * 1e3,
            self.events_per_s_with_snapshots(),
            self.snapshot_every,
            self.with_snapshots.as_secs_f64() * 1e3,
        )
    }
}
