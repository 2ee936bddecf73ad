//! `cargo run --example game_session`: the game-session service alone. Matchmaking starts
//! sessions, players join late or drop out, game servers end sessions with scores, and the
//! service announces starts and results to whoever listens; then it is asked to do what its
//! rules forbid.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use chrono::Utc;
use eventful_core::CheckpointStore;
use eventful_core::{
    BoxError, CommandError, EventBus, EventStore, Loaded, Position, RecordedEvent,
};
use eventful_store_memory::MemoryStore;
use parking_lot::Mutex;

use crate::error::Error;
use crate::game_mode::{GameMode, GameSettings};
use crate::game_session::{EndReason, GameSession, GameSessionCommand, GameSessionService};
use crate::ids::{PlayerId, SessionId};
use crate::options::{Options, StoreChoice};
use crate::simulation::{GameServer, MatchSimulator};
use crate::store::shared;
use crate::story::Story;

/// A command the rules refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// What was asked.
    pub attempt: String,
    /// The error, as it reads; `None` if the command was accepted after all.
    pub error: Option<String>,
}

/// What a run of the game-session service did.
#[derive(Debug, Clone)]
pub struct GameSessionReport {
    /// Players and matches simulated, and the store.
    pub options: Options,
    /// Every event, by chapter.
    pub story: Story,
    /// Every session at the end.
    pub sessions: Vec<Loaded<GameSession>>,
    /// How many events of each announced type the by-name subscriber saw.
    pub announced: BTreeMap<String, usize>,
    /// The refused commands.
    pub rejections: Vec<Rejection>,
    /// The store's head before and after the refused commands.
    pub head_around_rejections: (Position, Position),
}

/// Runs the service on the store `options` choose.
pub async fn run(options: Options) -> Result<GameSessionReport, Error> {
    match &options.store {
        StoreChoice::Memory => run_on(MemoryStore::new(), options).await,
        StoreChoice::Mongo { uri } => run_on(super::open_mongo(uri).await?, options).await,
    }
}

/// Runs the service on `store`.
pub async fn run_on<S>(store: S, options: Options) -> Result<GameSessionReport, Error>
where
    S: EventStore + CheckpointStore + Clone + 'static,
{
    let service = GameSessionService::new(store.clone());
    let game_server = GameServer::new(service.sessions().clone());
    let announced = Arc::new(Mutex::new(BTreeMap::new()));

    let mut bus = EventBus::new(store.clone(), store.clone());
    service.add_handlers(&mut bus);
    game_server.subscribe(&mut bus);
    // What the other services would receive, read by stored name: no Rust type needed.
    let seen = announced.clone();
    bus.subscribe_named(
        ["game_world_initialize", "game_completed"],
        "announcements",
        move |event: RecordedEvent| {
            let seen = seen.clone();
            async move {
                *seen.lock().entry(event.event_type.to_string()).or_insert(0) += 1;
                Ok::<(), BoxError>(())
            }
        },
    );
    let bus = bus.start()?;

    let roster: Vec<_> = (1..=options.players as u64).map(PlayerId).collect();
    let mut simulator = MatchSimulator::new(
        options.seed,
        shared(store.clone()),
        service.sessions().clone(),
        game_server,
    );
    let matches = options.matches as u64;
    for number in 1..=matches {
        let plan = simulator.plan(SessionId(number), &roster, number < matches);
        simulator.play(&plan, &bus).await?;
    }
    bus.wait_until_settled().await?;

    let before = store.head_position().await?;
    let rejections = refused_commands(&service, matches).await?;
    let after = store.head_position().await?;

    let story = Story::read(&store).await?;
    let mut sessions = Vec::new();
    for number in 1..=matches {
        sessions.push(service.sessions().load(&SessionId(number)).await?);
    }
    bus.shutdown().await;
    let announced = announced.lock().clone();
    Ok(GameSessionReport {
        options,
        story,
        sessions,
        announced,
        rejections,
        head_around_rejections: (before, after),
    })
}

/// Asks for what the rules forbid: an empty start, a double join, a join or an end after the
/// end, the end of a session that does not exist.
async fn refused_commands(
    service: &GameSessionService,
    matches: u64,
) -> Result<Vec<Rejection>, Error> {
    let mut attempts = vec![(
        "start session 100 with nobody".to_owned(),
        GameSessionCommand::Start {
            session_id: SessionId(100),
            players: Vec::new(),
            mode: GameMode::Casual,
            settings: GameSettings {
                map: "harbor".into(),
                max_players: 4,
                time_limit_minutes: 20,
            },
            started_at: Utc::now(),
        },
    )];
    let running = service.sessions().load(&SessionId(matches)).await?.state;
    if let GameSession::InProgress(details) = running
        && let Some(player_id) = details.players.first()
    {
        attempts.push((
            format!("player {player_id} joins session {matches}, which they are in"),
            GameSessionCommand::Join {
                session_id: SessionId(matches),
                player_id: *player_id,
            },
        ));
    }
    if matches > 1 {
        attempts.push((
            "player 1 joins session 1, which has ended".to_owned(),
            GameSessionCommand::Join {
                session_id: SessionId(1),
                player_id: PlayerId(1),
            },
        ));
        attempts.push(("end session 1 again".to_owned(), end(SessionId(1))));
    }
    attempts.push((
        "end session 99, which never started".to_owned(),
        end(SessionId(99)),
    ));

    let mut rejections = Vec::new();
    for (attempt, command) in attempts {
        match service.sessions().execute(command).await {
            Err(error @ CommandError::Rejected { .. }) => rejections.push(Rejection {
                attempt,
                error: Some(error.to_string()),
            }),
            Err(error) => return Err(error.into()),
            Ok(_) => rejections.push(Rejection {
                attempt,
                error: None,
            }),
        }
    }
    Ok(rejections)
}

fn end(session_id: SessionId) -> GameSessionCommand {
    GameSessionCommand::End {
        session_id,
        final_scores: Vec::new(),
        ended_at: Utc::now(),
        reason: EndReason::Abandoned,
    }
}

impl fmt::Display for GameSessionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "eventful game-session service: {} players, {} matches, on {}.",
            self.options.players,
            self.options.matches,
            super::store_name(&self.options.store)
        )?;
        writeln!(f, "\n== The story ==\n")?;
        write!(f, "{}", self.story)?;
        writeln!(f, "\n== The sessions ==\n")?;
        for session in &self.sessions {
            write!(f, "{} at version {}: ", session.stream_id, session.version)?;
            match &session.state {
                GameSession::NotStarted => writeln!(f, "never started")?,
                GameSession::InProgress(details) => {
                    let players: Vec<_> = details.players.iter().copied().collect();
                    writeln!(f, "in progress, players {}", crate::story::list(&players))?;
                }
                GameSession::Ended(details) => {
                    let players: Vec<_> = details.players.iter().copied().collect();
                    writeln!(f, "ended, with players {}", crate::story::list(&players))?;
                }
            }
        }
        writeln!(
            f,
            "\nAnnounced to the other services (a by-name subscriber counted them):"
        )?;
        for (event_type, count) in &self.announced {
            writeln!(f, "  {count} × {event_type}")?;
        }
        writeln!(f, "\n== Refused ==\n")?;
        for rejection in &self.rejections {
            match &rejection.error {
                Some(error) => writeln!(f, "{}:\n  {error}", rejection.attempt)?,
                None => writeln!(
                    f,
                    "{}:\n  ACCEPTED: the rule did not hold",
                    rejection.attempt
                )?,
            }
        }
        let (before, after) = self.head_around_rejections;
        if before == after {
            writeln!(f, "Nothing was stored: the log still ends at #{after}.")?;
        } else {
            writeln!(f, "The log moved from #{before} to #{after}!")?;
        }
        Ok(())
    }
}
