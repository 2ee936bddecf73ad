//! # eventful examples
//!
//! Two services of a game backend written with eventful, as a team would write them, and the
//! three programs that run them:
//!
//! ```sh
//! cargo run --example player_service   # players, xp, levels, achievements
//! cargo run --example game_session     # sessions from matchmaking to final scores
//! cargo run --example game_backend     # both on one store and one bus, with read models
//! ```
//!
//! A service is an aggregate (its rules), the policies by which it reacts to other services,
//! and a small type that wires both on a store and a bus. Services talk by publishing
//! integration events, which is appending them to the publisher's own stream: every bus
//! follows the store's log, so whatever is committed reaches every subscriber, in order,
//! once it is up.
//!
//! ```
//! use eventful_core::CommandContext;
//! use eventful_examples::ids::PlayerId;
//! use eventful_examples::player::{PlayerCommand, PlayerService};
//! use eventful_store_memory::MemoryStore;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let players = PlayerService::new(MemoryStore::new());
//! players.sign_up(PlayerId(1), "Ana", "ana@example.com", CommandContext::default()).await?;
//! let won = PlayerCommand::RecordGameResult {
//!     player_id: PlayerId(1),
//!     session_id: eventful_examples::ids::SessionId(1),
//!     mode: eventful_examples::game_mode::GameMode::Tournament,
//!     score: 900,
//!     placement: 1,
//! };
//! let committed = players.players().execute(won).await?;
//! // 150 + 90 + 250 xp: the stats, then a level-up past 300 xp.
//! let types: Vec<_> = committed.events.iter().map(|e| e.event_type.as_str()).collect();
//! assert_eq!(types, ["stats_updated", "leveled_up"]);
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```
//!
//! ## Map
//!
//! | module | what lives there |
//! | --- | --- |
//! | [`player`] | the player service: [`Player`](player::Player), its rules, its `#[register]`ed policies, [`PlayerService`](player::PlayerService) |
//! | [`game_session`] | the game-session service: [`GameSession`](game_session::GameSession), its policies, [`GameSessionService`](game_session::GameSessionService) |
//! | [`integration`] | the events services publish to each other (`game_completed`, `matchmaking_completed`, …) and their topics |
//! | [`publish`] | [`Publisher`](publish::Publisher): publishing is appending to a topic stream |
//! | [`read_models`] | the backend's projections: leaderboard, active sessions, session history |
//! | [`simulation`] | stand-ins for matchmaking, the gateway, the game servers and achievements, and a seeded match driver |
//! | [`story`] | the log told by correlation id, with every id |
//! | [`serve`] | `game_backend --serve ADDR`: the backend kept running, with the live gateway and its page |
//! | [`programs`] | the main path of each example program |
//! | [`bridge`] | the player and session services as processes of their own, over RabbitMQ (`--amqp URI`) |
//! | [`ids`], [`game_mode`], [`store`] | the vocabulary the services share |
//! | [`options`], [`cli`], [`error`] | the command line, `main`, and why a run fails |

pub mod bridge;
pub mod cli;
pub mod error;
pub mod game_mode;
pub mod game_session;
pub mod ids;
pub mod integration;
pub mod options;
pub mod player;
pub mod programs;
pub mod publish;
pub mod read_models;
pub mod serve;
pub mod simulation;
pub mod store;
pub mod story;

pub use crate::error::Error;
