//! The game workload on the memory store:
//! `cargo bench -p eventful-store-memory --bench game_workload -- --players 10000 --tasks 1`.

use eventful_store_memory::MemoryStore;

fn main() {
    eventful_core::testing::workload::main("memory", || async { MemoryStore::new() });
}
