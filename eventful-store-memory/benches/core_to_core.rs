//! How long a cache line takes to go from one core to another on this machine: two threads
//! hand one atomic word back and forth, and a round trip is two transfers. Two tasks
//! appending to one memory store share the log's cache lines, so their figures depend on it
//! (docs/performance.md, "Two tasks and where the cores are"):
//! `cargo bench -p eventful-store-memory --bench core_to_core`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const ROUND_TRIPS: u64 = 2_000_000;

fn main() {
    let word = Arc::new(AtomicU64::new(0));
    let other = {
        let word = word.clone();
        std::thread::spawn(move || {
            for trip in 0..ROUND_TRIPS {
                while word.load(Ordering::Acquire) != 2 * trip + 1 {
                    std::hint::spin_loop();
                }
                word.store(2 * trip + 2, Ordering::Release);
            }
        })
    };
    let started = Instant::now();
    for trip in 0..ROUND_TRIPS {
        word.store(2 * trip + 1, Ordering::Release);
        while word.load(Ordering::Acquire) != 2 * trip + 2 {
            std::hint::spin_loop();
        }
    }
    let round_trip = started.elapsed().as_nanos() as f64 / ROUND_TRIPS as f64;
    if other.join().is_err() {
        eprintln!("the other thread panicked");
        std::process::exit(1);
    }
    println!(
        "core to core: {round_trip:.0} ns a round trip, {:.0} ns a cache line",
        round_trip / 2.0
    );
    println!("RESULT name=core_to_core round_trip_ns={round_trip:.0}");
}
