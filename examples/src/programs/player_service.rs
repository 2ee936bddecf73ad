//! `cargo run --example player_service`: the player service alone. Players sign up; the
//! game-session service (a stand-in here) publishes game results and the achievement service
//! announces achievements; the player service's registered policies turn them into xp,
//! statistics, level-ups and rewards. Then many results reach one player at once, and a
//! result arrives for a player who does not exist.

use std::fmt;

use eventful_core::CheckpointStore;
use eventful_core::registration::registered_handlers;
use eventful_core::{
    CommandContext, CommandError, EventBus, EventStore, Loaded, Position, SnapshotStore, Uuid,
};
use eventful_store_memory::MemoryStore;
use tokio::task::JoinSet;

use crate::error::Error;
use crate::game_mode::GameMode;
use crate::game_session::{PlayerScore, placements};
use crate::ids::{PlayerId, SessionId};
use crate::integration::{GameCompletedEvent, topics};
use crate::options::{Options, StoreChoice};
use crate::player::{Player, PlayerCommand, PlayerService};
use crate::publish::Publisher;
use crate::simulation::{AchievementService, email_of, name_of};
use crate::store::{SharedStore, shared};
use crate::story::Story;

/// Results sent to one player at once, to show that concurrent updates are all counted.
pub const CONCURRENT_RESULTS: u32 = 20;

/// What a run of the player service did.
#[derive(Debug, Clone)]
pub struct PlayerServiceReport {
    /// Players and matches simulated, and the store.
    pub options: Options,
    /// The handlers registered with `#[register]`, as `registered_handlers` lists them.
    pub registered: Vec<String>,
    /// Every event before the concurrent burst, by chapter.
    pub story: Story,
    /// Every player at the end.
    pub players: Vec<Loaded<Player>>,
    /// The burst of concurrent results.
    pub burst: Burst,
    /// The refusal of a result for an unknown player.
    pub unknown_player: String,
    /// The store's head before and after that refusal.
    pub head_around_refusal: (Position, Position),
}

/// Many game results sent to one player at the same time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Burst {
    /// Who.
    pub player_id: PlayerId,
    /// Results sent.
    pub sent: u32,
    /// Games played before.
    pub games_before: u32,
    /// Games played after.
    pub games_after: u32,
}

/// Runs the service on the store `options` choose.
pub async fn run(options: Options) -> Result<PlayerServiceReport, Error> {
    match &options.store {
        StoreChoice::Memory => run_on(MemoryStore::new(), options).await,
        StoreChoice::Mongo { uri } => run_on(super::open_mongo(uri).await?, options).await,
    }
}

/// Runs the service on `store`.
pub async fn run_on<S>(store: S, options: Options) -> Result<PlayerServiceReport, Error>
where
    S: EventStore + SnapshotStore + CheckpointStore + Clone + 'static,
{
    let service = PlayerService::new(store.clone());
    let mut bus = EventBus::new(store.clone(), store.clone());
    service.add_handlers(&mut bus)?;
    bus.policy(AchievementService::new(shared(store.clone())));
    let bus = bus.start()?;
    let registered = registered_handlers()
        .iter()
        .map(ToString::to_string)
        .collect();

    let sign_up = CommandContext::default().with_correlation_id(Uuid::new_v4());
    let roster: Vec<_> = (1..=options.players.max(1) as u64).map(PlayerId).collect();
    for &player_id in &roster {
        service
            .sign_up(
                player_id,
                &name_of(player_id),
                &email_of(player_id),
                sign_up.clone(),
            )
            .await?;
    }
    publish_results(shared(store.clone()), &roster, &options).await?;
    bus.wait_until_settled().await?;
    let story = Story::read(&store).await?;

    let burst = burst(&service, roster[0]).await?;

    let before = store.head_position().await?;
    let unknown = PlayerCommand::RecordGameResult {
        player_id: PlayerId(999),
        session_id: SessionId(1),
        mode: GameMode::Ranked,
        score: 500,
        placement: 1,
    };
    let unknown_player = match service.players().execute(unknown).await {
        Err(error @ CommandError::Rejected { .. }) => error.to_string(),
        Err(error) => return Err(error.into()),
        Ok(_) => "ACCEPTED: the rule did not hold".to_owned(),
    };
    let after = store.head_position().await?;

    let mut players = Vec::new();
    for player_id in &roster {
        players.push(service.players().load(player_id).await?);
    }
    bus.shutdown().await;
    Ok(PlayerServiceReport {
        options,
        registered,
        story,
        players,
        burst,
        unknown_player,
        head_around_refusal: (before, after),
    })
}

/// Stands in for the game-session service: for each match, two or three players of
/// `roster`, seeded scores, and one `game_completed` each, as one request per match.
async fn publish_results(
    store: SharedStore,
    roster: &[PlayerId],
    options: &Options,
) -> Result<(), Error> {
    let results = Publisher::new(store, topics::GAME_RESULTS);
    let mut rng = fastrand::Rng::with_seed(options.seed);
    for number in 1..=options.matches as u64 {
        let session_id = SessionId(number);
        let mode = GameMode::ALL[number as usize % GameMode::ALL.len()];
        let mut players = roster.to_vec();
        rng.shuffle(&mut players);
        players.truncate(rng.usize(2..=3).min(roster.len()));
        let scores: Vec<_> = players
            .iter()
            .map(|&player_id| PlayerScore {
                player_id,
                score: rng.u64(10..=150) * 10,
            })
            .collect();
        let events: Vec<_> = placements(&scores)
            .into_iter()
            .map(|placed| GameCompletedEvent {
                player_id: placed.player_id,
                session_id,
                mode,
                score: placed.score,
                placement: placed.placement,
            })
            .collect();
        let request = CommandContext::default().with_correlation_id(Uuid::new_v4());
        results.publish(&session_id, &events, &request).await?;
    }
    Ok(())
}

/// Sends [`CONCURRENT_RESULTS`] results to `player_id` at once, from as many tasks: each
/// conflicting append is retried on fresh state, so every one counts.
async fn burst(service: &PlayerService, player_id: PlayerId) -> Result<Burst, Error> {
    let games_before = service
        .players()
        .load(&player_id)
        .await?
        .state
        .stats
        .games_played;
    let mut tasks = JoinSet::new();
    for game in 0..CONCURRENT_RESULTS {
        let players = service.players().clone();
        tasks.spawn(async move {
            let result = PlayerCommand::RecordGameResult {
                player_id,
                session_id: SessionId(1_000 + u64::from(game)),
                mode: GameMode::Casual,
                score: 100,
                placement: 2,
            };
            players.execute(result).await
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined??;
    }
    let games_after = service
        .players()
        .load(&player_id)
        .await?
        .state
        .stats
        .games_played;
    Ok(Burst {
        player_id,
        sent: CONCURRENT_RESULTS,
        games_before,
        games_after,
    })
}

impl fmt::Display for PlayerServiceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "eventful player service: {} players, results of {} matches, on {}.",
            self.players.len(),
            self.options.matches,
            super::store_name(&self.options.store)
        )?;
        writeln!(
            f,
            "\nRegistered with #[register], wired by EventBus::register_all:"
        )?;
        for registration in &self.registered {
            writeln!(f, "  {registration}")?;
        }
        writeln!(f, "\n== The story ==\n")?;
        write!(f, "{}", self.story)?;
        let burst = &self.burst;
        writeln!(
            f,
            "\n== {} results for player {} at once ==\n",
            burst.sent, burst.player_id
        )?;
        writeln!(
            f,
            "games played: {} before, {} after: {}",
            burst.games_before,
            burst.games_after,
            if burst.games_after - burst.games_before == burst.sent {
                "every result counted (conflicting appends were retried on fresh state)"
            } else {
                "RESULTS WERE LOST"
            }
        )?;
        writeln!(f, "\n== A result for player 999, who never signed up ==\n")?;
        writeln!(f, "{}", self.unknown_player)?;
        let (before, after) = self.head_around_refusal;
        if before == after {
            writeln!(f, "Nothing was stored: the log still ends at #{after}.")?;
        } else {
            writeln!(f, "The log moved from #{before} to #{after}!")?;
        }
        writeln!(f, "\n== The players ==\n")?;
        for player in &self.players {
            let stats = &player.state.stats;
            writeln!(
                f,
                "{:<6} {} v{:<3} level {}  {:>5} xp  {:>2} games  {} wins  {:>4} coins  items [{}]  achievements [{}]",
                player.state.name,
                player.stream_id,
                player.version,
                stats.level,
                stats.xp,
                stats.games_played,
                stats.wins,
                stats.coins,
                player.state.items.join(", "),
                player
                    .state
                    .achievements
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        Ok(())
    }
}
