//! `cargo run --example player_service`: see `eventful_examples::programs::player_service` and docs/examples.md.

use std::process::ExitCode;

use eventful_examples::{cli, programs::player_service};

#[tokio::main]
async fn main() -> ExitCode {
    cli::main("player_service", player_service::run).await
}
