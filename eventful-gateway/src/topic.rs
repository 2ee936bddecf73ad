//! A [`Topic`] whose name has been checked once: a valid stream id or event type name, so
//! that routing and catch-up reads never meet a name the store would refuse.

use eventful_core::{NameError, StreamId, TypeName};

use crate::protocol::Topic;

/// A topic with a valid name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ValidTopic {
    Stream(StreamId),
    EventType(TypeName),
}

impl ValidTopic {
    /// Checks `topic`'s name.
    pub(crate) fn new(topic: &Topic) -> Result<Self, NameError> {
        match topic {
            Topic::Stream(stream) => StreamId::new(stream).map(Self::Stream),
            Topic::EventType(event_type) => TypeName::new(event_type).map(Self::EventType),
        }
    }

    /// The stream id or the event type name.
    pub(crate) fn name(&self) -> &str {
        match self {
            Self::Stream(stream) => stream.as_str(),
            Self::EventType(event_type) => event_type.as_str(),
        }
    }
}
