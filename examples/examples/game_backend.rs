//! `cargo run --example game_backend`: see `eventful_examples::programs::game_backend` and docs/examples.md.

use std::process::ExitCode;

use eventful_examples::{cli, programs::game_backend};

#[tokio::main]
async fn main() -> ExitCode {
    cli::main("game_backend", game_backend::run).await
}
