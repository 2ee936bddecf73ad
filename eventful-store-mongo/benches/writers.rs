//! Many writers on one database: K writer processes (or K tasks in one process) each
//! appending single events with `Exact` to a stream of its own, beside the same server's
//! plain `insert_one` from the same number of writers, optionally through a TCP proxy that
//! adds a round-trip delay (a replica set's majority wait):
//!
//! ```text
//! cargo bench -p eventful-store-mongo --bench writers -- --writers 1,2,4,8 --seconds 5
//! cargo bench -p eventful-store-mongo --bench writers -- --writers 1,4 --delay-ms 5
//! ```
//!
//! with `EVENTFUL_MONGO_URI` set. Writer processes are this binary started again with
//! `--child`; they start together at a time the parent gives, run for the same time, and
//! print their latencies, which the parent merges: total appends/s, p50/p99, failures.

use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use eventful_core::{EventStore, ExpectedVersion, NewEvent, Payload, StreamId, TypeName, Version};
use eventful_store_mongo::{MongoSettings, MongoStore};
use mongodb::bson::{RawDocumentBuf, doc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Parser, Debug, Clone)]
#[command(about = "Appends/s from many writers on one MongoDB database")]
struct Args {
    /// The writer counts to measure, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
    writers: Vec<usize>,
    /// How long each measurement runs.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Round-trip delay a proxy adds in front of the server, in milliseconds (0: no proxy).
    #[arg(long, default_value_t = 0.0)]
    delay_ms: f64,
    /// Measure only processes, or only tasks in one process (default: both).
    #[arg(long)]
    only: Option<Layout>,
    /// Internal: run as one writer process.
    #[arg(long, hide = true)]
    child: Option<String>,
    /// Ignored (cargo bench passes it).
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Processes,
    Tasks,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Store,
    Insert,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Store => "store",
            Mode::Insert => "insert",
        }
    }
}

/// What one writer process or task did.
#[derive(Debug, Default)]
struct Tally {
    latencies_us: Vec<u64>,
    failures: u64,
    timeouts: u64,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        self.failures += other.failures;
        self.timeouts += other.timeouts;
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Ok(uri) = std::env::var("EVENTFUL_MONGO_URI") else {
        eprintln!(
            "skipped: set EVENTFUL_MONGO_URI (e.g. mongodb://127.0.0.1:27017/?directConnection=true) to run the writers bench"
        );
        return ExitCode::SUCCESS;
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start a runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match &args.child {
        Some(spec) => runtime.block_on(child(&uri, spec)),
        None => runtime.block_on(parent(&uri, &args)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("writers bench failed: {error}");
            ExitCode::FAILURE
        }
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn parent(uri: &str, args: &Args) -> Result<(), Error> {
    let target = uri.to_owned();
    let (uri, proxy) = if args.delay_ms > 0.0 {
        let (proxied, proxy) = delaying_proxy(&target, args.delay_ms).await?;
        (proxied, Some(proxy))
    } else {
        (target, None)
    };
    let database = format!("eventful_writers_{}", uuid::Uuid::new_v4().simple());
    let settings = MongoSettings::new(&uri).with_database(&database);
    // Connecting once makes the indexes and the counter, before any writer starts.
    let setup = MongoStore::connect(settings.clone()).await?;
    println!(
        "writers bench: {} s a run, {} round-trip delay, database {database}",
        args.seconds,
        if args.delay_ms > 0.0 {
            format!("{} ms", args.delay_ms)
        } else {
            "no".to_owned()
        }
    );
    println!("| layout | writers | mode | appends/s | p50 ms | p99 ms | failures | timeouts |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for layout in [Layout::Processes, Layout::Tasks] {
        if args.only.is_some_and(|only| only != layout) {
            continue;
        }
        for &writers in &args.writers {
            for mode in [Mode::Store, Mode::Insert] {
                let tally = match layout {
                    Layout::Processes => {
                        processes(&uri, &database, writers, mode, args.seconds).await?
                    }
                    Layout::Tasks => {
                        let start = start_time(Duration::from_millis(500));
                        tasks(&settings, writers, mode, args.seconds, start).await?
                    }
                };
                report(layout, writers, mode, args.seconds, tally);
            }
        }
    }
    setup.database().drop().await?;
    drop(proxy);
    Ok(())
}

fn report(layout: Layout, writers: usize, mode: Mode, seconds: f64, mut tally: Tally) {
    tally.latencies_us.sort_unstable();
    let quantile = |q: f64| {
        let samples = &tally.latencies_us;
        if samples.is_empty() {
            return 0.0;
        }
        let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[index] as f64 / 1000.0
    };
    println!(
        "| {} | {writers} | {} | {:.0} | {:.2} | {:.2} | {} | {} |",
        match layout {
            Layout::Processes => "processes",
            Layout::Tasks => "tasks in one process",
        },
        mode.name(),
        tally.latencies_us.len() as f64 / seconds,
        quantile(0.5),
        quantile(0.99),
        tally.failures,
        tally.timeouts,
    );
}

/// A wall-clock time `after` from now, in milliseconds since the epoch: when writers start.
fn start_time(after: Duration) -> u128 {
    (SystemTime::now() + after)
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis())
}

async fn wait_until(start_ms: u128) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    if start_ms > now {
        let wait = u64::try_from(start_ms - now).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
}

async fn processes(
    uri: &str,
    database: &str,
    writers: usize,
    mode: Mode,
    seconds: f64,
) -> Result<Tally, Error> {
    let exe = std::env::current_exe()?;
    // Long enough for every process to start and connect.
    let start = start_time(Duration::from_millis(1500 + 100 * writers as u64));
    let mut children = Vec::new();
    for writer in 0..writers {
        let spec = format!("{database},{},{writer},{seconds},{start}", mode.name());
        children.push(
            Command::new(&exe)
                .arg("--child")
                .arg(spec)
                .env("EVENTFUL_MONGO_URI", uri)
                .stdout(Stdio::piped())
                .spawn()?,
        );
    }
    let mut tally = Tally::default();
    for child in children {
        let output = tokio::task::spawn_blocking(move || child.wait_with_output()).await??;
        if !output.status.success() {
            return Err(format!("a writer process failed: {}", output.status).into());
        }
        tally.merge(parse_tally(&String::from_utf8_lossy(&output.stdout))?);
    }
    Ok(tally)
}

/// `latencies_us` comma separated, then failures and timeouts, one line each.
fn parse_tally(output: &str) -> Result<Tally, Error> {
    let mut lines = output.lines();
    let latencies_us = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .filter(|part| !part.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let failures = lines.next().unwrap_or("0").parse()?;
    let timeouts = lines.next().unwrap_or("0").parse()?;
    Ok(Tally {
        latencies_us,
        failures,
        timeouts,
    })
}

async fn child(uri: &str, spec: &str) -> Result<(), Error> {
    let parts: Vec<&str> = spec.split(',').collect();
    let [database, mode, writer, seconds, start] = parts[..] else {
        return Err(format!("bad child spec {spec:?}").into());
    };
    let mode = if mode == "store" {
        Mode::Store
    } else {
        Mode::Insert
    };
    let settings = MongoSettings::new(uri).with_database(database);
    let tally = tasks(&settings, 1, mode, seconds.parse()?, start.parse()?)
        .await
        .map_err(|error| format!("writer {writer}: {error}"))?;
    let latencies: Vec<String> = tally.latencies_us.iter().map(u64::to_string).collect();
    println!("{}", latencies.join(","));
    println!("{}", tally.failures);
    println!("{}", tally.timeouts);
    Ok(())
}

/// `writers` tasks on one store (one connection pool), each appending (or inserting) one
/// event at a time to a stream of its own for `seconds` from `start`.
async fn tasks(
    settings: &MongoSettings,
    writers: usize,
    mode: Mode,
    seconds: f64,
    start: u128,
) -> Result<Tally, Error> {
    let store = MongoStore::connect(settings.clone()).await?;
    let plain = store
        .database()
        .collection::<RawDocumentBuf>("plain_inserts");
    // Warm the pool and the counter before the clock starts.
    store
        .append(
            &StreamId::new(format!("warm-{}", uuid::Uuid::new_v4().simple()))?,
            ExpectedVersion::NoStream,
            &[event()],
        )
        .await?;
    wait_until(start).await;
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let store = Arc::new(store);
    let mut handles = Vec::new();
    for _ in 0..writers {
        let store = store.clone();
        let plain = plain.clone();
        handles.push(tokio::spawn(async move {
            let stream = StreamId::new(format!("writer-{}", uuid::Uuid::new_v4().simple()))
                .expect("a valid stream id");
            let mut tally = Tally::default();
            let mut version = 0;
            while Instant::now() < until {
                let began = Instant::now();
                let outcome = match mode {
                    Mode::Store => store
                        .append(
                            &stream,
                            ExpectedVersion::Exact(Version::new(version)),
                            &[event()],
                        )
                        .await
                        .map(drop)
                        .map_err(|error| {
                            matches!(error, eventful_core::StoreError::Timeout { .. })
                        }),
                    Mode::Insert => plain
                        .insert_one(plain_document(&stream, version))
                        .await
                        .map(drop)
                        .map_err(|_| false),
                };
                match outcome {
                    Ok(()) => {
                        version += 1;
                        let micros = began.elapsed().as_micros();
                        tally
                            .latencies_us
                            .push(u64::try_from(micros).unwrap_or(u64::MAX));
                    }
                    Err(timeout) => {
                        tally.failures += 1;
                        tally.timeouts += u64::from(timeout);
                    }
                }
            }
            tally
        }));
    }
    let mut tally = Tally::default();
    for handle in handles {
        tally.merge(handle.await?);
    }
    Ok(tally)
}

fn event() -> NewEvent {
    NewEvent::new(
        TypeName::from_static("player"),
        TypeName::from_static("xp_gained"),
        1,
        Payload::from_json_slice(br#"{"amount":25,"reason":"match"}"#).expect("valid JSON"),
    )
}

/// A document of about an append's size, for the plain inserts.
fn plain_document(stream: &StreamId, version: u64) -> RawDocumentBuf {
    let document = doc! {
        "stream_id": stream.as_str(),
        "version": i64::try_from(version).unwrap_or(i64::MAX),
        "event_id": uuid::Uuid::now_v7().to_string(),
        "payload": { "amount": 25, "reason": "match" },
    };
    RawDocumentBuf::from_document(&document).expect("a document")
}

/// A TCP proxy in front of the server named by `uri` that delays every chunk by half of
/// `delay_ms` each way (a whole round trip of `delay_ms`), keeping order and letting chunks
/// overlap in flight: the URI to use instead, and the task serving it.
async fn delaying_proxy(
    uri: &str,
    delay_ms: f64,
) -> Result<(String, tokio::task::JoinHandle<()>), Error> {
    let rest = uri
        .strip_prefix("mongodb://")
        .ok_or("the delaying proxy needs a mongodb:// URI")?;
    let (authority, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let (credentials, hosts) = match authority.rsplit_once('@') {
        Some((credentials, hosts)) => (format!("{credentials}@"), hosts),
        None => (String::new(), authority),
    };
    if hosts.contains(',') {
        return Err("the delaying proxy fronts one server, not a host list".into());
    }
    let server = hosts.to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let one_way = Duration::from_secs_f64(delay_ms / 2000.0);
    let serving = tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = server.clone();
            tokio::spawn(async move {
                let Ok(upstream) = TcpStream::connect(&server).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = upstream.set_nodelay(true);
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = upstream.into_split();
                tokio::join!(
                    delay_line(client_read, server_write, one_way),
                    delay_line(server_read, client_write, one_way),
                );
            });
        }
    });
    let separator = if tail.contains("directConnection") {
        ""
    } else if tail.contains('?') {
        "&directConnection=true"
    } else {
        "?directConnection=true"
    };
    let tail = if tail.is_empty() {
        format!("/{separator}")
    } else {
        format!("/{tail}{separator}")
    };
    Ok((format!("mongodb://{credentials}{address}{tail}"), serving))
}

/// Copies `from` to `to`, each chunk delivered `delay` after it was read.
async fn delay_line(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reading = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => {
                    if sender
                        .send((Instant::now() + delay, buffer[..read].to_vec()))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    };
    let writing = async move {
        while let Some((due, chunk)) = receiver.recv().await {
            tokio::time::sleep_until(due.into()).await;
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reading, writing);
}
