//! # eventful-derive
//!
//! The macros of eventful. Use them through `eventful-core`, which re-exports them (feature
//! `derive`, on by default), so that one dependency is enough:
//!
//! | macro | what it writes |
//! | --- | --- |
//! | [`#[derive(Event)]`](macro@Event) | `impl Event`: a stored type name and schema version per variant, and the type's entry in the event registry |
//! | [`#[derive(Command)]`](macro@Command) | `impl Command`: the aggregate a command addresses and the field holding its id |
//! | [`#[aggregate(...)]`](macro@aggregate) | `impl Aggregate` from `#[handle]` and `#[apply]` methods, with exhaustive dispatch |
//! | [`#[projection(...)]`](macro@projection) | `impl Projection` from `#[on]` methods, one per event variant it reads, and a `#[reset]` method |
//! | [`#[policy(...)]`](macro@policy) | `impl Policy` from `#[on]` methods, one per event variant it reacts to |
//! | [`#[register]`](macro@register) | a projection, policy or event handler that [`EventBus::register_all`] wires at start-up |
//!
//! Generated code names eventful by absolute path (`::eventful_core::...`) and needs no `use`
//! in your module. If you renamed the dependency, say so with `crate = "..."` in the macro's
//! attribute (`#[event(crate = "my_core")]`), as with serde's `#[serde(crate = "...")]`.
//! Every misuse is a compile error pointing at the tokens to change, and all the mistakes of
//! one item are reported together.
//!
//! The guide `docs/writing-an-aggregate.md` walks through a whole `Player` aggregate.
//!
//! [`EventBus::register_all`]: https://docs.rs/eventful-core/latest/eventful_core/struct.EventBus.html#method.register_all
//!
//! ## How it is laid out
//!
//! Each macro has a module with four rooms: `ast` (the small model built from `syn` once),
//! `attr` (its attributes as plain data), `valid` (every mistake as a spanned error, all
//! reported together through `ctxt::Errors`) and `expand` (code from a valid model);
//! `#[projection]` and `#[policy]` share one, `consumer`, and `register` is small enough to be
//! one file. Shared: `stored_name`, `crate_path`, and for the handler-method macros `target`
//! (the variant a method takes and the pattern binding its fields) and `signature` (the checks
//! of a handler's signature).

mod aggregate;
mod command;
mod consumer;
mod crate_path;
mod ctxt;
mod event;
mod meta_keys;
mod register;
mod signature;
mod stored_name;
mod target;

#[cfg(test)]
mod expand_tests;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `Event` for an enum (one stored event type per variant) or a struct (one event
/// type on its own).
///
/// The type must also derive `serde::Serialize`, `serde::Deserialize` and `Debug`: the payload
/// is its serde form (for an enum, the variant's content without its name, which is stored
/// beside it as the event type), and `Debug` is what the process-wide
/// [`EventRegistry`](https://docs.rs/eventful-core/latest/eventful_core/struct.EventRegistry.html)
/// prints a stored event with. Every derived type is registered there (through `inventory`),
/// so a tool that only has a stored type name finds the Rust type that reads it.
///
/// | attribute | on | meaning |
/// | --- | --- | --- |
/// | `#[event(rename = "name")]` | a variant, or the struct | the stored type name; default: the variant's name in snake_case (`XpGained` → `xp_gained`), or the struct's less a trailing `Event` (`PlayerCreatedEvent` → `player_created`) |
/// | `#[event(version = N)]` | the enum (all variants), a variant, or the struct | the schema version new events are written with, from 1 (the default); bump it with an upcaster when the shape changes |
/// | `#[event(crate = "path")]` | the enum or the struct | where to find eventful-core, if renamed |
///
/// Keep serde's default (externally tagged) representation for an event enum: the variant is
/// found by its position, so `#[serde(tag = "...")]`, `#[serde(untagged)]` or a skipped
/// variant would not read back. Field attributes (`rename`, `default`, ...) are fine.
///
/// Stored names are data: once events are stored under a name, pin it with `rename` before
/// renaming the variant. Two variants stored under one name, a name that is empty, longer
/// than 128 bytes or holds a control character, a version of 0, generic parameters (a
/// registered type is concrete) and unions are compile errors.
///
/// ```
/// use eventful_core::{Event, EventRegistry};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
/// enum PlayerEvent {
///     #[event(rename = "player_created")]
///     Created { name: String, email: String },
///     #[event(version = 2)]
///     XpGained { amount: u64 },
///     AchievementUnlocked(String),
/// }
///
/// #[derive(Event, Serialize, Deserialize, Debug, PartialEq)]
/// struct PlayerBannedEvent {
///     reason: String,
/// }
///
/// let names: Vec<_> = PlayerEvent::EVENT_TYPES.iter().map(|t| (t.name.as_str(), t.schema_version)).collect();
/// assert_eq!(names, [("player_created", 1), ("xp_gained", 2), ("achievement_unlocked", 1)]);
///
/// let event = PlayerEvent::XpGained { amount: 250 };
/// let payload = event.encode()?;
/// assert_eq!(payload.as_bytes(), br#"{"amount":250}"#);
/// assert_eq!(PlayerEvent::decode("xp_gained", &payload)?, event);
///
/// assert_eq!(PlayerBannedEvent::EVENT_TYPES[0].name, "player_banned");
/// let registered = EventRegistry::global().lookup("player_banned").expect("registered");
/// assert!((registered.rust_type)().ends_with("PlayerBannedEvent"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    event::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derives `Command` for a struct or an enum: which aggregate it addresses, and which field
/// holds the id of the instance.
///
/// `#[command(aggregate = Player)]` names the aggregate; `#[aggregate_id]` marks the field
/// holding the id, exactly one per struct or per variant (named or positional). The field's
/// type must be the aggregate's `Id`; rustc checks it. `#[command(crate = "path")]` names a
/// renamed eventful-core.
///
/// ```
/// # use eventful_core::{Aggregate, Event, TypeName};
/// use eventful_core::Command;
///
/// #[derive(Command)]
/// #[command(aggregate = Player)]
/// enum PlayerCommand {
///     Create { #[aggregate_id] player_id: u64, name: String },
///     GainXp { #[aggregate_id] player_id: u64, amount: u64 },
///     Ban(#[aggregate_id] u64, String),
/// }
///
/// #[derive(Command)]
/// #[command(aggregate = Player)]
/// struct Rename {
///     #[aggregate_id]
///     player_id: u64,
///     name: String,
/// }
///
/// assert_eq!(*PlayerCommand::Ban(7, "cheating".into()).aggregate_id(), 7);
/// assert_eq!(*Rename { player_id: 3, name: "ana".into() }.aggregate_id(), 3);
/// # #[derive(Default)] struct Player;
/// # #[derive(Event, serde::Serialize, serde::Deserialize, Debug)] enum PlayerEvent { Nothing }
/// # #[derive(Debug, thiserror::Error)] #[error("no")] struct No;
/// # impl Aggregate for Player {
/// #     const TYPE: TypeName = TypeName::from_static("player");
/// #     type Id = u64; type Command = PlayerCommand; type Event = PlayerEvent; type Error = No;
/// #     fn handle(&self, _: &PlayerCommand) -> Result<Vec<PlayerEvent>, No> { Err(No) }
/// #     fn apply(&mut self, _: &PlayerEvent) {}
/// # }
/// ```
#[proc_macro_derive(Command, attributes(command, aggregate_id))]
pub fn derive_command(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    command::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Writes `impl Aggregate` from an inherent impl block of handler methods.
///
/// ```text
/// #[aggregate(name = "player", id = PlayerId, command = PlayerCommand,
///             event = PlayerEvent, error = PlayerError)]
/// impl Player { ... }
/// ```
///
/// `name` is the aggregate type's stored name (its streams are `"player-<id>"`); `id`,
/// `command`, `event` and `error` are its associated types. Optional: `snapshot_revision = N`
/// (bump it when the state's shape changes, so older snapshots are ignored) and
/// `crate = "path"` for a renamed eventful-core.
///
/// In the block:
///
/// - `#[handle(PlayerCommand::GainXp)]` marks a command handler: `fn(&self, ...) ->
///   Result<Vec<PlayerEvent>, PlayerError>`. It decides; it must not change the state.
/// - `#[apply(PlayerEvent::XpGained)]` marks an event applier: `fn(&mut self, ...)`,
///   returning nothing. It evolves the state and cannot fail.
/// - A handler's parameters borrow the variant's fields **by name**: `fn gain_xp(&self,
///   amount: &u64)` takes the `amount` field of `GainXp { player_id, amount }`. Any subset of
///   the fields, in any order; a unit variant takes none. A misspelled parameter is reported
///   on the parameter.
/// - For a tuple or newtype variant, write `(..)` after it, and the parameters borrow the
///   fields **in order**, whatever their names: `#[apply(PlayerEvent::Renamed(..))] fn
///   renamed(&mut self, name: &String)`.
/// - A struct command or event works the same way: `#[handle(Rename)]` with parameters named
///   after its fields.
/// - Methods without a mark stay ordinary methods.
///
/// `handle` and `apply` are generated as one `match` each, with an arm per handler and no
/// wildcard: a variant with no handler is rustc's error E0004, naming the variant not
/// covered; two handlers for one variant, or a handler whose signature cannot be called (an
/// `async` handler, a wrong receiver, a parameter that is not a plain name or not a shared
/// reference, a missing or extra return type), are errors of this macro on the method.
///
/// ```
/// use eventful_core::{Aggregate, Command, Event, aggregate};
/// use eventful_core::test_kit::given;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Command)]
/// #[command(aggregate = Player)]
/// enum PlayerCommand {
///     GainXp { #[aggregate_id] player_id: u64, amount: u64 },
///     Retire(#[aggregate_id] u64),
/// }
///
/// #[derive(Event, Serialize, Deserialize, Debug, PartialEq)]
/// enum PlayerEvent {
///     XpGained { amount: u64 },
///     Retired,
/// }
///
/// #[derive(Debug, PartialEq, thiserror::Error)]
/// enum PlayerError {
///     #[error("a player gains a positive amount of xp")]
///     NoXp,
///     #[error("the player has retired")]
///     Retired,
/// }
///
/// #[derive(Default)]
/// struct Player {
///     xp: u64,
///     retired: bool,
/// }
///
/// #[aggregate(name = "player", id = u64, command = PlayerCommand, event = PlayerEvent, error = PlayerError)]
/// impl Player {
///     #[handle(PlayerCommand::GainXp)]
///     fn gain_xp(&self, amount: &u64) -> Result<Vec<PlayerEvent>, PlayerError> {
///         if self.retired {
///             return Err(PlayerError::Retired);
///         }
///         if *amount == 0 {
///             return Err(PlayerError::NoXp);
///         }
///         Ok(vec![PlayerEvent::XpGained { amount: *amount }])
///     }
///
///     #[handle(PlayerCommand::Retire(..))]
///     fn retire(&self) -> Result<Vec<PlayerEvent>, PlayerError> {
///         Ok(if self.retired { vec![] } else { vec![PlayerEvent::Retired] })
///     }
///
///     #[apply(PlayerEvent::XpGained)]
///     fn xp_gained(&mut self, amount: &u64) {
///         self.xp += amount;
///     }
///
///     #[apply(PlayerEvent::Retired)]
///     fn retired(&mut self) {
///         self.retired = true;
///     }
/// }
///
/// let player = given::<Player>([PlayerEvent::XpGained { amount: 100 }])
///     .when(PlayerCommand::GainXp { player_id: 1, amount: 50 })
///     .then_expect([PlayerEvent::XpGained { amount: 50 }]);
/// assert_eq!(player.xp, 150);
///
/// given::<Player>([PlayerEvent::Retired])
///     .when(PlayerCommand::GainXp { player_id: 1, amount: 50 })
///     .then_error(PlayerError::Retired);
/// assert_eq!(Player::TYPE, "player");
/// ```
#[proc_macro_attribute]
pub fn aggregate(args: TokenStream, input: TokenStream) -> TokenStream {
    aggregate::expand(args.into(), input.into()).into()
}

/// Writes `impl Projection` from an inherent impl block of event handler methods: a read
/// model that reads like an aggregate.
///
/// ```text
/// #[projection(name = "leaderboard", event = PlayerEvent)]
/// impl Leaderboard { ... }
/// ```
///
/// `name` is the projection's name, unique on a bus and kept for good, since its progress is
/// saved under it; `event` is the event type it reads. Optional: `crate = "path"` for a
/// renamed eventful-core.
///
/// In the block:
///
/// - `#[on(PlayerEvent::XpGained)]` marks the handler of one variant: a method taking `&self`
///   (the bus feeds the read model while queries read it, so its state lives behind a lock,
///   an atomic or a database), plain or `async`, returning nothing or `Result<(), E>` with
///   `E` converting into `BoxError` (any `Error + Send + Sync`, a `String`, `BoxError`
///   itself). An error stops the projection at that event, for the bus to retry.
/// - Its parameters are told apart **by type**:
///   - one of type `&RecordedEvent<PlayerEvent>`, whatever its name, receives the envelope:
///     the event's id, stream, version, position and metadata, and
///     `event.aggregate_id::<Player>()`, the typed id of the aggregate it happened to;
///   - every other parameter borrows the variant's field **of the same name**, as
///     `#[apply]` does: `amount: &u64` takes `amount` of `XpGained { amount }` (a `&str` for
///     a `String` field works too). Any subset, in any order; a misspelled name is reported
///     on the parameter.
/// - For a tuple or newtype variant, write `(..)` after it, and the field parameters borrow
///   its fields **in order**: `#[on(PlayerEvent::Renamed(..))] fn renamed(&self, name:
///   &String)`. Named without `(..)`, a tuple variant whose fields a handler binds is an error
///   saying to write it.
/// - A struct event works the same way: `#[on(GameCompletedEvent)]` with parameters named
///   after its fields.
/// - `#[reset]` marks the method that clears the read model before it is fed every event
///   again (a rebuild, or a restart of the projection with volatile progress): `fn(&self)`,
///   plain or `async`, returning nothing or `Result<(), E>`. Without
///   one, `reset` does nothing: right for a read model that replaying overwrites, wrong for
///   one that adds up.
/// - Methods without a mark stay ordinary methods: the queries.
///
/// `apply` is generated as one `match` on the payload with an arm per handler and a wildcard:
/// a variant without a handler is skipped, since a read model handles what it needs. A
/// variant of another event type than `event = ...` is rustc's mismatched types on the path;
/// two handlers for one variant, a block without any, a handler rustc could not call as
/// written (not `&self`, `unsafe`, generic, a field parameter that is not a plain name or not
/// a shared reference, a `&Reaction`, which only a policy gets) are errors of this macro on
/// the tokens to change.
///
/// To register the projection for [`EventBus::register_all`], put [`#[register]`](macro@register)
/// (`#[register(build = ...)]`) on the same block, above or below `#[projection(...)]`: it
/// registers the `impl Projection` written here.
///
/// ```
/// use std::collections::BTreeMap;
/// use eventful_core::prelude::*;
/// use eventful_core::test_kit::ProjectionFeed;
/// use parking_lot::Mutex;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Event, Serialize, Deserialize, Debug)]
/// enum PlayerEvent {
///     Created { name: String, email: String },
///     XpGained { amount: u64 },
///     Renamed(String),
///     Banned { reason: String },
/// }
///
/// /// Each player's name and xp, by stream.
/// #[derive(Default)]
/// struct Leaderboard(Mutex<BTreeMap<String, (String, u64)>>);
///
/// #[projection(name = "leaderboard", event = PlayerEvent)]
/// impl Leaderboard {
///     #[on(PlayerEvent::Created)]
///     fn created(&self, name: &str, event: &RecordedEvent<PlayerEvent>) {
///         self.0.lock().insert(event.stream_id.to_string(), (name.to_owned(), 0));
///     }
///
///     #[on(PlayerEvent::XpGained)]
///     async fn xp_gained(
///         &self,
///         event: &RecordedEvent<PlayerEvent>,
///         amount: &u64,
///     ) -> Result<(), BoxError> {
///         let mut board = self.0.lock();
///         let (_, xp) = board.get_mut(event.stream_id.as_str()).ok_or("xp before creation")?;
///         *xp += amount;
///         Ok(())
///     }
///
///     #[on(PlayerEvent::Renamed(..))]
///     fn renamed(&self, name: &String, event: &RecordedEvent<PlayerEvent>) {
///         if let Some(entry) = self.0.lock().get_mut(event.stream_id.as_str()) {
///             entry.0 = name.clone();
///         }
///     }
///
///     // `Banned` has no method: the leaderboard ignores it.
///
///     #[reset]
///     fn clear(&self) {
///         self.0.lock().clear();
///     }
///
///     /// A query: the names, best first.
///     fn top(&self) -> Vec<String> {
///         let mut entries: Vec<_> = self.0.lock().values().cloned().collect();
///         entries.sort_by(|a, b| b.1.cmp(&a.1));
///         entries.into_iter().map(|(name, _)| name).collect()
///     }
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let created = |name: &str| PlayerEvent::Created { name: name.into(), email: String::new() };
/// let mut feed = ProjectionFeed::new(Leaderboard::default());
/// feed.feed("player-1", [created("ana"), PlayerEvent::XpGained { amount: 50 }]).await;
/// feed.feed("player-2", [
///     created("bob"),
///     PlayerEvent::XpGained { amount: 80 },
///     PlayerEvent::Renamed("bo".into()),
///     PlayerEvent::Banned { reason: "afk".into() },
/// ]).await;
/// assert_eq!(feed.projection().top(), ["bo", "ana"]);
/// assert_eq!(feed.projection().name(), "leaderboard");
/// # });
/// ```
///
/// [`EventBus::register_all`]: https://docs.rs/eventful-core/latest/eventful_core/struct.EventBus.html#method.register_all
#[proc_macro_attribute]
pub fn projection(args: TokenStream, input: TokenStream) -> TokenStream {
    consumer::expand(consumer::Kind::Projection, args.into(), input.into()).into()
}

/// Writes `impl Policy` from an inherent impl block of event handler methods: a reaction to
/// events with commands, written like an aggregate.
///
/// ```text
/// #[policy(name = "award_game_results", event = GameCompletedEvent)]
/// impl AwardGameResults { ... }
/// ```
///
/// `name` is the policy's name, unique on a bus and kept for good: its progress is saved
/// under it, and it is part of the idempotency key of every command the policy sends.
/// `event` is the event type it reacts to. Optional: `crate = "path"` for a renamed
/// eventful-core.
///
/// The block is written as for [`#[projection]`](macro@projection): `#[on(Variant)]`,
/// `#[on(Variant(..))]` or `#[on(StructEvent)]` marks the handler of one variant, a method
/// taking `&self`, plain or `async`, whose parameters borrow the variant's fields by name (in
/// order for `(..)`) and, told by type, receive the envelope, `&RecordedEvent<E>`, and:
///
/// - **the reaction**, a parameter of type `&Reaction` (any name): the context of the
///   commands the handler sends, carrying the event's correlation, the event as their cause,
///   and an idempotency key, so that a redelivered event records nothing twice. Send every
///   command with `reaction.send(&repository, command)` (or
///   `repository.execute_with(command, reaction.command_context())`), in the same order for
///   the same event.
///
/// A handler returns `Result<(), E>`, `E` converting into `BoxError` (a `CommandError`,
/// `BoxError`, ...): its commands can fail, and the bus must know, to retry the event and then
/// park it. Variants without a handler are skipped. There is no `#[reset]`: a policy keeps no
/// read model. The mistakes reported are those of `#[projection]`, and a handler returning
/// nothing.
///
/// To register the policy for [`EventBus::register_all`], put
/// [`#[register(build = ...)]`](macro@register) on the same block, above or below
/// `#[policy(...)]`.
///
/// ```
/// use eventful_core::prelude::*;
/// use eventful_core::test_kit::given_events;
/// use eventful_store_memory::MemoryStore;
/// use serde::{Deserialize, Serialize};
///
/// /// Published by the game service when a match ends.
/// #[derive(Event, Serialize, Deserialize, Debug)]
/// struct GameCompletedEvent {
///     player_id: u64,
///     score: u64,
/// }
///
/// // A `Player` aggregate taking `PlayerCommand::GainXp`, refusing it with `NoXp`.
/// # #[derive(Command, Debug, Clone, PartialEq)]
/// # #[command(aggregate = Player)]
/// # enum PlayerCommand { GainXp { #[aggregate_id] player_id: u64, amount: u64 } }
/// # #[derive(Event, Serialize, Deserialize, Debug)]
/// # enum PlayerEvent { XpGained { amount: u64 } }
/// # #[derive(Debug, thiserror::Error)]
/// # #[error("a player gains a positive amount of xp")]
/// # struct NoXp;
/// # #[derive(Default)]
/// # struct Player;
/// # #[aggregate(name = "player", id = u64, command = PlayerCommand, event = PlayerEvent, error = NoXp)]
/// # impl Player {
/// #     #[handle(PlayerCommand::GainXp)]
/// #     fn gain_xp(&self, amount: &u64) -> Result<Vec<PlayerEvent>, NoXp> {
/// #         if *amount == 0 { Err(NoXp) } else { Ok(vec![PlayerEvent::XpGained { amount: *amount }]) }
/// #     }
/// #     #[apply(PlayerEvent::XpGained)]
/// #     fn xp_gained(&mut self) {}
/// # }
///
/// /// Ten xp per point scored.
/// struct AwardXp {
///     players: Repository<Player, MemoryStore>,
/// }
///
/// #[policy(name = "award_xp", event = GameCompletedEvent)]
/// impl AwardXp {
///     #[on(GameCompletedEvent)]
///     async fn completed(
///         &self,
///         player_id: &u64,
///         score: &u64,
///         reaction: &Reaction,
///     ) -> Result<(), CommandError<NoXp>> {
///         if *score > 0 {
///             let command = PlayerCommand::GainXp { player_id: *player_id, amount: score * 10 };
///             reaction.send(&self.players, command).await?;
///         }
///         Ok(())
///     }
/// }
///
/// # async fn demo() -> Result<(), BoxError> {
/// let award = AwardXp { players: Repository::new(MemoryStore::new()) };
/// let reactions = given_events(award, "game-5", [
///     GameCompletedEvent { player_id: 7, score: 12 },
///     GameCompletedEvent { player_id: 8, score: 0 },
/// ]).run().await?;
/// reactions.expect_commands([PlayerCommand::GainXp { player_id: 7, amount: 120 }]);
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
///
/// [`EventBus::register_all`]: https://docs.rs/eventful-core/latest/eventful_core/struct.EventBus.html#method.register_all
#[proc_macro_attribute]
pub fn policy(args: TokenStream, input: TokenStream) -> TokenStream {
    consumer::expand(consumer::Kind::Policy, args.into(), input.into()).into()
}

/// Registers a projection, policy or event handler, so that one call at start-up,
/// [`EventBus::register_all`], adds it to the bus.
///
/// Put it on the `impl Projection for T`, `impl Policy for T` or `impl EventHandler for T`
/// block (before or after `#[async_trait]`), or on the inherent impl block written with
/// [`#[projection(...)]`](macro@projection) or [`#[policy(...)]`](macro@policy), before or
/// after that attribute:
///
/// ```text
/// #[register(build = AwardGameResults::new)]
/// #[policy(name = "award_game_results", event = GameCompletedEvent)]
/// impl AwardGameResults { ... }
/// ```
///
/// The block is kept as written; the type is submitted to a process-wide list (through
/// `inventory`) that
/// [`registered_handlers()`](https://docs.rs/eventful-core/latest/eventful_core/registration/fn.registered_handlers.html)
/// reads without building anything.
///
/// At start-up each registered type is built by its constructor:
///
/// - by default `Default::default()`;
/// - with `#[register(build = path::to::constructor)]`, a `fn(&Resources) -> Result<T, E>`
///   (`E` converting into `BoxError`, as `RegistrationError` and most errors do) that takes
///   what the handler needs, such as a repository, from the `Resources` handed to
///   `register_all`; a missing resource is an error naming its type.
///
/// `#[register(crate = "path")]` names a renamed eventful-core. Registration needs a concrete
/// type: a generic impl is an error (add each instantiation by hand with `bus.projection(...)`).
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use eventful_core::prelude::*;
/// use eventful_core::registration::{RegistrationError, registered_handlers};
/// use eventful_store_memory::MemoryStore;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Event, Serialize, Deserialize, Debug)]
/// struct GameCompletedEvent { score: u64 }
///
/// /// How many points a game completed is worth; shared configuration.
/// struct Scoring { multiplier: u64 }
///
/// struct TotalScore { total: AtomicU64, scoring: Arc<Scoring> }
///
/// impl TotalScore {
///     fn new(resources: &Resources) -> Result<Self, RegistrationError> {
///         let scoring = resources.get::<Arc<Scoring>>()?.clone();
///         Ok(Self { total: AtomicU64::new(0), scoring })
///     }
/// }
///
/// #[register(build = TotalScore::new)]
/// #[async_trait]
/// impl Projection for TotalScore {
///     type Event = GameCompletedEvent;
///     fn name(&self) -> &str { "total_score" }
///     async fn apply(&self, event: &RecordedEvent<GameCompletedEvent>) -> Result<(), BoxError> {
///         self.total.fetch_add(event.payload.score * self.scoring.multiplier, Ordering::Relaxed);
///         Ok(())
///     }
///     async fn reset(&self) -> Result<(), BoxError> {
///         self.total.store(0, Ordering::Relaxed);
///         Ok(())
///     }
/// }
///
/// let listed: Vec<String> = registered_handlers().iter().map(|r| r.to_string()).collect();
/// assert!(listed.iter().any(|r| r.starts_with("projection ") && r.ends_with("TotalScore, on game_completed")));
///
/// let store = MemoryStore::new();
/// let mut bus = EventBus::new(store.clone(), store);
/// assert!(matches!(
///     bus.register_all(&Resources::new()),
///     Err(RegistrationError::Build { .. })
/// ));
/// bus.register_all(&Resources::new().with(Arc::new(Scoring { multiplier: 10 })))?;
/// assert_eq!(bus.handlers().map(|(name, _)| name).collect::<Vec<_>>(), ["total_score"]);
/// # Ok::<(), RegistrationError>(())
/// ```
///
/// [`EventBus::register_all`]: https://docs.rs/eventful-core/latest/eventful_core/struct.EventBus.html#method.register_all
#[proc_macro_attribute]
pub fn register(args: TokenStream, input: TokenStream) -> TokenStream {
    register::expand(args.into(), input.into()).into()
}

/// The guide's examples, compiled and run as doc tests so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../docs/writing-an-aggregate.md")]
struct WritingAnAggregate;

/// The read-side guide's examples, compiled and run as doc tests so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../docs/read-models-and-policies.md")]
struct ReadModelsAndPolicies;
