//! `cargo run --example game_backend -- --serve 127.0.0.1:8080`: the backend kept running —
//! matches keep being made, played and scored — with the live gateway and a page that shows a
//! player's xp, level-ups, achievements and sessions as they happen, and the leaderboard move.
//!
//! | module | what lives there |
//! | --- | --- |
//! | [`app`] | [`router`]: the one [`Router`](axum::Router) of the page, the demo login and the gateway; merge more routes there |
//! | [`access`] | what a player's token may follow: own stream, own sessions, public types |
//! | [`leaderboard`] | the public `leaderboard_changed` feed, published after each match |
//! | [`operations`] | `/metrics`, `/health/*` and the admin API under `/admin`, behind its token |

pub mod access;
pub mod app;
pub mod leaderboard;
pub mod operations;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use eventful_core::{CheckpointStore, EventStore, SnapshotStore};
use eventful_gateway::{Gateway, GatewaySettings, TokenVerifier};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::Error;
use crate::ids::SessionId;
use crate::player::PlayerRepository;
use crate::programs::game_backend::Backend;
use crate::simulation::{MatchSimulator, name_of};
use crate::store::shared;

use self::access::BackendAccess;
use self::app::{DEMO_SECRET, Live, router};
use self::leaderboard::LeaderboardFeed;

/// How `--serve` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeSettings {
    /// Where to listen (port 0: any free port).
    pub address: SocketAddr,
    /// How many players sign up.
    pub players: usize,
    /// Seeds the matches.
    pub seed: u64,
    /// The pause before each match.
    pub match_pause: Duration,
}

/// The backend being served: stop it with [`Serving::stop`].
pub struct Serving {
    /// Where it listens.
    pub address: SocketAddr,
    /// The player repository, for commands from outside the matches (a test's xp gain).
    pub players: Arc<PlayerRepository>,
    /// The admin API's token ([`operations::ADMIN_TOKEN_ENV`], or one made at start).
    pub admin_token: String,
    gateway: Gateway,
    stop: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    matches: JoinHandle<Result<u64, Error>>,
}

/// What a served run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeReport {
    /// Where it listened.
    pub address: SocketAddr,
    /// Matches played.
    pub matches: u64,
}

impl fmt::Display for ServeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "eventful game backend served on http://{}/: {} matches played, every client closed.",
            self.address, self.matches
        )
    }
}

/// Starts the backend on `store`, signs the players up, and serves the page and the gateway;
/// matches are played until [`Serving::stop`].
pub async fn start<S>(store: S, settings: &ServeSettings) -> Result<Serving, Error>
where
    S: EventStore + SnapshotStore + CheckpointStore + Clone + 'static,
{
    // Before anything records: handles taken earlier would record nowhere.
    let metrics = operations::prometheus()?;
    let (admin_token, admin_token_text) = operations::admin_token()?;
    let backend = Backend::start(store.clone())?;
    let roster = backend.sign_up(settings.players).await?;
    backend.bus.wait_until_settled().await?;
    let access = BackendAccess::new(backend.sessions.sessions().clone());
    let verifier = TokenVerifier::hs256(DEMO_SECRET).map_err(Error::Token)?;
    let gateway = Gateway::start(store.clone(), GatewaySettings::new(verifier, access)).await?;
    let live = Live {
        gateway: gateway.clone(),
        players: Arc::new(roster.iter().map(|&id| (id, name_of(id))).collect()),
        leaderboard: backend.read_models.leaderboard.clone(),
    };
    let listener = tokio::net::TcpListener::bind(settings.address)
        .await
        .map_err(|source| Error::Serve {
            address: settings.address,
            source,
        })?;
    let address = listener.local_addr().map_err(|source| Error::Serve {
        address: settings.address,
        source,
    })?;
    let (stop, stopped) = watch::channel(false);
    let server = {
        let mut stopped = stopped.clone();
        let app = router(&live).merge(operations::router(
            store.clone(),
            backend.bus.clone(),
            &backend.read_models,
            &metrics,
            admin_token,
        ));
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                })
                .await
        })
    };
    let players = backend.players.players().clone();
    let matches = tokio::spawn(play_until_stopped(
        backend,
        roster,
        settings.clone(),
        stopped,
    ));
    Ok(Serving {
        address,
        players,
        admin_token: admin_token_text,
        gateway,
        stop,
        server,
        matches,
    })
}

/// Plays a match after each pause until `stopped`, publishing the leaderboard after each;
/// then stops the bus. Returns how many matches were played.
async fn play_until_stopped<S>(
    backend: Backend<S>,
    roster: Vec<crate::ids::PlayerId>,
    settings: ServeSettings,
    mut stopped: watch::Receiver<bool>,
) -> Result<u64, Error>
where
    S: EventStore + SnapshotStore + CheckpointStore + Clone + 'static,
{
    let store = shared(backend.store.clone());
    let mut feed = LeaderboardFeed::new(backend.read_models.leaderboard.clone(), store.clone());
    feed.publish_if_moved().await?;
    let sessions = backend.sessions.sessions().clone();
    let mut simulator =
        MatchSimulator::new(settings.seed, store, sessions, backend.game_server.clone());
    let mut played = 0;
    loop {
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => break,
            () = tokio::time::sleep(settings.match_pause) => {}
        }
        let plan = simulator.plan(SessionId(played + 1), &roster, true);
        simulator.play(&plan, &*backend.bus).await?;
        played += 1;
        feed.publish_if_moved().await?;
    }
    backend.bus.stop().await;
    Ok(played)
}

impl Serving {
    /// Stops the matches, closes every client with `reason`, stops serving.
    pub async fn stop(mut self, reason: &str) -> Result<ServeReport, Error> {
        self.stop.send_replace(true);
        let matches = self.matches.await??;
        self.gateway.shutdown(reason).await;
        // axum's graceful shutdown waits for every HTTP connection, and one whose client
        // stopped reading (an SSE stream the gateway has already dropped) never ends.
        match tokio::time::timeout(SERVER_DRAIN, &mut self.server).await {
            Ok(served) => served?.map_err(|source| Error::Serve {
                address: self.address,
                source,
            })?,
            Err(_) => self.server.abort(),
        }
        Ok(ServeReport {
            address: self.address,
            matches,
        })
    }
}

/// Serves `store` until Ctrl-C.
pub async fn run<S>(store: S, settings: &ServeSettings) -> Result<ServeReport, Error>
where
    S: EventStore + SnapshotStore + CheckpointStore + Clone + 'static,
{
    let serving = start(store, settings).await?;
    eprintln!(
        "game backend live on http://{}/ (gateway: ws://{0}/live/ws, http://{0}/live/sse); Ctrl-C stops it",
        serving.address
    );
    eprintln!(
        "operations: http://{0}/metrics, http://{0}/health/ready, admin API under http://{0}/admin/",
        serving.address
    );
    // A token given in the environment is the operator's already; one made here is said once.
    if std::env::var_os(operations::ADMIN_TOKEN_ENV).is_none() {
        eprintln!(
            "admin token (set {} to choose it): {}",
            operations::ADMIN_TOKEN_ENV,
            serving.admin_token
        );
    }
    let _ = tokio::signal::ctrl_c().await;
    serving.stop("the game backend is stopping").await
}

/// What `game_backend` did: a run told from start to end, or a served run.
#[derive(Debug)]
pub enum BackendRun {
    /// Without `--serve`.
    Told(Box<crate::programs::game_backend::BackendReport>),
    /// With `--serve`.
    Served(ServeReport),
}

impl fmt::Display for BackendRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Told(report) => report.fmt(f),
            Self::Served(report) => report.fmt(f),
        }
    }
}

/// How long the server may take to finish its connections once the gateway has closed every
/// client.
pub(crate) const SERVER_DRAIN: Duration = Duration::from_secs(5);

/// How long the served backend waits before each match: slow enough to watch.
pub const MATCH_PAUSE: Duration = Duration::from_millis(1500);

/// The `game_backend` program: [`game_backend::run`](crate::programs::game_backend::run), or
/// with `--serve`, [`run`] on the store the options choose.
pub async fn game_backend(options: crate::options::Options) -> Result<BackendRun, Error> {
    let Some(address) = options.serve else {
        let report = crate::programs::game_backend::run(options).await?;
        return Ok(BackendRun::Told(Box::new(report)));
    };
    let settings = ServeSettings {
        address,
        players: options.players,
        seed: options.seed,
        match_pause: MATCH_PAUSE,
    };
    let report = match &options.store {
        crate::options::StoreChoice::Memory => {
            run(eventful_store_memory::MemoryStore::new(), &settings).await?
        }
        crate::options::StoreChoice::Mongo { uri } => {
            run(crate::programs::open_mongo(uri).await?, &settings).await?
        }
    };
    Ok(BackendRun::Served(report))
}
