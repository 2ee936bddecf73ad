//! The flows of the example services, driven as a game team would drive them, on the
//! in-memory store: one test binary, a module per flow.

mod concurrency;
mod disconnect;
mod live_page;
mod matchmaking_to_level_up;
mod programs;
mod read_models;
mod redelivery;
mod rejections;
mod scaling;
mod support;
