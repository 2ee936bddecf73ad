//! The bridge against the real RabbitMQ at `EVENTFUL_AMQP_URI` (skipped, with a notice, when
//! it is unset), one test binary of modules by topic so that it links once; the tests that
//! restart the broker or install a global metrics recorder are binaries of their own.
//!
//! Some tests need `rabbitmqctl` beside the broker: they close their own run's connections
//! from the broker's side.

#[path = "../common/mod.rs"]
mod common;

mod dead_letters;
mod health;
mod proxy;
mod redelivery;
mod relay_position;
mod round_trip;
mod start_up_errors;
