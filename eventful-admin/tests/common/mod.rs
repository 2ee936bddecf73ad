//! A small game for the admin crate's tests: players that gain xp, a leaderboard of total xp
//! that can be rebuilt into a fresh copy, and a mailer that fails on 13 xp until it is fixed
//! (and parks what it fails on).

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use eventful_admin::{Admin, AdminToken};
use eventful_core::bus::{HandlerSettings, OnFailure};
use eventful_core::prelude::*;
use eventful_core::swappable::Swappable;
use eventful_core::{RetryPolicy, RunningBus};
use eventful_store_memory::MemoryStore;
use serde::{Deserialize, Serialize};
use tower::ServiceExt;

pub(crate) const TOKEN: &str = "test-admin-token-0123456789";

#[derive(Command, Debug, Clone)]
#[command(aggregate = Player)]
pub(crate) enum PlayerCommand {
    Create {
        #[aggregate_id]
        player_id: u64,
        name: String,
    },
    GainXp {
        #[aggregate_id]
        player_id: u64,
        amount: u64,
    },
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) enum PlayerEvent {
    Created { name: String },
    XpGained { amount: u64 },
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum PlayerError {
    #[error("the player exists")]
    Exists,
    #[error("no such player")]
    Missing,
    #[error("xp must be positive")]
    NoXp,
}

#[derive(Default, Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Player {
    pub(crate) name: Option<String>,
    pub(crate) xp: u64,
}

#[aggregate(name = "player", id = u64, command = PlayerCommand, event = PlayerEvent, error = PlayerError)]
impl Player {
    #[handle(PlayerCommand::Create)]
    fn create(&self, name: &str) -> Result<Vec<PlayerEvent>, PlayerError> {
        match self.name {
            Some(_) => Err(PlayerError::Exists),
            None => Ok(vec![PlayerEvent::Created {
                name: name.to_owned(),
            }]),
        }
    }

    #[handle(PlayerCommand::GainXp)]
    fn gain_xp(&self, amount: &u64) -> Result<Vec<PlayerEvent>, PlayerError> {
        match (&self.name, *amount) {
            (None, _) => Err(PlayerError::Missing),
            (_, 0) => Err(PlayerError::NoXp),
            _ => Ok(vec![PlayerEvent::XpGained { amount: *amount }]),
        }
    }

    #[apply(PlayerEvent::Created)]
    fn created(&mut self, name: &str) {
        self.name = Some(name.to_owned());
    }

    #[apply(PlayerEvent::XpGained)]
    fn xp_gained(&mut self, amount: &u64) {
        self.xp += amount;
    }
}

pub(crate) fn create(player_id: u64) -> PlayerCommand {
    PlayerCommand::Create {
        player_id,
        name: format!("Player {player_id}"),
    }
}

pub(crate) fn gain(player_id: u64, amount: u64) -> PlayerCommand {
    PlayerCommand::GainXp { player_id, amount }
}

/// Total xp of every player.
#[derive(Default)]
pub(crate) struct XpBoard {
    pub(crate) total: AtomicU64,
}

#[async_trait]
impl Projection for XpBoard {
    type Event = PlayerEvent;

    fn name(&self) -> &str {
        "xp_board"
    }

    async fn apply(&self, event: &RecordedEvent<PlayerEvent>) -> Result<(), BoxError> {
        if let PlayerEvent::XpGained { amount } = event.payload {
            self.total.fetch_add(amount, Ordering::SeqCst);
        }
        Ok(())
    }

    async fn reset(&self) -> Result<(), BoxError> {
        self.total.store(0, Ordering::SeqCst);
        Ok(())
    }
}

pub(crate) fn quick_retry() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(2)
        .with_initial_delay(Duration::from_millis(1))
}

/// The mailer: fails on 13 xp until `fixed`; durable, parks what it fails on.
pub(crate) fn add_mailer(bus: &mut EventBus<MemoryStore>, fixed: &Arc<AtomicBool>) {
    let fixed = fixed.clone();
    bus.subscribe::<PlayerEvent, _, _>("mailer", move |event| {
        let fixed = fixed.clone();
        async move {
            match event.payload {
                PlayerEvent::XpGained { amount: 13 } if !fixed.load(Ordering::SeqCst) => {
                    Err::<(), BoxError>("the mail server refuses unlucky numbers".into())
                }
                _ => Ok(()),
            }
        }
    });
    bus.configure(
        "mailer",
        HandlerSettings::durable().with_on_failure(OnFailure::Park),
    );
}

/// Everything running, with the admin API over it.
pub(crate) struct Game {
    pub(crate) store: MemoryStore,
    pub(crate) players: Repository<Player, MemoryStore>,
    pub(crate) board: Swappable<XpBoard>,
    pub(crate) fixed: Arc<AtomicBool>,
    pub(crate) bus: Arc<RunningBus<MemoryStore>>,
    pub(crate) app: Router,
}

impl Game {
    pub(crate) async fn start() -> Self {
        let store = MemoryStore::new();
        let players = Repository::<Player, _>::new(store.clone());
        let board = Swappable::new(XpBoard::default);
        let fixed = Arc::new(AtomicBool::new(false));
        let mut bus = EventBus::new(store.clone(), store.clone())
            .with_instance_id("instance-a")
            .with_retry(quick_retry());
        bus.projection(board.clone());
        add_mailer(&mut bus, &fixed);
        let bus = Arc::new(bus.start().expect("starts"));
        let admin = Admin::new(store.clone(), bus.clone())
            .with_rebuild(board.clone())
            .with_aggregate::<Player>();
        let app = Router::new()
            .nest(
                "/admin",
                admin.router(AdminToken::new(TOKEN).expect("valid token")),
            )
            .merge(admin.health_router());
        Self {
            store,
            players,
            board,
            fixed,
            bus,
            app,
        }
    }

    /// `method uri` with the admin token; the status and the JSON body.
    pub(crate) async fn call(&self, method: Method, uri: &str) -> (StatusCode, serde_json::Value) {
        self.call_with(method, uri, Some(TOKEN)).await
    }

    /// `method uri` with `token` (none: no `Authorization` header).
    pub(crate) async fn call_with(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
    ) -> (StatusCode, serde_json::Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = self
            .app
            .clone()
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("answered");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|error| {
            panic!("not JSON ({error}): {}", String::from_utf8_lossy(&bytes))
        });
        (status, body)
    }
}
