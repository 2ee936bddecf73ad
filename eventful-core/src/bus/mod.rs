//! The event bus: publish/subscribe over the store's log, in one process or shared by many.
//!
//! Publishing is appending: a handler sees an event only once the store has committed it, and
//! each handler follows the log from its own progress, so a handler that failed or a program
//! that restarted resumes where it stopped and loses nothing. Handlers subscribe by Rust type
//! ([`EventBus::subscribe`]) or by stored type name ([`EventBus::subscribe_named`]);
//! projections and policies are handlers too.
//!
//! Where a handler's progress lives is its own setting ([`HandlerSettings`]): volatile
//! (in this process; an in-memory read model starts from the first event at every start) or
//! durable (in the checkpoint store, split into segments that the instances sharing the
//! store claim one at a time, so each event is handled once in total). docs/scaling.md tells
//! how several instances share handlers.
//!
//! | module | what lives there |
//! | --- | --- |
//! | `builder` | [`EventBus`]: the handlers before they start, and [`DEFAULT_LEASE`] |
//! | `running` | [`RunningBus`]: the handlers' tasks, one per segment, spawned, restarted, rebuilt, stopped |
//! | `wait` | waiting on a running bus: [`RunningBus::wait_until`], [`RunningBus::wait_until_caught_up`], [`RunningBus::wait_until_settled`] |
//! | `control` | what an operator does to a running handler: pause and resume it, list, replay and dismiss its parked events |
//! | `settings` | [`HandlerSettings`], [`Progress`], [`OnFailure`] |
//! | `runner` | one segment of one handler on its task: claim, read, handle, park, save |
//! | `status` | [`HandlerStatus`], [`SegmentStatus`], [`HandlerFailure`], [`BusError`], and [`RunningBus::status`] gathering them |
//! | `reshape` | [`reshape_segments`]: a durable handler's progress split or merged into another number of segments |

mod builder;
mod control;
mod reshape;
mod runner;
mod running;
mod settings;
mod status;
mod wait;

pub use self::builder::{DEFAULT_LEASE, EventBus};
pub use self::reshape::reshape_segments;
pub use self::running::RunningBus;
pub use self::settings::{HandlerSettings, OnFailure, Progress};
pub use self::status::{BusError, HandlerFailure, HandlerStatus, SegmentStatus};
