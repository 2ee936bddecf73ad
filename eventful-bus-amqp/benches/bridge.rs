//! Events/s and latency from an append in one service to its handling in another, over the
//! RabbitMQ at `EVENTFUL_AMQP_URI`: the source service appends one event per append as fast
//! as it can, its relay publishes each with a confirm, and 1 or more consumer instances of
//! the other service record each one in their shared store through an inbox.
//!
//! ```sh
//! EVENTFUL_AMQP_URI=amqp://guest:guest@127.0.0.1:5672/%2f \
//!     cargo bench -p eventful-bus-amqp --bench bridge -- --events 10000 --consumers 2
//! ```
//!
//! With `--rate N` the source appends N events a second instead of all at once: the latency
//! of a service that is not behind. A run whose events have not all arrived `--deadline-s`
//! seconds (300) after the first append fails, saying how many did.
//!
//! Latency is the time from the store recording the event to the consumer's handler having
//! recorded it in its own store (both clocks are this machine's). The last line reads
//! `RESULT name=amqp events=<N> consumers=<C> rate=<R> events_per_s=<x> p50_ms=<y> p99_ms=<z>`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use clap::Parser;
use eventful_bus_amqp::{AmqpSettings, Consumer, Inbox, Relay};
use eventful_core::repository::append_events;
use eventful_core::{
    BoxError, CommandContext, EventBus, EventFilter, EventHandler, EventStore, ExpectedVersion,
    RecordedEvent, StreamId, TypeName, Upcasters,
};
use eventful_store_memory::MemoryStore;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// Events/s and latency across the bridge
#[derive(Debug, Parser)]
struct Args {
    /// Events appended
    #[arg(long, default_value_t = 20_000)]
    events: u64,
    /// Consumer instances on the one queue
    #[arg(long, default_value_t = 1)]
    consumers: usize,
    /// Appends per second (0: as fast as the store takes them, a burst)
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Seconds the events may take to arrive, from the first append, before the run fails
    #[arg(long, default_value_t = 300)]
    deadline_s: u64,
    /// Cargo passes this to benches
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(eventful_core::Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct ScoreRecorded {
    player: u64,
    points: u64,
}

/// The inbox, and the time each event took to get here.
struct Timed {
    inbox: Inbox<MemoryStore>,
    latencies: Arc<Mutex<Vec<Duration>>>,
}

#[async_trait]
impl EventHandler for Timed {
    fn name(&self) -> &str {
        "timed_inbox"
    }

    fn filter(&self) -> EventFilter {
        self.inbox.filter()
    }

    async fn handle(&self, event: &RecordedEvent, upcasters: &Upcasters) -> Result<(), BoxError> {
        self.inbox.handle(event, upcasters).await?;
        let latency = (chrono::Utc::now() - event.recorded_at)
            .to_std()
            .unwrap_or_default();
        self.latencies.lock().push(latency);
        Ok(())
    }
}

/// Deletes the bench's queues and exchanges.
async fn clean_up(uri: &str, run: &str, queue: &str) {
    use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
    let Ok(connection) =
        lapin::Connection::connect(uri, lapin::ConnectionProperties::default()).await
    else {
        return;
    };
    if let Ok(channel) = connection.create_channel().await {
        for name in [queue.to_owned(), format!("{queue}.dead-letter")] {
            let _ = channel
                .queue_delete(name.as_str().into(), QueueDeleteOptions::default())
                .await;
        }
        for name in [
            format!("{run}.exchange"),
            format!("{run}.exchange.dead-letter"),
        ] {
            let _ = channel
                .exchange_delete(name.as_str().into(), ExchangeDeleteOptions::default())
                .await;
        }
    }
    let _ = connection.close(200, "bench done".into()).await;
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let Ok(uri) = std::env::var("EVENTFUL_AMQP_URI") else {
        eprintln!("EVENTFUL_AMQP_URI is not set: nothing to measure");
        return Ok(());
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let run = format!(
            "eventful-bench-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let settings = AmqpSettings::new(&uri)
            .with_exchange(format!("{run}.exchange"))
            .with_connection_name(&run);
        let queue = format!("{run}.receiver");
        let received = MemoryStore::new();
        let latencies = Arc::new(Mutex::new(Vec::new()));
        let mut consumers = Vec::new();
        for _ in 0..args.consumers {
            let mut consumer = Consumer::new(settings.clone(), queue.clone());
            consumer.handler(Timed {
                inbox: Inbox::new(received.clone()).receive::<ScoreRecorded>(),
                latencies: latencies.clone(),
            });
            consumers.push(consumer.start().await?);
        }

        let source = MemoryStore::new();
        let relay = Relay::builder(settings)
            .publish::<ScoreRecorded>()
            .connect()
            .await?;
        let mut bus = EventBus::new(source.clone(), source.clone());
        bus.handler(relay.clone());
        let publishing = bus.start()?;

        let started = Instant::now();
        let topic = TypeName::from_static("scores");
        let mut pace = (args.rate > 0)
            .then(|| tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate as f64)));
        for n in 0..args.events {
            if let Some(pace) = &mut pace {
                pace.tick().await;
            }
            let stream = StreamId::for_aggregate("scores", &(n % 1_000))?;
            let score = ScoreRecorded {
                player: n % 1_000,
                points: n,
            };
            append_events(
                &source,
                &stream,
                &topic,
                ExpectedVersion::Any,
                vec![score],
                &CommandContext::default(),
            )
            .await?;
        }
        let appended = started.elapsed();
        let deadline = started + Duration::from_secs(args.deadline_s);
        let arrived = loop {
            let head = received.head_position().await?;
            if head.get() >= args.events || Instant::now() >= deadline {
                break head.get();
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        let elapsed = started.elapsed();
        if arrived < args.events {
            // A relay still waiting on the broker would hold the bus's shutdown up.
            relay.close();
        }
        for consumer in consumers {
            consumer.shutdown().await;
        }
        publishing.shutdown().await;

        if arrived < args.events {
            clean_up(&uri, &run, &queue).await;
            return Err(format!(
                "{arrived} of {} events arrived within the deadline of {} s",
                args.events, args.deadline_s
            )
            .into());
        }
        let mut latencies = latencies.lock().clone();
        latencies.sort();
        let rate = args.events as f64 / elapsed.as_secs_f64();
        let ms = |duration: Duration| duration.as_secs_f64() * 1_000.0;
        println!(
            "appended {} events in {:.2}s; all handled after {:.2}s; {} relayed; {} handlings (redeliveries included)",
            args.events,
            appended.as_secs_f64(),
            elapsed.as_secs_f64(),
            relay.published(),
            latencies.len()
        );
        println!(
            "RESULT name=amqp events={} consumers={} rate={} events_per_s={rate:.0} p50_ms={:.1} p99_ms={:.1}",
            args.events,
            args.consumers,
            args.rate,
            ms(percentile(&latencies, 0.50)),
            ms(percentile(&latencies, 0.99))
        );
        clean_up(&uri, &run, &queue).await;
        Ok::<(), Box<dyn std::error::Error>>(())
    })?;
    Ok(())
}
