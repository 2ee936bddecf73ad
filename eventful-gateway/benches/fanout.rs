//! Fan-out bench: N WebSocket clients on loopback, each subscribed to its own player stream and
//! to one shared stream, while events are appended at a steady rate.
//!
//! ```sh
//! cargo bench -p eventful-gateway --bench fanout -- --clients 1000 --rate 100 --seconds 20
//! ```
//!
//! The gateway runs in a child process of its own (this program run with `--server`), so that
//! its CPU time and memory are read from `/proc` apart from the clients': memory per client is
//! the server's resident memory with every client connected and subscribed, less before any
//! connected, over N. Half the events go to the shared stream (every client gets them), half to
//! one player's stream each, round robin. Latency is from the append (a timestamp in the payload)
//! to the client reading the frame. The last line is for scripts:
//!
//! `RESULT name=gateway clients=N rate=R delivered_per_s=… p50_ms=… p99_ms=… server_cpu_percent=… server_kib_per_client=…`

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use eventful_core::{EventStore, ExpectedVersion, NewEvent, Payload, StreamId, TypeName};
use eventful_gateway::{Claims, Gateway, GatewaySettings, Rules, TokenVerifier};
use eventful_store_memory::MemoryStore;
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

const SECRET: &[u8] = b"bench secret";
const SHARED: &str = "arena-1";

struct Args {
    server: bool,
    clients: usize,
    rate: u64,
    seconds: u64,
}

fn args() -> Args {
    let mut parsed = Args {
        server: false,
        clients: 1000,
        rate: 100,
        seconds: 20,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || -> u64 {
            args.next()
                .and_then(|value| value.parse().ok())
                .unwrap_or_else(|| panic!("{arg} needs a number"))
        };
        match arg.as_str() {
            "--server" => parsed.server = true,
            "--clients" => parsed.clients = value() as usize,
            "--rate" => parsed.rate = value(),
            "--seconds" => parsed.seconds = value(),
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    parsed
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(if args.server { 1 } else { 2 })
        .enable_all()
        .build()
        .expect("a runtime");
    if args.server {
        runtime.block_on(server(args));
    } else {
        runtime.block_on(clients(args));
    }
}

/// The gateway on a memory store: prints its address, waits for `go` on stdin, appends at the
/// rate for the seconds asked, prints `done`, and exits at the end of stdin.
async fn server(args: Args) {
    let store = MemoryStore::new();
    let settings = GatewaySettings::new(
        TokenVerifier::hs256(SECRET).expect("a key"),
        Rules::own_stream("player"),
    );
    let gateway = Gateway::start(store.clone(), settings)
        .await
        .expect("starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    println!("listening {}", listener.local_addr().expect("bound"));
    let app = gateway.router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut lines = tokio::task::spawn_blocking(|| {
        let stdin = std::io::stdin();
        let mut line = String::new();
        stdin.lock().read_line(&mut line).expect("go");
        line
    });
    let _ = (&mut lines).await;
    let total = args.rate * args.seconds;
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let start = tokio::time::Instant::now();
    for n in 0..total {
        tokio::time::sleep_until(start + interval * n as u32).await;
        let stream = if n % 2 == 0 {
            SHARED.to_owned()
        } else {
            format!("player-{}", (n / 2) as usize % args.clients + 1)
        };
        let event = NewEvent::new(
            TypeName::from_static("bench"),
            TypeName::from_static("tick"),
            1,
            Payload::encode(&serde_json::json!({ "sent_ns": now_ns(), "n": n })).expect("encodes"),
        );
        store
            .append(
                &StreamId::new(&stream).expect("valid"),
                ExpectedVersion::Any,
                &[event],
            )
            .await
            .expect("appends");
    }
    println!("done {total}");
    tokio::task::spawn_blocking(|| {
        let mut rest = String::new();
        let _ = std::io::stdin().read_line(&mut rest);
    })
    .await
    .expect("stdin");
}

/// `(utime + stime)` ticks and resident KiB of process `pid`.
fn usage(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("comm")
        .1
        .split_whitespace()
        .collect();
    let ticks =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let rss = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    (ticks, rss)
}

async fn clients(args: Args) {
    let exe = std::env::current_exe().expect("this program");
    let mut child = Command::new(exe)
        .args(["--server", "--clients", &args.clients.to_string()])
        .args([
            "--rate",
            &args.rate.to_string(),
            "--seconds",
            &args.seconds.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let pid = child.id();
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("the address");
    let address = line
        .trim()
        .strip_prefix("listening ")
        .expect("listening")
        .to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, rss_before) = usage(pid);

    let latencies = Arc::new(parking_lot::Mutex::new(Vec::<u64>::new()));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(args.clients);
    // A watch, not a Notify: `notify_waiters` wakes only readers waiting at that instant, and
    // a reader busy with a frame then would wait on its socket for ever.
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let mut readers = Vec::new();
    for player in 1..=args.clients {
        let token = Claims::new(
            player.to_string(),
            chrono::Utc::now() + chrono::Duration::hours(1),
        )
        .with_stream(SHARED)
        .sign_hs256(SECRET)
        .expect("signs");
        let (mut socket, _) =
            tokio_tungstenite::connect_async(format!("ws://{address}/ws?token={token}"))
                .await
                .expect("connects");
        for (id, stream) in [
            ("me", format!("player-{player}")),
            ("arena", SHARED.to_owned()),
        ] {
            let frame =
                serde_json::json!({ "type": "subscribe", "id": id, "topic": { "stream": stream } });
            socket
                .send(Message::text(frame.to_string()))
                .await
                .expect("sent");
        }
        let (latencies, ready, mut stop) = (Arc::clone(&latencies), ready_tx.clone(), stop.clone());
        readers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut confirmed = 0;
            loop {
                let message = tokio::select! {
                    message = socket.next() => message,
                    _ = stop.wait_for(|stop| *stop) => break,
                };
                let Some(Ok(Message::Text(text))) = message else {
                    break;
                };
                let received = now_ns();
                let frame: serde_json::Value = serde_json::from_str(text.as_str()).expect("JSON");
                match frame["type"].as_str() {
                    Some("subscribed") => {
                        confirmed += 1;
                        if confirmed == 2 {
                            let _ = ready.send(()).await;
                        }
                    }
                    Some("event") => {
                        let sent = frame["event"]["payload"]["sent_ns"]
                            .as_u64()
                            .expect("sent_ns");
                        mine.push(received.saturating_sub(sent));
                    }
                    Some("closing") => panic!("closed: {frame}"),
                    _ => {}
                }
            }
            latencies.lock().extend(mine);
        }));
    }
    for _ in 0..args.clients {
        ready_rx.recv().await.expect("every client subscribed");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (ticks_before, rss_connected) = usage(pid);
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "go").expect("go");
    let started = Instant::now();
    line.clear();
    tokio::task::block_in_place(|| out.read_line(&mut line)).expect("done");
    let appended: u64 = line
        .trim()
        .strip_prefix("done ")
        .and_then(|n| n.parse().ok())
        .expect("done N");
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await; // the last frames in flight
    let (ticks_after, _) = usage(pid);
    stop_tx.send_replace(true);
    for reader in readers {
        reader.await.expect("a reader");
    }
    drop(stdin);
    let _ = child.wait();

    let mut latencies = std::mem::take(&mut *latencies.lock());
    latencies.sort_unstable();
    let expected = appended.div_ceil(2) * args.clients as u64 + appended / 2;
    let delivered = latencies.len() as u64;
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |&ns| ns as f64 / 1e6)
    };
    let ticks_per_s = 100.0; // USER_HZ on Linux
    let cpu_s = (ticks_after - ticks_before) as f64 / ticks_per_s;
    let seconds = elapsed.as_secs_f64();
    println!(
        "{} clients, {} events appended in {seconds:.1} s ({} per second, half to the shared stream)",
        args.clients, appended, args.rate
    );
    println!("delivered {delivered} of {expected} frames expected");
    println!(
        "server: {:.1} % of one core, {} KiB resident before clients, {} KiB with them",
        100.0 * cpu_s / (seconds + 2.0),
        rss_before,
        rss_connected
    );
    println!(
        "RESULT name=gateway clients={} rate={} delivered_per_s={:.0} p50_ms={:.2} p99_ms={:.2} server_cpu_percent={:.1} server_kib_per_client={:.1}",
        args.clients,
        args.rate,
        delivered as f64 / seconds,
        percentile(0.50),
        percentile(0.99),
        100.0 * cpu_s / (seconds + 2.0),
        (rss_connected.saturating_sub(rss_before)) as f64 / args.clients as f64,
    );
    assert_eq!(delivered, expected, "every frame delivered");
}
