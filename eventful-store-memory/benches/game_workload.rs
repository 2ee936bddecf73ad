//! The game workload on the memory store:
//! `cargo bench -p eventful-store-memory --bench game_workload -- --players 10000 --tasks 1`
//! (`-- --help` for the options; `--keyed-long-stream` adds keyed commands on a long stream).

use std::convert::Infallible;
use std::process::ExitCode;

use clap::Parser;
use eventful_core::testing::workload::{self, BenchArgs, peak_memory_bytes};
use eventful_store_memory::MemoryStore;

fn main() -> ExitCode {
    let args = BenchArgs::parse().workload;
    let make_store = || async { Ok::<_, Infallible>(MemoryStore::new()) };
    let outcome = match args.runtime() {
        Ok(runtime) => runtime.block_on(workload::run("memory", &args, make_store)),
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
