//! What a client may follow: the [`Access`] check the gateway asks before every subscription,
//! [`Rules`], the usual one (own stream, streams named in the token, public event types), and
//! [`AccessError`], for a check that could not be made.

use std::collections::HashSet;

use async_trait::async_trait;

use crate::auth::Claims;
use crate::protocol::Topic;

/// Decides whether the holder of `claims` may follow a topic. Asked once per subscription,
/// before anything of it is sent.
///
/// A game implements it to add what only it knows, such as which sessions a player is in,
/// usually around [`Rules`]. `Ok(false)` refuses the subscription as `forbidden`; an
/// [`AccessError`] (what the decision needs could not be read) refuses it as
/// `store_unavailable`, which tells the client to try again rather than that it may not:
///
/// ```
/// use eventful_gateway::{Access, AccessError, Claims, Rules, Topic};
///
/// struct OwnStreamAndLobby(Rules);
///
/// #[eventful_gateway::async_trait]
/// impl Access for OwnStreamAndLobby {
///     async fn allows(&self, claims: &Claims, topic: &Topic) -> Result<bool, AccessError> {
///         if matches!(topic, Topic::Stream(stream) if stream == "lobby") {
///             return Ok(true);
///         }
///         self.0.allows(claims, topic).await
///     }
/// }
/// ```
#[async_trait]
pub trait Access: Send + Sync + 'static {
    /// Whether `claims` allow `topic`, or why that could not be decided.
    async fn allows(&self, claims: &Claims, topic: &Topic) -> Result<bool, AccessError>;
}

/// Why an [`Access`] could not decide.
///
/// ```
/// use eventful_gateway::AccessError;
///
/// let error = AccessError::unavailable(std::io::Error::other("the session store is down"));
/// assert_eq!(
///     error.to_string(),
///     "what the access check needs could not be read: the session store is down"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// What the decision needs (the players of a session, say) could not be read.
    #[error("what the access check needs could not be read: {source}")]
    Unavailable {
        /// What failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl AccessError {
    /// What the decision needs could not be read, because of `source`.
    pub fn unavailable(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Unavailable {
            source: source.into(),
        }
    }
}

/// The usual access: a client follows its own stream (`<aggregate>-<sub>`), the streams its
/// token lists, and the public event types.
///
/// ```
/// use eventful_gateway::{Access, Claims, Rules, Topic};
///
/// # async fn demo() -> Result<(), eventful_gateway::AccessError> {
/// let rules = Rules::own_stream("player").with_public_event_type("leaderboard_changed");
/// let claims = Claims::new("7", chrono::Utc::now()).with_stream("game_session-3");
/// for (topic, allowed) in [
///     (Topic::Stream("player-7".into()), true),
///     (Topic::Stream("game_session-3".into()), true),
///     (Topic::EventType("leaderboard_changed".into()), true),
///     (Topic::Stream("player-8".into()), false),
///     (Topic::EventType("player_created".into()), false),
/// ] {
///     assert_eq!(rules.allows(&claims, &topic).await?, allowed, "{topic}");
/// }
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct Rules {
    own_stream_aggregate: Option<String>,
    public_event_types: HashSet<String>,
}

impl Rules {
    /// Rules under which the holder of a token follows the stream of aggregate type
    /// `aggregate` whose id is the token's subject (`player` and subject `7`: `player-7`).
    pub fn own_stream(aggregate: impl Into<String>) -> Self {
        Self {
            own_stream_aggregate: Some(aggregate.into()),
            public_event_types: HashSet::new(),
        }
    }

    /// Lets every client follow events of `event_type`.
    pub fn with_public_event_type(mut self, event_type: impl Into<String>) -> Self {
        self.public_event_types.insert(event_type.into());
        self
    }

    fn is_own_stream(&self, claims: &Claims, stream: &str) -> bool {
        self.own_stream_aggregate
            .as_deref()
            .is_some_and(|aggregate| {
                stream
                    .strip_prefix(aggregate)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|id| id == claims.sub)
            })
    }
}

#[async_trait]
impl Access for Rules {
    async fn allows(&self, claims: &Claims, topic: &Topic) -> Result<bool, AccessError> {
        Ok(match topic {
            Topic::Stream(stream) => {
                self.is_own_stream(claims, stream) || claims.streams.iter().any(|s| s == stream)
            }
            Topic::EventType(event_type) => self.public_event_types.contains(event_type),
        })
    }
}
