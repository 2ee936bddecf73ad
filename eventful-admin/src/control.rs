//! What the admin API drives, behind small object-safe traits so that its routes are not
//! generic: the running bus, the read models it can rebuild into a fresh copy, and the
//! aggregates it can read back.

use std::marker::PhantomData;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use eventful_core::progress::ParkedEvent;
use eventful_core::projection::{Projection, RebuildError};
use eventful_core::swappable::Swappable;
use eventful_core::{
    Aggregate, BusError, DynEventStore, EventStore, EventStoreExt, HandlerStatus, LoadError,
    Position, Repository, RunningBus, StreamId, Upcasters, Version,
};
use futures::TryStreamExt;
use serde::Serialize;
use uuid::Uuid;

use crate::error::AdminError;
use crate::views::AggregateView;

/// The store as the admin API reads it.
pub(crate) type Store = Arc<dyn DynEventStore>;

/// The running bus's operations the admin API calls.
#[async_trait]
pub(crate) trait BusControl: Send + Sync {
    async fn status(&self) -> Result<Vec<HandlerStatus>, BusError>;
    async fn pause(&self, name: &str) -> Result<(), BusError>;
    fn resume(&self, name: &str) -> Result<(), BusError>;
    async fn parked(&self, name: &str) -> Result<Vec<ParkedEvent>, BusError>;
    async fn replay_parked(&self, name: &str, event_id: Uuid) -> Result<(), BusError>;
    async fn dismiss_parked(&self, name: &str, event_id: Uuid) -> Result<(), BusError>;
}

#[async_trait]
impl<S: EventStore + Clone + 'static> BusControl for RunningBus<S> {
    async fn status(&self) -> Result<Vec<HandlerStatus>, BusError> {
        RunningBus::status(self).await
    }
    async fn pause(&self, name: &str) -> Result<(), BusError> {
        RunningBus::pause(self, name).await
    }
    fn resume(&self, name: &str) -> Result<(), BusError> {
        RunningBus::resume(self, name)
    }
    async fn parked(&self, name: &str) -> Result<Vec<ParkedEvent>, BusError> {
        RunningBus::parked(self, name).await
    }
    async fn replay_parked(&self, name: &str, event_id: Uuid) -> Result<(), BusError> {
        RunningBus::replay_parked(self, name, event_id).await
    }
    async fn dismiss_parked(&self, name: &str, event_id: Uuid) -> Result<(), BusError> {
        RunningBus::dismiss_parked(self, name, event_id).await
    }
}

/// A read model the admin API can rebuild into a fresh copy.
#[async_trait]
pub(crate) trait Rebuild: Send + Sync {
    async fn rebuild(&self, store: &Store, upcasters: &Upcasters)
    -> Result<Position, RebuildError>;
}

#[async_trait]
impl<P: Projection> Rebuild for Swappable<P> {
    async fn rebuild(
        &self,
        store: &Store,
        upcasters: &Upcasters,
    ) -> Result<Position, RebuildError> {
        Swappable::rebuild(self, store, upcasters).await
    }
}

/// Which version of a stream or aggregate a read is as of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AsOf {
    /// Its latest.
    Latest,
    /// This version (refused if the stream has not reached it).
    Version(Version),
    /// The last event recorded at or before this time.
    Time(DateTime<Utc>),
}

impl AsOf {
    /// The version this means for `stream_id`, now at `current`.
    pub(crate) async fn resolve(
        self,
        store: &Store,
        stream_id: &StreamId,
        current: Version,
    ) -> Result<Version, AdminError> {
        match self {
            Self::Latest => Ok(current),
            Self::Version(asked) if asked > current => Err(AdminError::VersionBeyondStream {
                stream_id: stream_id.to_string(),
                asked,
                current,
            }),
            Self::Version(asked) => Ok(asked),
            Self::Time(at) => {
                let mut events = store.read_stream_events(stream_id.clone(), Version::new(1));
                let mut version = Version::NONE;
                while let Some(event) = events.try_next().await? {
                    if event.recorded_at > at {
                        break;
                    }
                    version = event.version;
                }
                Ok(version)
            }
        }
    }
}

/// An aggregate type the admin API can read back as of a version.
#[async_trait]
pub(crate) trait AggregateReader: Send + Sync {
    async fn read(
        &self,
        store: &Store,
        upcasters: &Upcasters,
        id: &str,
        as_of: AsOf,
    ) -> Result<AggregateView, AdminError>;
}

/// Reads aggregates of type `A`.
pub(crate) struct AggregateOf<A>(pub(crate) PhantomData<fn() -> A>);

#[async_trait]
impl<A> AggregateReader for AggregateOf<A>
where
    A: Aggregate + Serialize + Send + Sync,
    A::Id: FromStr,
    <A::Id as FromStr>::Err: std::error::Error + Send + Sync + 'static,
{
    async fn read(
        &self,
        store: &Store,
        upcasters: &Upcasters,
        id: &str,
        as_of: AsOf,
    ) -> Result<AggregateView, AdminError> {
        let bad_id = |error: &dyn std::fmt::Display| AdminError::BadRequest {
            argument: "id",
            reason: error.to_string(),
        };
        let stream_id = StreamId::for_aggregate(&A::TYPE, &id).map_err(|error| bad_id(&error))?;
        let typed = A::id_of(&stream_id).map_err(|error| bad_id(&error))?;
        let current = store.stream_version(&stream_id).await?;
        if current == Version::NONE {
            return Err(AdminError::StreamNotFound {
                stream_id: stream_id.to_string(),
            });
        }
        let version = as_of.resolve(store, &stream_id, current).await?;
        // No cache: an admin read is rare, and must see the store, not a state kept here.
        let repository = Repository::<A, Store>::new(store.clone())
            .with_cache_capacity(0)
            .with_upcasters(upcasters.clone());
        let loaded = repository
            .load_at(&typed, version)
            .await
            .map_err(|error| match error {
                LoadError::Store(error) => AdminError::Store(error),
                other => AdminError::Unreadable {
                    stream_id: stream_id.to_string(),
                    reason: other.to_string(),
                },
            })?;
        let state =
            serde_json::to_value(&loaded.state).map_err(|error| AdminError::Unreadable {
                stream_id: stream_id.to_string(),
                reason: error.to_string(),
            })?;
        Ok(AggregateView {
            aggregate_type: A::TYPE.to_string(),
            stream_id: stream_id.to_string(),
            version: loaded.version.get(),
            current_version: current.get(),
            state,
        })
    }
}
