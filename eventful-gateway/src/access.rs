//! What a client may follow: the [`Access`] check the gateway asks before every subscription,
//! and [`Rules`], the usual one (own stream, streams named in the token, public event types).

use std::collections::HashSet;

use async_trait::async_trait;

use crate::auth::Claims;
use crate::protocol::Topic;

/// Decides whether the holder of `claims` may follow a topic. Asked once per subscription,
/// before anything of it is sent.
///
/// A game implements it to add what only it knows, such as which sessions a player is in,
/// usually around [`Rules`]:
///
/// ```
/// use eventful_gateway::{Access, Claims, Rules, Topic};
///
/// struct OwnStreamAndLobby(Rules);
///
/// #[eventful_gateway::async_trait]
/// impl Access for OwnStreamAndLobby {
///     async fn allows(&self, claims: &Claims, topic: &Topic) -> bool {
///         matches!(topic, Topic::Stream(stream) if stream == "lobby")
///             || self.0.allows(claims, topic).await
///     }
/// }
/// ```
#[async_trait]
pub trait Access: Send + Sync + 'static {
    /// Whether `claims` allow `topic`.
    async fn allows(&self, claims: &Claims, topic: &Topic) -> bool;
}

/// The usual access: a client follows its own stream (`<aggregate>-<sub>`), the streams its
/// token lists, and the public event types.
///
/// ```
/// use eventful_gateway::{Access, Claims, Rules, Topic};
///
/// # async fn demo() {
/// let rules = Rules::own_stream("player").with_public_event_type("leaderboard_changed");
/// let claims = Claims::new("7", chrono::Utc::now()).with_stream("game_session-3");
/// for (topic, allowed) in [
///     (Topic::Stream("player-7".into()), true),
///     (Topic::Stream("game_session-3".into()), true),
///     (Topic::EventType("leaderboard_changed".into()), true),
///     (Topic::Stream("player-8".into()), false),
///     (Topic::EventType("player_created".into()), false),
/// ] {
///     assert_eq!(rules.allows(&claims, &topic).await, allowed, "{topic}");
/// }
/// # }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo());
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
    async fn allows(&self, claims: &Claims, topic: &Topic) -> bool {
        match topic {
            Topic::Stream(stream) => {
                self.is_own_stream(claims, stream) || claims.streams.iter().any(|s| s == stream)
            }
            Topic::EventType(event_type) => self.public_event_types.contains(event_type),
        }
    }
}
