//! What can go wrong loading an aggregate or running a command, each its own variant.
//!
//! A variant that wraps another error of this crate shows that error's message and has it as
//! its `source`, rather than being transparent: code that walks an error's chain finds the
//! [`StoreError`] in it (a broker consumer telling a store that is away, to wait for, from an
//! event that fails, to retry or set aside). A reporter that prints the whole chain shows the
//! wrapped message twice.

use super::append::{AppendError, EncodeError};
use crate::envelope::{ExpectedVersion, Version};
use crate::event::DecodeError;
use crate::names::{NameError, StreamId};
use crate::store::StoreError;

/// Why an aggregate could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The aggregate id does not make a valid stream id.
    #[error("invalid aggregate id: {0}")]
    InvalidId(#[from] NameError),
    /// A stored event no longer deserializes (the stream is left as it is).
    #[error("{0}")]
    Decode(#[from] DecodeError),
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Why a command did not commit. `E` is the aggregate's own error type.
///
/// ```
/// use eventful_core::CommandError;
///
/// fn explain<E: std::error::Error>(error: &CommandError<E>) -> &'static str {
///     match error {
///         CommandError::Rejected { .. } => "the game rules said no",
///         CommandError::Conflict { .. } => "too many concurrent writers; try again",
///         _ => "infrastructure failure",
///     }
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError<E> {
    /// The aggregate refused the command; nothing was written.
    #[error("stream `{stream_id}` rejected the command: {source}")]
    Rejected {
        /// The aggregate's stream.
        stream_id: StreamId,
        /// The aggregate's reason.
        #[source]
        source: E,
    },
    /// Concurrent writers moved the stream on every attempt; nothing was written.
    #[error(
        "stream `{stream_id}` kept changing: expected {expected}, found version {actual} \
         after {attempts} attempts"
    )]
    Conflict {
        /// The aggregate's stream.
        stream_id: StreamId,
        /// What the last attempt expected.
        expected: ExpectedVersion,
        /// The version the store reported.
        actual: Version,
        /// Attempts made.
        attempts: u32,
    },
    /// The aggregate id does not make a valid stream id.
    #[error("invalid aggregate id: {0}")]
    InvalidId(NameError),
    /// A stored event of the aggregate no longer deserializes (the stream is left as it is).
    #[error("{0}")]
    Decode(#[source] DecodeError),
    /// An event the aggregate decided on could not be serialized; nothing was written.
    #[error("{0}")]
    Encode(#[source] EncodeError),
    /// The store failed; the command may or may not have committed if the failure came
    /// during the append (running it again with the same idempotency key is safe).
    #[error("{0}")]
    Store(#[source] StoreError),
}

impl<E> From<LoadError> for CommandError<E> {
    fn from(error: LoadError) -> Self {
        match error {
            LoadError::InvalidId(error) => Self::InvalidId(error),
            LoadError::Decode(error) => Self::Decode(error),
            LoadError::Store(error) => Self::Store(error),
        }
    }
}

impl<E> CommandError<E> {
    /// The aggregate's own reason, when the aggregate refused the command: for matching the
    /// rejections a caller expects (a player who already left) without naming the variant's
    /// fields.
    ///
    /// ```
    /// use eventful_core::{CommandError, StreamId};
    ///
    /// #[derive(Debug, PartialEq, thiserror::Error)]
    /// enum ClanError { #[error("not a member")] NotAMember }
    ///
    /// let error = CommandError::Rejected { stream_id: StreamId::new("clan-1")?, source: ClanError::NotAMember };
    /// assert_eq!(error.rejection(), Some(&ClanError::NotAMember));
    /// # Ok::<(), eventful_core::NameError>(())
    /// ```
    pub fn rejection(&self) -> Option<&E> {
        match self {
            Self::Rejected { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl<E> From<AppendError> for CommandError<E> {
    fn from(error: AppendError) -> Self {
        match error {
            AppendError::Encode(error) => Self::Encode(error),
            AppendError::Store(error) => Self::Store(error),
        }
    }
}

impl<E> From<StoreError> for CommandError<E> {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}
