//! `cargo run --example game_backend`: the player service and the game-session service on
//! one store and one bus, wired by policies:
//!
//! ```text
//! matchmaking_completed → session_started → game_world_initialize
//! (game server) → session_ended → game_completed × players → stats_updated → leveled_up
//!                                  game_completed → achievement_unlocked → stats_updated
//! player_disconnected → player_left (disconnected)
//! ```
//!
//! It tells the story of the run, shows the read models, rebuilds them from the log to show
//! they match, and replays one player to an earlier version.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use eventful_core::CheckpointStore;
use eventful_core::projection::{Projection, rebuild};
use eventful_core::swappable::Swappable;
use eventful_core::{
    CommandContext, EventBus, EventStore, Loaded, Position, RunningBus, SnapshotStore, Upcasters,
    Uuid, Version,
};
use eventful_store_memory::MemoryStore;

use crate::error::Error;
use crate::game_session::GameSessionService;
use crate::ids::{PlayerId, SessionId};
use crate::options::{Options, StoreChoice};
use crate::player::{Player, PlayerEvent, PlayerService};
use crate::read_models::{
    ActiveSession, ActiveSessions, Leaderboard, LeaderboardEntry, SessionHistory, SessionRecord,
};
use crate::simulation::{AchievementService, GameServer, MatchSimulator, email_of, name_of};
use crate::store::shared;
use crate::story::Story;

/// Chapters of the story printed; a longer run says how many it leaves out.
const CHAPTERS_TOLD: usize = 40;

/// Both services, the stand-ins around them and the read models, on one store and one bus.
pub struct Backend<S> {
    /// The store.
    pub store: S,
    /// The player service.
    pub players: PlayerService,
    /// The game-session service.
    pub sessions: GameSessionService,
    /// The game servers.
    pub game_server: GameServer,
    /// The read models the bus feeds.
    pub read_models: ReadModels,
    /// The bus, running; shared with the admin API of `--serve`.
    pub bus: Arc<RunningBus<S>>,
}

impl<S> Backend<S>
where
    S: EventStore + SnapshotStore + CheckpointStore + Clone + 'static,
{
    /// Wires everything on `store` and starts the bus.
    ///
    /// One store for everything: the read models (projections, volatile progress) are built
    /// again from the log at each start; the policies (durable progress in the store) resume
    /// where they were.
    pub fn start(store: S) -> Result<Self, Error> {
        let players = PlayerService::new(store.clone());
        let sessions = GameSessionService::new(store.clone());
        let game_server = GameServer::new(sessions.sessions().clone());
        let read_models = ReadModels::default();

        let mut bus = EventBus::new(store.clone(), store.clone());
        players.add_handlers(&mut bus)?;
        sessions.add_handlers(&mut bus);
        game_server.subscribe(&mut bus);
        bus.policy(AchievementService::new(shared(store.clone())));
        read_models.add_to(&mut bus);
        let bus = Arc::new(bus.start()?);
        Ok(Self {
            store,
            players,
            sessions,
            game_server,
            read_models,
            bus,
        })
    }

    /// Signs up players `1..=count`, as one request.
    pub async fn sign_up(&self, count: usize) -> Result<Vec<PlayerId>, Error> {
        let request = CommandContext::default().with_correlation_id(Uuid::new_v4());
        let mut roster = Vec::with_capacity(count);
        for id in (1..=count as u64).map(PlayerId) {
            self.players
                .sign_up(id, &name_of(id), &email_of(id), request.clone())
                .await?;
            roster.push(id);
        }
        Ok(roster)
    }

    /// Plays `matches` matches among `roster`, choices seeded by `seed`; all end but the
    /// last, which is still being played.
    pub async fn play(&self, roster: &[PlayerId], matches: usize, seed: u64) -> Result<(), Error> {
        let store = shared(self.store.clone());
        let sessions = self.sessions.sessions().clone();
        let mut simulator = MatchSimulator::new(seed, store, sessions, self.game_server.clone());
        for number in 1..=matches as u64 {
            let plan = simulator.plan(SessionId(number), roster, number < matches as u64);
            simulator.play(&plan, &*self.bus).await?;
        }
        Ok(())
    }
}

/// The backend's three read models.
#[derive(Clone, Default)]
pub struct ReadModels {
    /// Players by level and xp; swappable, so that the admin API of `--serve` rebuilds it
    /// into a fresh copy while this one serves reads (read it with `current()`).
    pub leaderboard: Swappable<Leaderboard>,
    /// The sessions running now.
    pub active_sessions: ActiveSessions,
    /// Each player's sessions.
    pub session_history: SessionHistory,
}

impl ReadModels {
    /// Adds the three to `bus`.
    pub fn add_to<S: EventStore + Clone + 'static>(&self, bus: &mut EventBus<S>) {
        bus.projection(self.leaderboard.clone())
            .projection(self.active_sessions.clone())
            .projection(self.session_history.clone());
    }

    /// Fresh read models built from the first event of `store` to its last, with
    /// [`rebuild`]; returns them and the position each reached.
    pub async fn rebuilt<S: EventStore + Clone + 'static>(
        store: &S,
    ) -> Result<(Self, Vec<(String, Position)>), Error> {
        let fresh = Self::default();
        let upcasters = Upcasters::new();
        let reached = vec![
            rebuilt_one(store, &upcasters, &fresh.leaderboard).await?,
            rebuilt_one(store, &upcasters, &fresh.active_sessions).await?,
            rebuilt_one(store, &upcasters, &fresh.session_history).await?,
        ];
        Ok((fresh, reached))
    }

    /// What they hold now.
    pub fn views(&self) -> ReadModelViews {
        ReadModelViews {
            standings: self.leaderboard.current().standings(),
            active_sessions: self.active_sessions.list(),
            histories: self.session_history.all(),
        }
    }
}

async fn rebuilt_one<S, P>(
    store: &S,
    upcasters: &Upcasters,
    read_model: &P,
) -> Result<(String, Position), Error>
where
    S: EventStore + Clone + 'static,
    P: Projection,
{
    let reached = rebuild(store, upcasters, read_model)
        .await
        .map_err(|source| Error::Rebuild {
            read_model: read_model.name().to_owned(),
            source,
        })?;
    Ok((read_model.name().to_owned(), reached))
}

/// What the read models hold, as plain values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadModelViews {
    /// The leaderboard, best first.
    pub standings: Vec<LeaderboardEntry>,
    /// The running sessions.
    pub active_sessions: Vec<ActiveSession>,
    /// Each player's sessions.
    pub histories: BTreeMap<PlayerId, Vec<SessionRecord>>,
}

/// A player as of an earlier version, next to the player now.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// Who.
    pub player_id: PlayerId,
    /// The player as of the earlier version ([`Repository::load_at`]).
    ///
    /// [`Repository::load_at`]: eventful_core::Repository::load_at
    pub earlier: Loaded<Player>,
    /// The player now.
    pub now: Loaded<Player>,
    /// The events between the two, by version.
    pub since: Vec<(Version, PlayerEvent)>,
}

/// What a run of the backend did.
#[derive(Debug, Clone)]
pub struct BackendReport {
    /// Players and matches simulated, and the store, for the heading.
    pub options: Options,
    /// Every event, by chapter.
    pub story: Story,
    /// The read models at the end.
    pub views: ReadModelViews,
    /// The read models built again from the log.
    pub rebuilt: ReadModelViews,
    /// The position each rebuilt read model reached.
    pub rebuilt_to: Vec<(String, Position)>,
    /// The leader, replayed to an earlier version.
    pub replay: Option<Replay>,
}

/// Runs the backend on the store `options` choose.
pub async fn run(options: Options) -> Result<BackendReport, Error> {
    match &options.store {
        StoreChoice::Memory => run_on(MemoryStore::new(), options).await,
        StoreChoice::Mongo { uri } => run_on(super::open_mongo(uri).await?, options).await,
    }
}

/// Runs the backend on `store`: sign-ups, matches, then the story, the read models, the
/// rebuild and the replay.
pub async fn run_on<S>(store: S, options: Options) -> Result<BackendReport, Error>
where
    S: EventStore + SnapshotStore + CheckpointStore + Clone + 'static,
{
    let backend = Backend::start(store)?;
    let roster = backend.sign_up(options.players).await?;
    backend.play(&roster, options.matches, options.seed).await?;
    backend.bus.wait_until_settled().await?;

    let story = Story::read(&backend.store).await?;
    let views = backend.read_models.views();
    let (rebuilt, rebuilt_to) = ReadModels::rebuilt(&backend.store).await?;
    let leader = views.standings.first().map(|entry| entry.player_id);
    let replay = match leader {
        Some(player_id) => Some(replay(&backend.players, player_id).await?),
        None => None,
    };
    backend.bus.stop().await;
    Ok(BackendReport {
        options,
        story,
        views,
        rebuilt: rebuilt.views(),
        rebuilt_to,
        replay,
    })
}

/// `player_id` now, and as of the version before their first level-up (or half their
/// history, if they never levelled up).
pub async fn replay(players: &PlayerService, player_id: PlayerId) -> Result<Replay, Error> {
    let repository = players.players();
    let history = repository.history(&player_id).await?;
    let first_level_up = history
        .iter()
        .find(|event| matches!(event.payload, PlayerEvent::LeveledUp { .. }));
    let earlier = match first_level_up {
        Some(event) => Version::new(event.version.get() - 1),
        None => Version::new(history.len() as u64 / 2),
    };
    let since = history
        .into_iter()
        .filter(|event| event.version > earlier)
        .map(|event| (event.version, event.payload))
        .collect();
    Ok(Replay {
        player_id,
        earlier: repository.load_at(&player_id, earlier).await?,
        now: repository.load(&player_id).await?,
        since,
    })
}

impl fmt::Display for BackendReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "eventful game backend: {} players, {} matches, on {}.",
            self.options.players,
            self.options.matches,
            super::store_name(&self.options.store)
        )?;
        writeln!(f, "\n== The story ==\n")?;
        write!(f, "{}", self.story.told(CHAPTERS_TOLD))?;
        writeln!(f, "\n== The read models ==")?;
        write!(f, "{}", self.views)?;
        writeln!(f, "\n== Rebuilt from the log ==\n")?;
        for (name, position) in &self.rebuilt_to {
            writeln!(
                f,
                "{name}: fresh copy fed from the first event to #{position}"
            )?;
        }
        let verdict = if self.rebuilt == self.views {
            "match the running read models."
        } else {
            "DIFFER from the running read models."
        };
        writeln!(
            f,
            "The rebuilt leaderboard, active sessions and histories {verdict}"
        )?;
        if let Some(replay) = &self.replay {
            writeln!(f, "\n== Replay ==\n")?;
            write!(f, "{replay}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ReadModelViews {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "\nLeaderboard (level, then xp):")?;
        for (rank, entry) in self.standings.iter().enumerate() {
            writeln!(
                f,
                "  {:>2}. {:<10} (player {:>2})  level {}  {:>5} xp",
                rank + 1,
                entry.name,
                entry.player_id,
                entry.level,
                entry.xp
            )?;
        }
        writeln!(f, "\nActive sessions:")?;
        if self.active_sessions.is_empty() {
            writeln!(f, "  none")?;
        }
        for session in &self.active_sessions {
            let players: Vec<_> = session.players.iter().copied().collect();
            writeln!(
                f,
                "  session {}: {} on {}, players {}",
                session.session_id,
                session.mode,
                session.map,
                crate::story::list(&players)
            )?;
        }
        writeln!(f, "\nSession history:")?;
        for (player_id, records) in &self.histories {
            let sessions: Vec<_> = records
                .iter()
                .map(|record| {
                    format!(
                        "session {} ({}): {}",
                        record.session_id, record.mode, record.outcome
                    )
                })
                .collect();
            writeln!(f, "  player {player_id:>2}: {}", sessions.join("; "))?;
        }
        Ok(())
    }
}

impl fmt::Display for Replay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let describe = |loaded: &Loaded<Player>| {
            let stats = &loaded.state.stats;
            format!(
                "level {}, xp {}, games played {}, wins {}, coins {}",
                stats.level, stats.xp, stats.games_played, stats.wins, stats.coins
            )
        };
        writeln!(
            f,
            "{} ({}) now, at version {}: {}",
            self.now.state.name,
            self.now.stream_id,
            self.now.version,
            describe(&self.now)
        )?;
        writeln!(
            f,
            "as of version {} (Repository::load_at): {}",
            self.earlier.version,
            describe(&self.earlier)
        )?;
        writeln!(f, "what happened since:")?;
        for (version, event) in &self.since {
            writeln!(f, "  v{version} {event}")?;
        }
        Ok(())
    }
}
