//! A fake Discord on 127.0.0.1 for end-to-end tests: the REST API under `/api/v10` (reached
//! through `discord.proxy_url`) and a WebSocket gateway, enough for serenity 0.12.5 to connect,
//! register commands, receive events and answer them.
//!
//! It records every REST request (method, path, JSON body, Authorization header) and every
//! gateway frame the bot sends, so tests assert on what the bot actually sent; and it can push
//! gateway events (`send_interaction`, `send_message`, `send_event`) to every connected shard.
//!
//! Payload builders live in [`fixtures`]. Serenity drops a payload that misses a field
//! silently, so every fixture is checked against serenity's model types in a unit test.
#![allow(dead_code)] // Not every test binary uses every helper.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// The bot's user id in READY.
pub const BOT_USER_ID: u64 = 900_000_000_000_000_001;
/// The application id in READY.
pub const APPLICATION_ID: u64 = 900_000_000_000_000_002;
/// The guild of guild events.
pub const GUILD_ID: u64 = 900_000_000_000_000_003;
/// The channel of every event.
pub const CHANNEL_ID: u64 = 900_000_000_000_000_004;
/// The heartbeat interval announced in HELLO (long: fewer frames to ignore).
pub const HEARTBEAT_MS: u64 = 30_000;

/// One REST request the bot made.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `PUT`, …
    pub method: String,
    /// Path without query, e.g. `/api/v10/interactions/1/tok/callback`.
    pub path: String,
    /// JSON body (`Null` when empty or not JSON).
    pub body: Value,
    /// The `Authorization` header, e.g. `Bot test-token`.
    pub authorization: Option<String>,
    /// When it arrived (for latency measurements).
    pub at: Instant,
}

impl Recorded {
    /// Method and path match exactly.
    pub fn is(&self, method: &str, path: &str) -> bool {
        self.method == method && self.path == path
    }
}

struct Inner {
    addr: SocketAddr,
    requests: Mutex<Vec<Recorded>>,
    frames: Mutex<Vec<Value>>,
    /// Bumped on every recorded request or frame; waiters watch it.
    changes: watch::Sender<u64>,
    sessions: Mutex<Vec<mpsc::UnboundedSender<Outgoing>>>,
    /// Dispatch id (`d.id`, e.g. an interaction id) → when its frame was written to a socket.
    written: Mutex<HashMap<String, Instant>>,
    seq: AtomicU64,
    recommended_shards: AtomicU64,
    /// (path substring, remaining count): such requests get a 500 (recorded all the same).
    failures: Mutex<Vec<(String, usize)>>,
    /// (path substring, remaining count, delay): such requests are answered late (recorded on
    /// arrival), to keep a reply in flight.
    delays: Mutex<Vec<(String, usize, Duration)>>,
}

impl Inner {
    fn should_fail(&self, path: &str) -> bool {
        let mut failures = self.failures.lock().unwrap();
        match failures
            .iter_mut()
            .find(|(pattern, left)| *left > 0 && path.contains(pattern.as_str()))
        {
            Some((_, left)) => {
                *left -= 1;
                true
            }
            None => false,
        }
    }
}

impl Inner {
    fn delay_for(&self, path: &str) -> Option<Duration> {
        let mut delays = self.delays.lock().unwrap();
        let (_, left, delay) = delays
            .iter_mut()
            .find(|(pattern, left, _)| *left > 0 && path.contains(pattern.as_str()))?;
        *left -= 1;
        Some(*delay)
    }

    fn bump(&self) {
        self.changes.send_modify(|n| *n += 1);
    }
}

/// A running fake Discord. Dropping it stops the server.
pub struct FakeDiscord {
    inner: Arc<Inner>,
    server: JoinHandle<()>,
    next_id: AtomicU64,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeDiscord {
    /// Binds 127.0.0.1:0 and serves REST and gateway on that port.
    pub async fn start() -> FakeDiscord {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let inner = Arc::new(Inner {
            addr,
            requests: Mutex::new(Vec::new()),
            frames: Mutex::new(Vec::new()),
            changes: watch::channel(0).0,
            sessions: Mutex::new(Vec::new()),
            seq: AtomicU64::new(1),
            recommended_shards: AtomicU64::new(1),
            failures: Mutex::new(Vec::new()),
            delays: Mutex::new(Vec::new()),
            written: Mutex::new(HashMap::new()),
        });
        let app = Router::new()
            .route("/", get(gateway))
            .fallback(rest)
            .with_state(Arc::clone(&inner));
        // TCP_NODELAY on every accepted socket: with Nagle on, a gateway frame written right
        // after another can sit in the kernel until the bot's delayed ACK (~40 ms on Linux),
        // a stall of the fake, not of the bot, that the load bench would otherwise measure.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeDiscord {
            inner,
            server,
            next_id: AtomicU64::new(1_000_000_000_000_000_000),
        }
    }

    /// `http://127.0.0.1:PORT`: the bot's `discord.proxy_url`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// `ws://127.0.0.1:PORT`: what `GET /gateway` returns.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.inner.addr)
    }

    /// What `GET /gateway/bot` recommends (default 1).
    pub fn set_recommended_shards(&self, shards: u64) {
        self.inner
            .recommended_shards
            .store(shards, Ordering::SeqCst);
    }

    /// The next `times` REST requests whose path contains `pattern` fail with a 500.
    pub fn fail_next(&self, pattern: &str, times: usize) {
        self.inner
            .failures
            .lock()
            .unwrap()
            .push((pattern.to_string(), times));
    }

    /// The next `times` REST requests whose path contains `pattern` are answered only after
    /// `delay` (they are recorded when they arrive).
    pub fn delay_next(&self, pattern: &str, times: usize, delay: Duration) {
        self.inner
            .delays
            .lock()
            .unwrap()
            .push((pattern.to_string(), times, delay));
    }

    /// A fresh snowflake for fixtures.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::SeqCst)
    }

    /// Every REST request so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.requests.lock().unwrap().clone()
    }

    /// Every gateway frame the bot sent (IDENTIFY, heartbeats, …), parsed.
    pub fn gateway_frames(&self) -> Vec<Value> {
        self.inner.frames.lock().unwrap().clone()
    }

    /// Waits until some recorded request satisfies `pred` (including one already recorded).
    pub async fn wait_for_request(
        &self,
        pred: impl Fn(&Recorded) -> bool,
        timeout: Duration,
    ) -> Option<Recorded> {
        let probe = || {
            self.inner
                .requests
                .lock()
                .unwrap()
                .iter()
                .find(|r| pred(r))
                .cloned()
        };
        self.wait_for(probe, timeout).await
    }

    /// Waits until some gateway frame from the bot satisfies `pred`.
    pub async fn wait_for_frame(
        &self,
        pred: impl Fn(&Value) -> bool,
        timeout: Duration,
    ) -> Option<Value> {
        let probe = || {
            self.inner
                .frames
                .lock()
                .unwrap()
                .iter()
                .find(|f| pred(f))
                .cloned()
        };
        self.wait_for(probe, timeout).await
    }

    async fn wait_for<T>(
        &self,
        mut probe: impl FnMut() -> Option<T>,
        timeout: Duration,
    ) -> Option<T> {
        let mut changes = self.inner.changes.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            changes.borrow_and_update();
            if let Some(found) = probe() {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, changes.changed())
                .await
                .is_err()
            {
                return None;
            }
        }
    }

    /// Number of connected gateway sessions that have identified.
    pub fn sessions(&self) -> usize {
        let mut sessions = self.inner.sessions.lock().unwrap();
        sessions.retain(|s| !s.is_closed());
        sessions.len()
    }

    /// Pushes a dispatch event (`op` 0) to every identified session.
    pub fn send_event(&self, event: &str, data: Value) {
        let seq = self.inner.seq.fetch_add(1, Ordering::SeqCst);
        let id = data["id"].as_str().map(str::to_string);
        let frame = Outgoing {
            text: fixtures::dispatch(event, seq, data).to_string(),
            id,
        };
        let sessions = self.inner.sessions.lock().unwrap();
        assert!(
            !sessions.is_empty(),
            "no gateway session to send {event} to"
        );
        for session in sessions.iter() {
            let _ = session.send(frame.clone());
        }
    }

    /// When the dispatch whose `d.id` is `id` (e.g. an interaction) was written to the
    /// gateway socket: taken right after the WebSocket send (write and flush) returned, so it
    /// excludes the time the frame waited in the fake's queue. The last write wins when
    /// several sessions got it.
    pub fn written_at(&self, id: u64) -> Option<Instant> {
        self.inner
            .written
            .lock()
            .unwrap()
            .get(&id.to_string())
            .copied()
    }

    /// How many recorded requests satisfy `pred`, without copying them (cheap enough to poll
    /// during a load run).
    pub fn count_requests(&self, pred: impl Fn(&Recorded) -> bool) -> usize {
        self.inner
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| pred(r))
            .count()
    }

    /// Pushes an INTERACTION_CREATE.
    pub fn send_interaction(&self, interaction: Value) {
        self.send_event("INTERACTION_CREATE", interaction);
    }

    /// Pushes a MESSAGE_CREATE.
    pub fn send_message(&self, message: Value) {
        self.send_event("MESSAGE_CREATE", message);
    }

    /// The path of the initial-response callback of an interaction built by [`fixtures`].
    pub fn callback_path(interaction_id: u64) -> String {
        format!(
            "/api/v10/interactions/{interaction_id}/{}/callback",
            fixtures::token(interaction_id)
        )
    }

    /// The path of the edit of an interaction's original response.
    pub fn original_path(interaction_id: u64) -> String {
        format!(
            "/api/v10/webhooks/{APPLICATION_ID}/{}/messages/@original",
            fixtures::token(interaction_id)
        )
    }
}

async fn gateway(ws: WebSocketUpgrade, State(inner): State<Arc<Inner>>) -> Response {
    ws.on_upgrade(move |socket| session(socket, inner))
}

/// A gateway frame on its way to a session; `id` is the dispatch's `d.id`, when it has one,
/// so the write time can be recorded.
#[derive(Debug, Clone)]
struct Outgoing {
    text: String,
    id: Option<String>,
}

impl From<String> for Outgoing {
    fn from(text: String) -> Outgoing {
        Outgoing { text, id: None }
    }
}

async fn session(socket: WebSocket, inner: Arc<Inner>) {
    let (mut sink, mut stream) = socket.split();
    let (out, mut outbox) = mpsc::unbounded_channel::<Outgoing>();
    let writer = {
        let inner = Arc::clone(&inner);
        tokio::spawn(async move {
            while let Some(frame) = outbox.recv().await {
                if sink.send(WsMessage::Text(frame.text.into())).await.is_err() {
                    break;
                }
                if let Some(id) = frame.id {
                    inner.written.lock().unwrap().insert(id, Instant::now());
                }
            }
        })
    };
    let _ = out.send(
        json!({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_MS}})
            .to_string()
            .into(),
    );
    while let Some(Ok(message)) = stream.next().await {
        let text = match message {
            WsMessage::Text(text) => text.to_string(),
            WsMessage::Close(_) => break,
            _ => continue,
        };
        let Ok(frame) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let op = frame["op"].as_u64();
        let shard = frame["d"]["shard"].clone();
        inner.frames.lock().unwrap().push(frame);
        match op {
            Some(1) => {
                let _ = out.send(json!({"op": 11}).to_string().into());
            }
            Some(2) => {
                let seq = inner.seq.fetch_add(1, Ordering::SeqCst);
                let ready = fixtures::ready(&format!("ws://{}", inner.addr), &shard);
                let _ = out.send(fixtures::dispatch("READY", seq, ready).to_string().into());
                inner.sessions.lock().unwrap().push(out.clone());
            }
            _ => {}
        }
        inner.bump();
    }
    writer.abort();
}

async fn rest(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    inner.requests.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        body: body.clone(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        at: Instant::now(),
    });
    inner.bump();
    if let Some(delay) = inner.delay_for(&path) {
        tokio::time::sleep(delay).await;
    }
    if inner.should_fail(&path) {
        let error = json!({"message": "500: Internal Server Error (fake)", "code": 0});
        return (StatusCode::INTERNAL_SERVER_ERROR, Json(error)).into_response();
    }

    let route = path.strip_prefix("/api/v10").unwrap_or(&path);
    let segments: Vec<&str> = route.trim_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["gateway"]) => {
            Json(json!({"url": format!("ws://{}", inner.addr)})).into_response()
        }
        ("GET", ["gateway", "bot"]) => Json(fixtures::bot_gateway(
            &format!("ws://{}", inner.addr),
            inner.recommended_shards.load(Ordering::SeqCst),
        ))
        .into_response(),
        ("PUT", ["applications", _, "commands"])
        | ("PUT", ["applications", _, "guilds", _, "commands"]) => {
            let guild = segments.get(3).copied();
            Json(fixtures::commands_echo(&body, guild)).into_response()
        }
        ("POST", ["interactions", _, _, "callback"]) => StatusCode::NO_CONTENT.into_response(),
        ("PATCH", ["webhooks", _, _, "messages", _]) | ("POST", ["webhooks", _, _]) => {
            Json(fixtures::message_response(CHANNEL_ID, &body)).into_response()
        }
        ("POST", ["channels", channel, "messages"]) => {
            let channel = channel.parse().unwrap_or(CHANNEL_ID);
            Json(fixtures::message_response(channel, &body)).into_response()
        }
        ("GET", ["users", "@me"]) => Json(fixtures::user(BOT_USER_ID, true)).into_response(),
        _ => (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "404: Not Found", "code": 0})),
        )
            .into_response(),
    }
}

/// Payloads shaped like Discord's, with exactly the fields serenity 0.12.5 requires.
pub mod fixtures {
    use std::sync::atomic::{AtomicU64, Ordering};

    use serde_json::{json, Value};

    use super::{APPLICATION_ID, BOT_USER_ID, CHANNEL_ID, GUILD_ID};

    const TIMESTAMP: &str = "2026-01-01T00:00:00.000000+00:00";

    /// Who runs a slash command.
    #[derive(Debug, Clone)]
    pub enum Invoker {
        /// A guild member with these role ids and computed permission bits.
        Member {
            /// User id.
            user_id: u64,
            /// Role ids.
            roles: Vec<u64>,
            /// Permission bits (e.g. `1 << 5` for Manage Server).
            permissions: u64,
        },
        /// Someone in a DM with the bot.
        Dm {
            /// User id.
            user_id: u64,
        },
    }

    /// A plain member: View Channel + Send Messages.
    pub fn member(user_id: u64) -> Invoker {
        Invoker::Member {
            user_id,
            roles: vec![],
            permissions: (1 << 10) | (1 << 11),
        }
    }

    /// The interaction token used for interaction `id`.
    pub fn token(id: u64) -> String {
        format!("token-{id}")
    }

    /// `{"op": 0, "t": event, "s": seq, "d": data}`.
    pub fn dispatch(event: &str, seq: u64, data: Value) -> Value {
        json!({"op": 0, "t": event, "s": seq, "d": data})
    }

    /// A user object.
    pub fn user(id: u64, bot: bool) -> Value {
        json!({
            "id": id.to_string(),
            "username": format!("user{id}"),
            "discriminator": "0",
            "global_name": null,
            "avatar": null,
            "bot": bot,
        })
    }

    /// READY's `d`; `shard` is what IDENTIFY asked for (`null` or `[id, total]`).
    pub fn ready(ws_url: &str, shard: &Value) -> Value {
        let mut ready = json!({
            "v": 10,
            "user": {"id": BOT_USER_ID.to_string(), "username": "backrub", "discriminator": "0", "bot": true, "avatar": null},
            "guilds": [],
            "session_id": "fake-session",
            "resume_gateway_url": ws_url,
            "application": {"id": APPLICATION_ID.to_string(), "flags": 0},
        });
        if shard.is_array() {
            ready["shard"] = shard.clone();
        }
        ready
    }

    /// `GET /gateway/bot`.
    pub fn bot_gateway(ws_url: &str, shards: u64) -> Value {
        json!({
            "url": ws_url,
            "shards": shards,
            "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1},
        })
    }

    /// The answer to a bulk overwrite: the commands sent, with the fields Discord adds.
    pub fn commands_echo(body: &Value, guild: Option<&str>) -> Value {
        static NEXT: AtomicU64 = AtomicU64::new(800_000_000_000_000_000);
        let commands = body.as_array().cloned().unwrap_or_default();
        Value::Array(
            commands
                .into_iter()
                .map(|mut c| {
                    c["id"] = json!(NEXT.fetch_add(1, Ordering::SeqCst).to_string());
                    c["application_id"] = json!(APPLICATION_ID.to_string());
                    c["version"] = json!("1");
                    if c.get("type").is_none() {
                        c["type"] = json!(1);
                    }
                    if let Some(g) = guild {
                        c["guild_id"] = json!(g);
                    }
                    c
                })
                .collect(),
        )
    }

    /// The message object returned for a send or an edit.
    pub fn message_response(channel_id: u64, body: &Value) -> Value {
        static NEXT: AtomicU64 = AtomicU64::new(700_000_000_000_000_000);
        json!({
            "id": NEXT.fetch_add(1, Ordering::SeqCst).to_string(),
            "channel_id": channel_id.to_string(),
            "author": user(BOT_USER_ID, true),
            "content": body["content"].as_str().unwrap_or(""),
            "timestamp": TIMESTAMP,
            "edited_timestamp": null,
            "tts": false,
            "mention_everyone": false,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": false,
            "type": 0,
        })
    }

    /// `/ask` options.
    pub fn ask_options(question: &str, private: Option<bool>) -> Value {
        let mut options = vec![json!({"name": "question", "type": 3, "value": question})];
        if let Some(private) = private {
            options.push(json!({"name": "private", "type": 5, "value": private}));
        }
        Value::Array(options)
    }

    /// A slash-command INTERACTION_CREATE's `d` (token: [`token`]`(id)`).
    pub fn command_interaction(id: u64, name: &str, options: Value, invoker: &Invoker) -> Value {
        let mut interaction = json!({
            "id": id.to_string(),
            "application_id": APPLICATION_ID.to_string(),
            "type": 2,
            "token": token(id),
            "version": 1,
            "channel_id": CHANNEL_ID.to_string(),
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 8_388_608,
            "data": {"id": "600000000000000001", "name": name, "type": 1, "options": options},
        });
        match invoker {
            Invoker::Member {
                user_id,
                roles,
                permissions,
            } => {
                interaction["guild_id"] = json!(GUILD_ID.to_string());
                interaction["member"] = json!({
                    "user": user(*user_id, false),
                    "roles": roles.iter().map(u64::to_string).collect::<Vec<_>>(),
                    "joined_at": TIMESTAMP,
                    "deaf": false,
                    "mute": false,
                    "flags": 0,
                    "permissions": permissions.to_string(),
                });
            }
            Invoker::Dm { user_id } => {
                interaction["user"] = user(*user_id, false);
            }
        }
        interaction
    }

    /// A button press (INTERACTION_CREATE type 3) on message `message_id` sent by the bot;
    /// `custom_id` is the pressed button's (token: [`token`]`(id)`).
    pub fn component_interaction(
        id: u64,
        custom_id: &str,
        message_id: u64,
        invoker: &Invoker,
    ) -> Value {
        let mut interaction = command_interaction(id, "unused", json!([]), invoker);
        let guild = matches!(invoker, Invoker::Member { .. });
        interaction["type"] = json!(3);
        interaction["data"] = json!({"custom_id": custom_id, "component_type": 2});
        interaction["message"] = message(message_id, user(BOT_USER_ID, true), "", guild, &[]);
        interaction
    }

    /// A MESSAGE_CREATE's `d`. `guild` false makes it a DM. `mentions` are user ids that
    /// Discord would have parsed from the text (serenity reads this array, not the text).
    pub fn message(id: u64, author: Value, content: &str, guild: bool, mentions: &[u64]) -> Value {
        let mut message = json!({
            "id": id.to_string(),
            "channel_id": CHANNEL_ID.to_string(),
            "author": author,
            "content": content,
            "timestamp": TIMESTAMP,
            "edited_timestamp": null,
            "tts": false,
            "mention_everyone": false,
            "mentions": mentions.iter().map(|&u| user(u, u == BOT_USER_ID)).collect::<Vec<_>>(),
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": false,
            "type": 0,
        });
        if guild {
            message["guild_id"] = json!(GUILD_ID.to_string());
        }
        message
    }
}
