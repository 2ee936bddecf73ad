//! [`router`]: everything `--serve` answers, as one axum [`Router`] — the page, the demo
//! login, and the gateway under `/live`. Another router (an admin API, `/metrics`) is merged
//! here.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use eventful_gateway::{Claims, Gateway};
use serde::{Deserialize, Serialize};

use eventful_core::swappable::Swappable;

use crate::ids::PlayerId;
use crate::read_models::Leaderboard;
use crate::serve::leaderboard::{LeaderboardChangedEvent, top};

/// The secret the demo signs its tokens with. A real game's login service holds its own and
/// the gateway is given the same (or the public half of a key pair).
pub const DEMO_SECRET: &[u8] = b"eventful demo secret - not for production";

/// How long a demo token lasts.
const TOKEN_LIFETIME: chrono::Duration = chrono::Duration::hours(8);

/// What the page's routes need.
#[derive(Clone)]
pub struct Live {
    /// The gateway, mounted under `/live`.
    pub gateway: Gateway,
    /// The players who signed up, by id, with their names.
    pub players: Arc<Vec<(PlayerId, String)>>,
    /// The leaderboard read model, whose top the page loads once before following the
    /// public `leaderboard_changed` events live.
    pub leaderboard: Swappable<Leaderboard>,
}

/// The page's routes and the gateway's, ready to serve:
///
/// | route | what |
/// | --- | --- |
/// | `GET /` | the page (plain HTML and JavaScript) |
/// | `GET /demo/players` | the roster, for the page's picker |
/// | `GET /demo/token?player=N` | a token for player N: the demo's stand-in for a login service |
/// | `GET /demo/leaderboard` | the top places now, shaped as a `leaderboard_changed` event |
/// | `GET /live/ws`, `GET /live/sse` | the gateway |
pub fn router(live: &Live) -> Router {
    let demo = Router::new()
        .route("/", get(page))
        .route("/app.js", get(script))
        .route("/demo/players", get(players))
        .route("/demo/token", get(token))
        .route("/demo/leaderboard", get(leaderboard))
        .with_state(live.clone());
    demo.nest("/live", live.gateway.router())
}

async fn page() -> Html<&'static str> {
    Html(include_str!("page/index.html"))
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("page/app.js"),
    )
        .into_response()
}

/// One player of the roster.
#[derive(Debug, Serialize)]
struct RosterEntry {
    id: PlayerId,
    name: String,
}

async fn players(State(live): State<Live>) -> Json<Vec<RosterEntry>> {
    let roster = live
        .players
        .iter()
        .map(|(id, name)| RosterEntry {
            id: *id,
            name: name.clone(),
        })
        .collect();
    Json(roster)
}

/// The top of the leaderboard now: the page loads it once and then follows the changes
/// live, rather than have the gateway read every past change from the store.
async fn leaderboard(State(live): State<Live>) -> Json<LeaderboardChangedEvent> {
    Json(LeaderboardChangedEvent {
        standings: top(&live.leaderboard.current()),
    })
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    player: u64,
}

/// A demo token.
#[derive(Debug, Serialize)]
struct Issued {
    token: String,
    player: PlayerId,
    expires_at: chrono::DateTime<Utc>,
}

async fn token(State(live): State<Live>, Query(query): Query<TokenQuery>) -> Response {
    let player = PlayerId(query.player);
    if !live.players.iter().any(|(id, _)| *id == player) {
        return (StatusCode::NOT_FOUND, format!("no player {player}")).into_response();
    }
    let expires_at = Utc::now() + TOKEN_LIFETIME;
    match Claims::new(player.to_string(), expires_at).sign_hs256(DEMO_SECRET) {
        Ok(token) => Json(Issued {
            token,
            player,
            expires_at,
        })
        .into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}
