//! `cargo run --example player_service`: see `eventful_examples::programs::player_service` and docs/examples.md.
//! With `--amqp URI`, the service as a long-running process of its own on RabbitMQ: see
//! `eventful_examples::bridge`.

use std::process::ExitCode;

use eventful_examples::{bridge, cli, programs::player_service};

#[tokio::main]
async fn main() -> ExitCode {
    if bridge::wanted() {
        return bridge::main("player_service", bridge::player::serve).await;
    }
    cli::main("player_service", player_service::run).await
}
