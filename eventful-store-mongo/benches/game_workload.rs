//! The game workload on the MongoDB store, beside the server's own ceiling:
//! `cargo bench -p eventful-store-mongo --bench game_workload -- --players 1000 --tasks 1`
//! with `EVENTFUL_MONGO_URI` set.
//!
//! The ceiling is single-document `insert_one` calls per second, one after another, on the
//! store's own connection pool and write concern: an append is one such insert in the
//! common case, so commands/s over that ceiling says how close the store comes to the server.

use std::time::{Duration, Instant};

use eventful_core::testing::workload::{
    self, WorkloadArgs, WorkloadError, peak_memory_bytes, result_line,
};
use eventful_core::{EventStore, ExpectedVersion, NewEvent, Payload, StreamId, TypeName};
use eventful_store_mongo::{MongoSettings, MongoStore};
use mongodb::bson::{Document, doc};

/// Inserts per ceiling round, and rounds (the median is reported).
const CEILING_INSERTS: u32 = 1_000;
const CEILING_ROUNDS: usize = 3;

fn main() {
    let args = match WorkloadArgs::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(2);
        }
    };
    let Ok(uri) = std::env::var("EVENTFUL_MONGO_URI") else {
        eprintln!(
            "skipped: set EVENTFUL_MONGO_URI (e.g. mongodb://127.0.0.1:27017/?directConnection=true) to run the workload on MongoDB"
        );
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::try_from(args.tasks).unwrap_or(1).clamp(1, 64))
        .enable_all()
        .build();
    let outcome = runtime
        .map_err(|error| error.to_string())
        .and_then(|runtime| runtime.block_on(run(&uri, &args)));
    if let Err(error) = outcome {
        eprintln!("workload failed: {error}");
        std::process::exit(1);
    }
}

async fn connect(uri: &str) -> Result<MongoStore, String> {
    let database = format!("eventful_bench_{}", uuid::Uuid::new_v4().simple());
    MongoStore::connect(MongoSettings::new(uri).with_database(database))
        .await
        .map_err(|error| error.to_string())
}

async fn run(uri: &str, args: &WorkloadArgs) -> Result<(), String> {
    let store = connect(uri).await?;
    let ceiling = insert_ceiling(&store).await?;
    let appends = append_rate(&store).await?;
    let commands = workload::run_commands(store.clone(), args.players, args.tasks)
        .await
        .map_err(|error| error.to_string())?;
    println!("commands: {commands}");
    let ratio = commands.commands_per_s() / ceiling;
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
    if let Some(peak) = peak_memory_bytes() {
        println!("peak memory: {:.1} MB", peak as f64 / 1e6);
    }
    drop_database(&store).await;

    let replay_store = connect(uri).await?;
    let replay = workload::run_replay(
        replay_store.clone(),
        args.replay_events,
        args.snapshot_every,
        args.replay_runs,
    )
    .await
    .map_err(|error: WorkloadError| error.to_string())?;
    println!("replay: {replay}");
    drop_database(&replay_store).await;
    println!(
        "{} insert_one_per_s={ceiling:.0} ratio={ratio:.2}",
        result_line("mongo", args, &commands, &replay)
    );
    Ok(())
}

/// Sequential single-document inserts per second through the store's client, with its write
/// concern: the median of a few rounds.
async fn insert_ceiling(store: &MongoStore) -> Result<f64, String> {
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
                .await
                .map_err(|error| error.to_string())?;
        }
        let elapsed = started.elapsed().max(Duration::from_nanos(1));
        rates.push(f64::from(CEILING_INSERTS) / elapsed.as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    Ok(rates[rates.len() / 2])
}

/// Single-event appends per second to fresh streams, straight to the store: what one append
/// costs on the server, without the repository around it.
async fn append_rate(store: &MongoStore) -> Result<f64, String> {
    let started = Instant::now();
    for n in 0..CEILING_INSERTS {
        let stream =
            StreamId::new(format!("append-rate-{n}")).map_err(|error| error.to_string())?;
        let event = NewEvent::new(
            TypeName::from_static("player"),
            TypeName::from_static("xp_gained"),
            1,
            Payload::from_json_slice(br#"{"amount":100}"#).map_err(|error| error.to_string())?,
        );
        store
            .append(&stream, ExpectedVersion::NoStream, vec![event])
            .await
            .map_err(|error| error.to_string())?;
    }
    Ok(f64::from(CEILING_INSERTS) / started.elapsed().as_secs_f64())
}

async fn drop_database(store: &MongoStore) {
    if let Err(error) = store.database().drop().await {
        eprintln!("could not drop the bench database: {error}");
    }
}
