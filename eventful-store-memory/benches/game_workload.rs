//! The game workload on the memory store, with the system's allocator:
//! `cargo bench -p eventful-store-memory --bench game_workload -- --players 10000 --tasks 1`
//! (`-- --help` for the options; `--keyed-long-stream` adds keyed commands on a long stream,
//! `--payload-format postcard` writes the events in postcard instead of JSON).
//! `game_workload_mimalloc` is the same with mimalloc as the global allocator.

mod workload;

fn main() -> std::process::ExitCode {
    workload::main()
}
