//! `cargo run --example game_backend`: see `eventful_examples::programs::game_backend` and docs/examples.md.
//! With `-- --serve 127.0.0.1:8080` it keeps running and serves the live page: see
//! `eventful_examples::serve`.

use std::process::ExitCode;

use eventful_examples::{cli, serve};

#[tokio::main]
async fn main() -> ExitCode {
    cli::main("game_backend", serve::game_backend).await
}
