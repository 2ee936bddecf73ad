//! A gateway process of its own, on a MongoDB database that other processes write to:
//!
//! ```sh
//! EVENTFUL_GATEWAY_SECRET=... cargo run -p eventful-gateway --example serve_mongo -- \
//!     "mongodb://127.0.0.1:27017/?directConnection=true" game_events 127.0.0.1:8090
//! ```
//!
//! Tokens are HS256, signed with `EVENTFUL_GATEWAY_SECRET`; a player may follow their own
//! stream (`player-<sub>`) and the public `leaderboard_changed` events. It prints
//! `LISTENING <address>` once it serves, and runs until killed. The gateway's restart test
//! (`tests/gateway/restart.rs`) kills it with SIGKILL and starts it again on the same
//! database: its clients resume from their last position.

use std::net::SocketAddr;
use std::process::ExitCode;

use eventful_gateway::{Gateway, GatewaySettings, Rules, TokenVerifier};
use eventful_store_mongo::{MongoSettings, MongoStore};

#[tokio::main]
async fn main() -> ExitCode {
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("serve_mongo: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: serve_mongo MONGODB_URI DATABASE ADDRESS";
    let (Some(uri), Some(database), Some(address)) = (args.next(), args.next(), args.next()) else {
        return Err(usage.into());
    };
    let address: SocketAddr = address.parse()?;
    let secret = std::env::var("EVENTFUL_GATEWAY_SECRET")
        .map_err(|_| "EVENTFUL_GATEWAY_SECRET must hold the tokens' HS256 secret")?;
    let store = MongoStore::connect(MongoSettings::new(uri).with_database(database)).await?;
    let rules = Rules::own_stream("player").with_public_event_type("leaderboard_changed");
    let settings = GatewaySettings::new(TokenVerifier::hs256(secret.as_bytes())?, rules);
    let gateway = Gateway::start(store, settings).await?;
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!("LISTENING {}", listener.local_addr()?);
    axum::serve(listener, gateway.router()).await?;
    Ok(())
}
