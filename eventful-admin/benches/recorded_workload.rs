//! The game workload on the memory store with the Prometheus exporter installed, to put a
//! figure on what recording costs a command:
//! `cargo bench -p eventful-admin --bench recorded_workload -- --prometheus --players 10000 --tasks 1`
//! (without `--prometheus`, no recorder is installed: the same run as the memory store's
//! `game_workload`).

use std::convert::Infallible;
use std::process::ExitCode;

use clap::Parser;
use eventful_admin::PrometheusMetrics;
use eventful_core::testing::workload::{self, BenchArgs, peak_memory_bytes};
use eventful_store_memory::MemoryStore;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().collect();
    let prometheus = args.iter().any(|arg| arg == "--prometheus");
    args.retain(|arg| arg != "--prometheus");
    let args = BenchArgs::parse_from(args).workload;
    let make_store = || async { Ok::<_, Infallible>(MemoryStore::new()) };
    let outcome: Result<_, Box<dyn std::error::Error>> = match args.runtime() {
        Ok(runtime) => runtime.block_on(async {
            // Installed inside the runtime, so that its upkeep task runs as in a service.
            let metrics = prometheus.then(PrometheusMetrics::install).transpose()?;
            let report = workload::run("memory", &args, make_store).await?;
            if let Some(metrics) = metrics {
                eprintln!(
                    "exported {} lines of metrics",
                    metrics.render().lines().count()
                );
            }
            Ok(report)
        }),
        Err(error) => Err(error.into()),
    };
    match outcome {
        Ok(report) => {
            print!("{}", report.with_peak_memory(peak_memory_bytes()));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("workload failed: {error}");
            ExitCode::FAILURE
        }
    }
}
