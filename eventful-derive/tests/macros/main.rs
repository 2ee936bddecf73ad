//! The macros as a game team uses them: a `Player` aggregate written with them, tested with
//! given / when / then, run on the memory store, with registered handlers and a renamed
//! eventful-core.

mod game_results;
mod guide;
mod leaderboard;
mod player;
mod player_tests;
mod registration;
mod renamed_crate;
