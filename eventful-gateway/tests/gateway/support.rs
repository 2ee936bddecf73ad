//! A gateway on a memory store served on a loopback port, tokens, and the two clients: a
//! real WebSocket client (tokio-tungstenite) and an SSE client (reqwest streaming).

use std::net::SocketAddr;
use std::time::Duration;

use chrono::Utc;
use eventful_core::{EventStore, ExpectedVersion, NewEvent, Payload, Position, StreamId, TypeName};
use eventful_gateway::{
    Claims, ClientFrame, ErrorCode, EventEnvelope, Gateway, GatewaySettings, Rules, ServerFrame,
    TokenVerifier, Topic,
};
use eventful_store_memory::MemoryStore;
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub(crate) const SECRET: &[u8] = b"test secret";

/// How long a test waits for a frame before it fails: a guard against a hang, far above
/// what any frame takes.
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);

/// The access rules of the tests: own `player-<sub>` stream, streams in the token, and the
/// public `leaderboard_changed` type.
pub(crate) fn rules() -> Rules {
    Rules::own_stream("player").with_public_event_type("leaderboard_changed")
}

pub(crate) fn settings() -> GatewaySettings {
    GatewaySettings::new(TokenVerifier::hs256(SECRET).expect("a key"), rules())
}

/// A gateway on `store`, served on a loopback port.
pub(crate) struct Served {
    pub(crate) gateway: Gateway,
    pub(crate) address: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Served {
    pub(crate) async fn start(store: impl EventStore + 'static, settings: GatewaySettings) -> Self {
        let gateway = Gateway::start(store, settings).await.expect("starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let address = listener.local_addr().expect("bound");
        let app = gateway.router();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serves");
        });
        Self {
            gateway,
            address,
            server,
        }
    }

    pub(crate) fn ws_url(&self, token: &str) -> String {
        format!("ws://{}/ws?token={token}", self.address)
    }

    pub(crate) fn sse_url(&self, query: &str) -> String {
        format!("http://{}/sse?{query}", self.address)
    }

    /// A WebSocket client with a fresh token of `subject`, past its welcome.
    pub(crate) async fn client(&self, subject: &str) -> WsClient {
        let mut client = WsClient::connect(&self.ws_url(&token(subject))).await;
        match client.frame().await {
            ServerFrame::Welcome { subject: sub, .. } => assert_eq!(sub, subject),
            other => panic!("expected a welcome, got {other:?}"),
        }
        client
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A token of `subject` valid for an hour.
pub(crate) fn token(subject: &str) -> String {
    Claims::new(subject, Utc::now() + chrono::Duration::hours(1))
        .sign_hs256(SECRET)
        .expect("signs")
}

/// Appends one `xp_gained` event of `amount` to `stream`.
pub(crate) async fn append(store: &impl EventStore, stream: &str, amount: u64) -> Position {
    append_typed(store, stream, "xp_gained", amount).await
}

/// Appends one event of `event_type` to `stream`.
pub(crate) async fn append_typed(
    store: &impl EventStore,
    stream: &str,
    event_type: &str,
    amount: u64,
) -> Position {
    let aggregate = stream.split('-').next().unwrap_or(stream);
    let event = NewEvent::new(
        TypeName::new(aggregate).expect("valid"),
        TypeName::new(event_type).expect("valid"),
        1,
        Payload::encode(&serde_json::json!({ "amount": amount })).expect("encodes"),
    );
    let stream = StreamId::new(stream).expect("valid");
    store
        .append(&stream, ExpectedVersion::Any, &[event])
        .await
        .expect("appends")
        .first_position
}

pub(crate) fn memory() -> MemoryStore {
    MemoryStore::new()
}

pub(crate) fn subscribe(id: &str, topic: Topic, after: Option<Position>) -> ClientFrame {
    serde_json::from_value(serde_json::json!({
        "type": "subscribe",
        "id": id,
        "topic": topic,
        "after": after,
    }))
    .expect("a subscribe frame")
}

pub(crate) fn stream(name: &str) -> Topic {
    Topic::Stream(name.to_owned())
}

/// A WebSocket client of the gateway.
pub(crate) struct WsClient {
    pub(crate) socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    pub(crate) async fn connect(url: &str) -> Self {
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("the upgrade is accepted");
        Self { socket }
    }

    pub(crate) async fn send(&mut self, frame: &ClientFrame) {
        let text = serde_json::to_string(frame).expect("serializes");
        self.send_text(&text).await;
    }

    pub(crate) async fn send_text(&mut self, text: &str) {
        self.socket.send(Message::text(text)).await.expect("sent");
    }

    pub(crate) async fn send_message(&mut self, message: Message) {
        self.socket.send(message).await.expect("sent");
    }

    /// The next frame; fails on a close or after [`PATIENCE`].
    pub(crate) async fn frame(&mut self) -> ServerFrame {
        match self.message().await {
            Message::Text(text) => serde_json::from_str(text.as_str())
                .unwrap_or_else(|error| panic!("not a server frame ({error}): {text}")),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// The next WebSocket message, whatever it is.
    pub(crate) async fn message(&mut self) -> Message {
        loop {
            let next = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("a message in time")
                .expect("the connection is open")
                .expect("a valid message");
            if !matches!(next, Message::Ping(_) | Message::Pong(_)) {
                return next;
            }
        }
    }

    /// The next frame, which must be an event; returns its subscription and envelope.
    pub(crate) async fn event(&mut self) -> (String, EventEnvelope) {
        match self.frame().await {
            ServerFrame::Event {
                subscription,
                event,
            } => (subscription, event),
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// The next frame, which must be an error: its code, message and subscription.
    pub(crate) async fn error(&mut self) -> (ErrorCode, String, Option<String>) {
        match self.frame().await {
            ServerFrame::Error {
                code,
                message,
                subscription,
            } => (code, message, subscription),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    /// Subscribes and checks the confirmation; returns the position events follow.
    pub(crate) async fn subscribe(
        &mut self,
        id: &str,
        topic: Topic,
        after: Option<Position>,
    ) -> Position {
        self.send(&subscribe(id, topic.clone(), after)).await;
        match self.frame().await {
            ServerFrame::Subscribed {
                id: confirmed,
                topic: confirmed_topic,
                after,
            } => {
                assert_eq!((confirmed.as_str(), &confirmed_topic), (id, &topic));
                after
            }
            other => panic!("expected `subscribed` for {id}, got {other:?}"),
        }
    }

    /// Reads to the close: the closing frame's code and reason, and the WebSocket close code.
    pub(crate) async fn closing(&mut self) -> (eventful_gateway::CloseCode, String, Option<u16>) {
        let (code, reason) = loop {
            match self.frame().await {
                ServerFrame::Closing { code, reason } => break (code, reason),
                ServerFrame::Event { .. } => {}
                other => panic!("expected a closing frame, got {other:?}"),
            }
        };
        let close = match self.message().await {
            Message::Close(frame) => frame.map(|frame| u16::from(frame.code)),
            other => panic!("expected the close, got {other:?}"),
        };
        (code, reason, close)
    }
}

/// One message of an SSE stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseMessage {
    pub(crate) id: Option<String>,
    pub(crate) data: String,
}

impl SseMessage {
    pub(crate) fn frame(&self) -> ServerFrame {
        serde_json::from_str(&self.data)
            .unwrap_or_else(|error| panic!("not a server frame ({error}): {}", self.data))
    }
}

/// An SSE client: the response's body read as SSE messages.
pub(crate) struct SseClient {
    body: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl SseClient {
    /// Opens `url`; an error status is returned with its body.
    pub(crate) async fn open(
        url: &str,
        last_event_id: Option<&str>,
    ) -> Result<Self, (u16, String)> {
        let mut request = reqwest::Client::new().get(url);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.expect("a body");
            return Err((status.as_u16(), body));
        }
        Ok(Self {
            body: response.bytes_stream().boxed(),
            buffer: String::new(),
        })
    }

    /// The next message (comments skipped); `None` when the stream ends.
    pub(crate) async fn next(&mut self) -> Option<SseMessage> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut message = SseMessage {
                    id: None,
                    data: String::new(),
                };
                for line in block.lines() {
                    if let Some(data) = line.strip_prefix("data:") {
                        message
                            .data
                            .push_str(data.strip_prefix(' ').unwrap_or(data));
                    } else if let Some(id) = line.strip_prefix("id:") {
                        message.id = Some(id.trim().to_owned());
                    }
                }
                if !message.data.is_empty() {
                    return Some(message);
                }
                continue;
            }
            let chunk = tokio::time::timeout(PATIENCE, self.body.next())
                .await
                .expect("SSE data in time")?
                .expect("the body reads");
            self.buffer
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    }

    /// The next message, as a frame.
    pub(crate) async fn frame(&mut self) -> ServerFrame {
        self.next().await.expect("the stream goes on").frame()
    }
}

/// A client's receive buffer, small and fixed (no autotuning), so that what the gateway sends
/// a client that does not read piles up in the gateway.
pub(crate) const CLIENT_BUFFER: u32 = 16 * 1024;

/// A TCP connection to the gateway with [`CLIENT_BUFFER`].
pub(crate) async fn small_buffered(served: &Served) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .set_recv_buffer_size(CLIENT_BUFFER)
        .expect("a buffer size");
    socket.connect(served.address).await.expect("connects")
}

/// A WebSocket client of `subject` subscribed to its own stream, which then reads nothing
/// more.
pub(crate) async fn stalled_websocket(served: &Served, subject: &str) -> WsClient {
    let tcp = MaybeTlsStream::Plain(small_buffered(served).await);
    let (socket, _) = tokio_tungstenite::client_async(served.ws_url(&token(subject)), tcp)
        .await
        .expect("the upgrade is accepted");
    let mut client = WsClient { socket };
    assert!(matches!(client.frame().await, ServerFrame::Welcome { .. }));
    let own = format!("player-{subject}");
    client.subscribe("me", stream(&own), None).await;
    client
}

/// Appends to `stream` an event whose frame is larger than every buffer between the gateway
/// and a client that does not read (the client's, both sockets', hyper's).
pub(crate) async fn append_huge(store: &impl EventStore, stream: &str) {
    let padding = "x".repeat(8 * 1024 * 1024);
    let event = NewEvent::new(
        TypeName::from_static("player"),
        TypeName::from_static("xp_gained"),
        1,
        Payload::encode(&serde_json::json!({ "padding": padding })).expect("encodes"),
    );
    let stream = StreamId::new(stream).expect("valid");
    store
        .append(&stream, ExpectedVersion::Any, &[event])
        .await
        .expect("appends");
}

/// Waits until the first bytes after what the client read have arrived: the gateway is
/// writing the huge frame, which cannot all arrive.
pub(crate) async fn writing_begun(tcp: &tokio::net::TcpStream) {
    let mut byte = [0];
    let peeked = tokio::time::timeout(PATIENCE, tcp.peek(&mut byte))
        .await
        .expect("the frame begins to arrive")
        .expect("peeks");
    assert_eq!(peeked, 1);
}
