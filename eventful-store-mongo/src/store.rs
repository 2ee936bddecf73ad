//! [`MongoStore`]: connecting (ping, names, indexes), the handle's shared state, and the
//! [`EventStore`] implementation that hands each operation to its module.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use eventful_core::{
    AllBatch, AppendResult, EventFilter, EventStore, ExpectedVersion, NewEvent, Position,
    RecordedEvent, StoreError, StreamId, Version,
};
use mongodb::bson::{RawDocumentBuf, doc};
use mongodb::error::ErrorKind;
use mongodb::options::{ClientOptions, CollectionOptions, ReadPreference, SelectionCriteria};
use mongodb::{Client, Collection, Database};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::error::MongoStoreError;
use crate::gaps::OpenGaps;
use crate::heads::StreamHeads;
use crate::ids;
use crate::indexes::{self, EVENT_INDEXES, OBSOLETE_EVENT_INDEXES};
use crate::problem::SettingsProblem;
use crate::sequence::{self, Sequence};
use crate::settings::{DEFAULT_DATABASE, MongoSettings};

/// The MongoDB event, snapshot and checkpoint store. Clones share one connection pool and
/// one view of the log.
///
/// Several `MongoStore`s (in one process or many) may share a database: each takes its
/// global positions from a shared counter, a block at a time, and the server's unique
/// indexes arbitrate the rest. See the crate documentation for the argument.
#[derive(Clone)]
pub struct MongoStore {
    pub(crate) inner: Arc<Inner>,
}

/// What every clone of a store shares.
pub(crate) struct Inner {
    pub(crate) client: Client,
    pub(crate) database: Database,
    pub(crate) events: Collection<RawDocumentBuf>,
    pub(crate) snapshots: Collection<RawDocumentBuf>,
    pub(crate) checkpoints: Collection<RawDocumentBuf>,
    pub(crate) settings: MongoSettings,
    pub(crate) heads: StreamHeads,
    pub(crate) log: LogHead,
    pub(crate) sequence: Sequence,
    pub(crate) gaps: OpenGaps,
    #[cfg(test)]
    pub(crate) stale_view: crate::stale_view::StaleView,
    /// The server enforces the unique `{event_ids: 1}` index across documents (probed at
    /// connect): an insert reusing a stored id fails, so appends need no ids lookup first.
    pub(crate) ids_enforced: bool,
}

/// What this process knows of the global log's head.
pub(crate) struct LogHead {
    /// The highest position up to which this process has seen every position accounted for
    /// (held by an append or a gap document), for waiters.
    pub(crate) seen: AtomicU64,
    /// The last position of the last append seen below `seen`: the head of the log.
    pub(crate) head_event: AtomicU64,
    /// Woken by every append through this store.
    pub(crate) appended: Notify,
}

impl LogHead {
    fn new() -> Self {
        Self {
            seen: AtomicU64::new(0),
            head_event: AtomicU64::new(0),
            appended: Notify::new(),
        }
    }

    /// Records that everything up to `position` is accounted for.
    pub(crate) fn saw(&self, position: u64) {
        self.seen.fetch_max(position, Ordering::AcqRel);
    }
}

impl MongoStore {
    /// Connects to the deployment in `settings`, checks that it answers, creates the events
    /// collection's indexes if they are missing (dropping the per-stream event ids index of
    /// earlier versions, which the store-wide one replaces), and tries, in a scratch
    /// collection it drops again, whether the server enforces unique multikey indexes (see
    /// [`MongoStore::server_enforces_unique_event_ids`]).
    ///
    /// # Errors
    ///
    /// [`MongoStoreError::InvalidSettings`] for a URI that does not parse or a name MongoDB
    /// refuses; [`MongoStoreError::Unreachable`] when no server answers within the server
    /// selection timeout; [`MongoStoreError::Unauthorized`] when the credentials are refused
    /// or lack a right; [`MongoStoreError::Index`] when an index the store relies on exists in
    /// another form.
    pub async fn connect(settings: MongoSettings) -> Result<Self, MongoStoreError> {
        Self::open(settings, None).await
    }

    /// [`MongoStore::connect`], taking the server to enforce unique multikey indexes or not
    /// as `ids_enforced` says instead of probing it when it says anything (for tests of each
    /// way on one server).
    pub(crate) async fn open(
        settings: MongoSettings,
        ids_enforced: Option<bool>,
    ) -> Result<Self, MongoStoreError> {
        let mut options =
            ClientOptions::parse(settings.uri())
                .await
                .map_err(|error| match error.kind.as_ref() {
                    ErrorKind::InvalidArgument { message, .. } => {
                        MongoStoreError::InvalidSettings {
                            setting: "uri",
                            problem: SettingsProblem::Uri {
                                message: message.clone(),
                            },
                        }
                    }
                    _ => MongoStoreError::from_driver("resolving the URI", "", error),
                })?;
        if options.app_name.is_none() {
            options.app_name = Some("eventful".to_owned());
        }
        if let Some(timeout) = settings.server_selection_timeout() {
            options.server_selection_timeout = Some(timeout);
        }
        let database_name = settings
            .database()
            .map(str::to_owned)
            .or_else(|| options.default_database.clone())
            .unwrap_or_else(|| DEFAULT_DATABASE.to_owned());
        settings.validate(&database_name)?;
        let client =
            Client::with_options(options).map_err(|error| MongoStoreError::InvalidSettings {
                setting: "uri",
                problem: SettingsProblem::Uri {
                    message: error.to_string(),
                },
            })?;
        let database = client.database(&database_name);
        database
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(|error| MongoStoreError::from_driver("ping", &database_name, error))?;
        // Reads go to the primary whatever the URI prefers: a secondary may not have an
        // append this store just made, and the repository reads its own writes.
        let collection_options = CollectionOptions::builder()
            .write_concern(settings.write_concern().clone())
            .read_concern(settings.read_concern().clone())
            .selection_criteria(SelectionCriteria::ReadPreference(ReadPreference::Primary))
            .build();
        let collection = |name: &str| {
            database.collection_with_options::<RawDocumentBuf>(name, collection_options.clone())
        };
        let events = collection(settings.events_collection());
        let snapshots = collection(settings.snapshots_collection());
        let checkpoints = collection(settings.checkpoints_collection());
        indexes::ensure(
            &events,
            &EVENT_INDEXES,
            &OBSOLETE_EVENT_INDEXES,
            &database_name,
        )
        .await?;
        let ids_enforced = match ids_enforced {
            Some(enforced) => enforced,
            None => ids::probe(&database).await?,
        };
        if !ids_enforced {
            tracing::info!(
                database = %database_name,
                "the server does not enforce unique multikey indexes: appends of several \
                 events claim their event ids with documents of their own"
            );
        }
        let inner = Arc::new(Inner {
            client,
            database,
            events,
            snapshots,
            checkpoints,
            heads: StreamHeads::new(settings.head_cache_capacity()),
            settings,
            log: LogHead::new(),
            sequence: Sequence::new(),
            gaps: OpenGaps::default(),
            #[cfg(test)]
            stale_view: Default::default(),
            ids_enforced,
        });
        inner.start_sequence().await?;
        sequence::spawn_keeper(&inner);
        Ok(Self { inner })
    }

    /// The settings the store was connected with.
    pub fn settings(&self) -> &MongoSettings {
        &self.inner.settings
    }

    /// The store's database, for administration (and for dropping a test database).
    pub fn database(&self) -> &Database {
        &self.inner.database
    }

    /// The driver's client, shared by every clone of the store.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// Whether the server enforces the unique `{event_ids: 1}` index across documents, as
    /// MongoDB does: then an append whose ids are stored elsewhere fails on the index, and
    /// appends need nothing more. When `false` (a wire-compatible server that indexes an
    /// array as one value, such as nx-27017, or one that would not let the store try), the
    /// store inserts, with each append of several events and in the same ordered
    /// `insert_many`, a claim document per event id, which the server's unique index does
    /// compare (an append of one event needs none). Probed at connect.
    pub fn server_enforces_unique_event_ids(&self) -> bool {
        self.inner.ids_enforced
    }
}

impl fmt::Debug for MongoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoStore")
            .field("database", &self.inner.database.name())
            .field("events", &self.inner.events.name())
            .field("snapshots", &self.inner.snapshots.name())
            .field("checkpoints", &self.inner.checkpoints.name())
            .field("ids_enforced", &self.inner.ids_enforced)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// Turns a driver error from `operation` into the store's error.
    pub(crate) fn driver_error(
        &self,
        operation: &'static str,
        error: mongodb::error::Error,
    ) -> StoreError {
        MongoStoreError::from_driver(operation, self.database.name(), error).into()
    }
}

impl EventStore for MongoStore {
    async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult, StoreError> {
        self.inner.append(stream_id, expected, events).await
    }

    async fn read_stream(
        &self,
        stream_id: &StreamId,
        from: Version,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.read_stream(stream_id, from, limit).await
    }

    async fn stream_version(&self, stream_id: &StreamId) -> Result<Version, StoreError> {
        self.inner.stream_version(stream_id).await.map(Version::new)
    }

    async fn read_all(
        &self,
        from: Position,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<AllBatch, StoreError> {
        self.inner.read_all(from, filter, limit).await
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        self.inner.log_head().await.map(Position::new)
    }

    async fn wait_for_append(&self, after: Position) {
        self.inner.wait_for_append(after.get()).await;
    }

    async fn find_event(
        &self,
        stream_id: &StreamId,
        event_id: Uuid,
    ) -> Result<Option<RecordedEvent>, StoreError> {
        self.inner.find_event(stream_id, event_id).await
    }
}
