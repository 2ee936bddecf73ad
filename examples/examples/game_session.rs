//! `cargo run --example game_session`: see `eventful_examples::programs::game_session` and docs/examples.md.
//! With `--amqp URI`, the service as a long-running process of its own on RabbitMQ: see
//! `eventful_examples::bridge`.

use std::process::ExitCode;

use eventful_examples::{bridge, cli, programs::game_session};

#[tokio::main]
async fn main() -> ExitCode {
    if bridge::wanted() {
        return bridge::main("game_session", bridge::session::serve).await;
    }
    cli::main("game_session", game_session::run).await
}
