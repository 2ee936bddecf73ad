//! Handlers that register themselves: every `impl Projection`, `impl Policy` or
//! `impl EventHandler` marked `#[register]` is collected (through `inventory`) into a list that
//! one call at start-up, [`EventBus::register_all`], turns into running handlers.
//!
//! Registration stays explicit to read: [`registered_handlers`] lists what the program
//! registered (kind, Rust type, what each subscribes to) without building or starting
//! anything. A test can still add handlers by hand with [`EventBus::projection`],
//! [`EventBus::policy`] or [`EventBus::handler`], or pick registrations from that list and
//! add `bus.handler(registration.build(&resources)?)` for each.
//!
//! A handler is built by its constructor: `Default::default` unless the attribute names
//! another with `#[register(build = path)]`, a `fn(&Resources) -> Result<Self, E>` (where
//! `E` converts into [`BoxError`]) that takes what it needs (a repository, a client) from the
//! [`Resources`] given to `register_all`.
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use eventful_core::prelude::*;
//! use eventful_core::registration::{Resources, registered_handlers};
//! use eventful_store_memory::MemoryStore;
//! # use eventful_core::{Event as _, EventType, Payload, PayloadError, DecodeFailure};
//! # #[derive(serde::Serialize, serde::Deserialize, Debug)]
//! # pub struct GameCompleted { pub score: u64 }
//! # impl eventful_core::Event for GameCompleted {
//! #     const EVENT_TYPES: &'static [EventType] = &[EventType::new("game_completed", 1)];
//! #     fn event_type(&self) -> &'static EventType { &Self::EVENT_TYPES[0] }
//! #     fn encode(&self) -> Result<Payload, PayloadError> { Payload::encode(self) }
//! #     fn decode(_: &str, p: &Payload) -> Result<Self, DecodeFailure> { Ok(p.decode()?) }
//! # }
//!
//! #[derive(Default)]
//! struct HighScore(AtomicU64);
//!
//! #[eventful_core::register]
//! #[async_trait]
//! impl Projection for HighScore {
//!     type Event = GameCompleted;
//!     fn name(&self) -> &str { "high_score" }
//!     async fn apply(&self, event: &RecordedEvent<GameCompleted>) -> Result<(), BoxError> {
//!         self.0.fetch_max(event.payload.score, Ordering::Relaxed);
//!         Ok(())
//!     }
//!     async fn reset(&self) -> Result<(), BoxError> {
//!         self.0.store(0, Ordering::Relaxed);
//!         Ok(())
//!     }
//! }
//!
//! for registration in registered_handlers() {
//!     println!("{registration}"); // projection HighScore, on game_completed
//! }
//!
//! let store = MemoryStore::new();
//! let mut bus = EventBus::new(store.clone(), store);
//! bus.register_all(&Resources::new())?;
//! assert!(bus.handlers().any(|(name, _)| name == "high_score"));
//! # Ok::<(), eventful_core::registration::RegistrationError>(())
//! ```

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::bus::EventBus;
use crate::event::{Event, EventType};
use crate::handler::EventHandler;
use crate::policy::{Policy, PolicyHandler};
use crate::projection::{Projection, ProjectionHandler};
use crate::store::EventStore;
use crate::upcast::BoxError;

/// Why registered handlers could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// A constructor asked [`Resources`] for a value that was never inserted.
    #[error(
        "no resource of type `{resource}` was provided; insert one with `Resources::insert` \
         before calling `register_all`"
    )]
    MissingResource {
        /// The Rust type that was asked for.
        resource: &'static str,
    },
    /// A handler's constructor failed.
    #[error("cannot build the registered {kind} `{rust_type}`: {source}")]
    Build {
        /// What kind of handler it is.
        kind: HandlerKind,
        /// Its Rust type.
        rust_type: &'static str,
        /// What its constructor returned.
        #[source]
        source: BoxError,
    },
}

/// What a registered type implements, and so how the bus runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum HandlerKind {
    /// An `impl Projection`: a read model.
    Projection,
    /// An `impl Policy`: reacts to events with commands.
    Policy,
    /// An `impl EventHandler`: any consumer of the log.
    EventHandler,
}

impl fmt::Display for HandlerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Projection => "projection",
            Self::Policy => "policy",
            Self::EventHandler => "event handler",
        })
    }
}

/// Builds a registered handler from the program's [`Resources`].
pub type BuildHandler = fn(&Resources) -> Result<Arc<dyn EventHandler>, RegistrationError>;

/// One handler type registered with `#[register]`, as `inventory` collects it.
///
/// Made by the attribute's generated code through [`HandlerRegistration::projection`],
/// [`HandlerRegistration::policy`] or [`HandlerRegistration::event_handler`].
pub struct HandlerRegistration {
    /// What the type implements.
    pub kind: HandlerKind,
    /// The Rust type's path, as `std::any::type_name` gives it.
    pub rust_type: fn() -> &'static str,
    /// The event types it subscribes to, where the type says so statically (projections and
    /// policies: their `Event`'s types); `None` for an `EventHandler`, whose
    /// [`filter`](EventHandler::filter) decides once it is built.
    pub event_types: Option<&'static [EventType]>,
    /// Builds it.
    pub build: BuildHandler,
}

impl HandlerRegistration {
    /// The registration of projection `P`, built by `build`.
    pub const fn projection<P: Projection>(build: BuildHandler) -> Self {
        Self {
            kind: HandlerKind::Projection,
            rust_type: std::any::type_name::<P>,
            event_types: Some(<P::Event as Event>::EVENT_TYPES),
            build,
        }
    }

    /// The registration of policy `P`, built by `build`.
    pub const fn policy<P: Policy>(build: BuildHandler) -> Self {
        Self {
            kind: HandlerKind::Policy,
            rust_type: std::any::type_name::<P>,
            event_types: Some(<P::Event as Event>::EVENT_TYPES),
            build,
        }
    }

    /// The registration of event handler `H`, built by `build`.
    pub const fn event_handler<H: EventHandler>(build: BuildHandler) -> Self {
        Self {
            kind: HandlerKind::EventHandler,
            rust_type: std::any::type_name::<H>,
            event_types: None,
            build,
        }
    }

    /// Builds the handler, ready for [`EventBus::handler`].
    pub fn build(&self, resources: &Resources) -> Result<Arc<dyn EventHandler>, RegistrationError> {
        (self.build)(resources)
    }

    /// Wraps what a projection's constructor returned; used by `#[register]`'s generated code.
    #[doc(hidden)]
    pub fn built_projection<P: Projection>(
        built: Result<P, BoxError>,
    ) -> Result<Arc<dyn EventHandler>, RegistrationError> {
        let projection = built.map_err(build_error::<P>(HandlerKind::Projection))?;
        Ok(Arc::new(ProjectionHandler(projection)))
    }

    /// Wraps what a policy's constructor returned; used by `#[register]`'s generated code.
    #[doc(hidden)]
    pub fn built_policy<P: Policy>(
        built: Result<P, BoxError>,
    ) -> Result<Arc<dyn EventHandler>, RegistrationError> {
        let policy = built.map_err(build_error::<P>(HandlerKind::Policy))?;
        Ok(Arc::new(PolicyHandler(policy)))
    }

    /// Wraps what an event handler's constructor returned; used by `#[register]`'s
    /// generated code.
    #[doc(hidden)]
    pub fn built_event_handler<H: EventHandler>(
        built: Result<H, BoxError>,
    ) -> Result<Arc<dyn EventHandler>, RegistrationError> {
        let handler = built.map_err(build_error::<H>(HandlerKind::EventHandler))?;
        Ok(Arc::new(handler))
    }
}

fn build_error<T>(kind: HandlerKind) -> impl FnOnce(BoxError) -> RegistrationError {
    move |source| RegistrationError::Build {
        kind,
        rust_type: std::any::type_name::<T>(),
        source,
    }
}

impl fmt::Display for HandlerRegistration {
    /// `projection my_game::Leaderboard, on game_completed, player_created`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, (self.rust_type)())?;
        match self.event_types {
            Some(types) => {
                f.write_str(", on ")?;
                for (i, event_type) in types.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&event_type.name)?;
                }
                Ok(())
            }
            None => f.write_str(", on what its filter() says"),
        }
    }
}

impl fmt::Debug for HandlerRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerRegistration")
            .field("kind", &self.kind)
            .field("rust_type", &(self.rust_type)())
            .field("event_types", &self.event_types)
            .finish_non_exhaustive()
    }
}

inventory::collect!(HandlerRegistration);

/// Every handler registered in this program with `#[register]`, ordered by Rust type, without
/// building any of them.
pub fn registered_handlers() -> Vec<&'static HandlerRegistration> {
    let mut registrations: Vec<_> = inventory::iter::<HandlerRegistration>.into_iter().collect();
    registrations.sort_by_key(|registration| (registration.rust_type)());
    registrations
}

/// What registered handlers are built from: one value per Rust type, such as a repository or
/// a client, inserted at start-up and taken by the handlers' constructors.
///
/// ```
/// use eventful_core::registration::{RegistrationError, Resources};
///
/// #[derive(Clone)]
/// struct Mailer { from: &'static str }
///
/// let mut resources = Resources::new();
/// resources.insert(Mailer { from: "noreply@game.example" });
/// assert_eq!(resources.get::<Mailer>()?.from, "noreply@game.example");
/// assert!(matches!(
///     resources.get::<String>(),
///     Err(RegistrationError::MissingResource { resource: "alloc::string::String" })
/// ));
/// # Ok::<(), RegistrationError>(())
/// ```
#[derive(Default)]
pub struct Resources {
    by_type: HashMap<TypeId, Resource>,
}

struct Resource {
    type_name: &'static str,
    value: Box<dyn Any + Send + Sync>,
}

impl Resources {
    /// No resources yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value`, replacing any earlier value of the same type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) -> &mut Self {
        self.by_type.insert(
            TypeId::of::<T>(),
            Resource {
                type_name: std::any::type_name::<T>(),
                value: Box::new(value),
            },
        );
        self
    }

    /// Adds `value`; the builder form of [`Resources::insert`].
    pub fn with<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.insert(value);
        self
    }

    /// The value of type `T`, or an error naming `T` when there is none.
    pub fn get<T: Send + Sync + 'static>(&self) -> Result<&T, RegistrationError> {
        self.by_type
            .get(&TypeId::of::<T>())
            .and_then(|resource| resource.value.downcast_ref())
            .ok_or(RegistrationError::MissingResource {
                resource: std::any::type_name::<T>(),
            })
    }

    /// The types held, in no particular order.
    pub fn type_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.by_type.values().map(|resource| resource.type_name)
    }
}

impl fmt::Debug for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.type_names()).finish()
    }
}

impl<S: EventStore + Clone + 'static> EventBus<S> {
    /// Builds every handler registered with `#[register]` from `resources` and adds it to the
    /// bus, in the order of [`registered_handlers`].
    ///
    /// Nothing is added when one of them fails to build: the error names it.
    pub fn register_all(&mut self, resources: &Resources) -> Result<&mut Self, RegistrationError> {
        let handlers = registered_handlers()
            .into_iter()
            .map(|registration| registration.build(resources))
            .collect::<Result<Vec<_>, _>>()?;
        for handler in handlers {
            self.handler(handler);
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_found_by_type() {
        let resources = Resources::new().with(7u32).with(String::from("seven"));
        assert_eq!(resources.get::<u32>().ok(), Some(&7));
        assert_eq!(
            resources.get::<String>().map(String::as_str).ok(),
            Some("seven")
        );
        let missing = resources.get::<u64>().expect_err("no u64 was inserted");
        assert!(missing.to_string().contains("`u64`"), "{missing}");
    }

    #[test]
    fn a_later_insert_replaces_the_value() {
        let mut resources = Resources::new();
        resources.insert(1u8).insert(2u8);
        assert_eq!(resources.get::<u8>().ok(), Some(&2));
        assert_eq!(resources.type_names().count(), 1);
    }
}
