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
//! `register` is small enough to be one file. `stored_name` and `crate_path` are shared.

mod aggregate;
mod command;
mod crate_path;
mod ctxt;
mod event;
mod meta_keys;
mod register;
mod stored_name;

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

/// Registers a projection, policy or event handler, so that one call at start-up,
/// [`EventBus::register_all`], adds it to the bus.
///
/// Put it on the `impl Projection for T`, `impl Policy for T` or `impl EventHandler for T`
/// block (before or after `#[async_trait]`). The block is kept as written; the type is
/// submitted to a process-wide list (through `inventory`) that
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
