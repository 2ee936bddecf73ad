//! The game workload on the memory store, shared by the bench binaries that differ in their
//! global allocator only.

use std::convert::Infallible;
use std::process::ExitCode;

use clap::Parser;
use eventful_core::testing::workload::{self, BenchArgs, peak_memory_bytes};
use eventful_store_memory::MemoryStore;

/// Runs the workload the command line asks for, and prints its report.
pub(crate) fn main() -> ExitCode {
    let args = BenchArgs::parse().workload;
    let make_store =
        || async { Ok::<_, Infallible>(MemoryStore::with_payload_format(args.payload_format)) };
    let outcome = match args.runtime() {
        Ok(runtime) => runtime.block_on(workload::run("memory", &args, make_store)),
        Err(error) => Err(error.into()),
    };
    match outcome {
        Ok(report) => {
            println!("payload format: {}", args.payload_format);
            print!("{}", report.with_peak_memory(peak_memory_bytes()));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("workload failed: {error}");
            ExitCode::FAILURE
        }
    }
}
