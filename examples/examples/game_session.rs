//! `cargo run --example game_session`: see `eventful_examples::programs::game_session` and docs/examples.md.

use std::process::ExitCode;

use eventful_examples::{cli, programs::game_session};

#[tokio::main]
async fn main() -> ExitCode {
    cli::main("game_session", game_session::run).await
}
