//! The game workload on the MongoDB store, beside the server's own ceiling:
//! `cargo bench -p eventful-store-mongo --bench game_workload -- --players 1000 --tasks 1`
//! with `EVENTFUL_MONGO_URI` set.
//!
//! The ceiling is single-document `insert_one` calls per second, one after another, on the
//! store's own connection pool and write concern: an append is one such insert in the
//! common case, so commands/s over that ceiling says how close the store comes to the server.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use eventful_core::testing::workload::{self, BenchArgs, WorkloadArgs, WorkloadReport};
use eventful_core::{BoxError, EventStore, ExpectedVersion, NewEvent, Payload, StreamId, TypeName};
use eventful_store_mongo::{MongoSettings, MongoStore, MongoStoreError};
use mongodb::bson::{Document, doc};
use parking_lot::Mutex;

/// Inserts per ceiling round, and rounds (the median is reported).
const CEILING_INSERTS: u32 = 1_000;
const CEILING_ROUNDS: usize = 3;

fn main() -> ExitCode {
    let args = BenchArgs::parse().workload;
    let Ok(uri) = std::env::var("EVENTFUL_MONGO_URI") else {
        eprintln!(
            "skipped: set EVENTFUL_MONGO_URI (e.g. mongodb://127.0.0.1:27017/?directConnection=true) to run the workload on MongoDB"
        );
        return ExitCode::SUCCESS;
    };
    let outcome = match args.runtime() {
        Ok(runtime) => runtime.block_on(run(&uri, &args)),
        Err(error) => Err(error.into()),
    };
    match outcome {
        Ok(report) => {
            print!("{}", report.with_peak_memory(workload::peak_memory_bytes()));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("workload failed: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn connect(uri: &str) -> Result<MongoStore, MongoStoreError> {
    let database = format!("eventful_bench_{}", uuid::Uuid::new_v4().simple());
    MongoStore::connect(MongoSettings::new(uri).with_database(database)).await
}

/// The server's ceiling on a store of its own, then the workload on a database per run,
/// each dropped afterwards.
async fn run(uri: &str, args: &WorkloadArgs) -> Result<WorkloadReport, BoxError> {
    let store = connect(uri).await?;
    let ceiling = insert_ceiling(&store).await;
    let appends = append_rate(&store).await;
    drop_database(&store).await;
    let (ceiling, appends) = (ceiling?, appends?);

    let made = Mutex::new(Vec::new());
    let report = {
        let made = &made;
        workload::run("mongo", args, move || async move {
            let store = connect(uri).await?;
            made.lock().push(store.clone());
            Ok::<_, MongoStoreError>(store)
        })
        .await
    };
    for store in made.into_inner() {
        drop_database(&store).await;
    }
    let report = report?;
    let ratio = report.commands.commands_per_s() / ceiling;
    println!(
        "server ceiling: {ceiling:.0} insert_one calls/s on the same connection (median of \
         {CEILING_ROUNDS} x {CEILING_INSERTS}); commands/s is {:.0}% of it",
        ratio * 100.0
    );
    println!(
        "store appends: {appends:.0} single-event appends/s to new streams, outside the repository \
         ({:.0}% of the ceiling)",
        appends / ceiling * 100.0
    );
    Ok(report
        .with_result_field("insert_one_per_s", format_args!("{ceiling:.0}"))
        .with_result_field("ratio", format_args!("{ratio:.2}")))
}

/// Sequential single-document inserts per second through the store's client, with its write
/// concern: the median of a few rounds.
async fn insert_ceiling(store: &MongoStore) -> Result<f64, mongodb::error::Error> {
    let collection = store.database().collection_with_options::<Document>(
        "insert_ceiling",
        mongodb::options::CollectionOptions::builder()
            .write_concern(store.settings().write_concern().clone())
            .build(),
    );
    let mut rates = Vec::with_capacity(CEILING_ROUNDS);
    let mut next_id = 0_i64;
    for _ in 0..CEILING_ROUNDS {
        let started = Instant::now();
        for _ in 0..CEILING_INSERTS {
            next_id += 1;
            collection
                .insert_one(doc! { "_id": next_id, "stream_id": "ceiling", "n": next_id })
                .await?;
        }
        let elapsed = started.elapsed().max(Duration::from_nanos(1));
        rates.push(f64::from(CEILING_INSERTS) / elapsed.as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    Ok(rates[rates.len() / 2])
}

/// Single-event appends per second to fresh streams, straight to the store: what one append
/// costs on the server, without the repository around it.
async fn append_rate(store: &MongoStore) -> Result<f64, BoxError> {
    let started = Instant::now();
    for n in 0..CEILING_INSERTS {
        let stream = StreamId::new(format!("append-rate-{n}"))?;
        let event = NewEvent::new(
            TypeName::from_static("player"),
            TypeName::from_static("xp_gained"),
            1,
            Payload::from_json_slice(br#"{"amount":100}"#)?,
        );
        store
            .append(&stream, ExpectedVersion::NoStream, &[event])
            .await?;
    }
    Ok(f64::from(CEILING_INSERTS) / started.elapsed().as_secs_f64())
}

async fn drop_database(store: &MongoStore) {
    if let Err(error) = store.database().drop().await {
        eprintln!("could not drop the bench database: {error}");
    }
}
