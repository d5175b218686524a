//! `/api/v1/stream`: the WebSocket a dashboard follows the session with. After the upgrade the
//! session sends the filter acknowledgement, replays the newest matching stored rows, then follows
//! the store: rows in batches (at most 1000 rows, at most one batch per 50 ms while trickling),
//! `missed` when the store evicted entries before this client read them, and `health` every second.
//! The client may change the filter (`{"type":"filter","q":...,"replay":N}`). With `full=1` the
//! batches carry whole entries instead of rows (`kubectl shark tap --output json` uses that).
//!
//! Bounded: client messages are at most 64 KiB; at most one batch is built at a time; a client that
//! stops reading is dropped when a send does not complete within [`SEND_TIMEOUT`].

use super::query::Query;
use super::response::{ApiError, Body};
use super::routes::{filter_param, health_json, number_param};
use super::{rows, select, AppState};
use crate::agents::StreamFilter;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY};
use hyper::header::{SEC_WEBSOCKET_VERSION, UPGRADE};
use hyper::upgrade::Upgraded;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use node_agent::filter::Filter;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Default and largest `replay`.
pub const DEFAULT_REPLAY: usize = 1000;
pub const MAX_REPLAY: usize = 100_000;
/// Most rows in one `entries` message.
pub const MAX_BATCH_ROWS: usize = 1000;
/// A batch is sent once it holds this many bytes (whole entries can be large).
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// Shortest time between two batches while rows trickle in.
pub const BATCH_INTERVAL: Duration = Duration::from_millis(50);
/// Longest client message.
pub const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// Most streams open at once.
pub const MAX_STREAMS: usize = 64;
/// A send that takes longer ends the stream (the client stopped reading).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// Batches sent before the session looks at client messages and timers again.
const BATCHES_PER_TURN: usize = 16;
/// Entries taken from the store per look.
const SCAN: usize = 4096;

/// Checks the upgrade request and answers 101; the session runs as a task of the server.
pub fn upgrade(state: Arc<AppState>, mut req: Request<Incoming>, q: &Query) -> Result<Response<Body>, ApiError> {
    let headers = req.headers();
    if !has_token(headers, CONNECTION, "upgrade") || !has_token(headers, UPGRADE, "websocket") {
        return Err(ApiError::BadRequest("/api/v1/stream is a WebSocket: send Upgrade: websocket".into()));
    }
    if headers.get(SEC_WEBSOCKET_VERSION).map(HeaderValue::as_bytes) != Some(b"13") {
        return Err(ApiError::BadRequest("only WebSocket version 13 is spoken".into()));
    }
    let key = headers.get(SEC_WEBSOCKET_KEY).ok_or_else(|| ApiError::BadRequest("no Sec-WebSocket-Key".into()))?;
    let accept = HeaderValue::from_str(&derive_accept_key(key.as_bytes()))
        .map_err(|e| ApiError::Internal(format!("accept key: {e}")))?;
    let filter = filter_param(q)?;
    let replay = number_param::<usize>(q, "replay")?.unwrap_or(DEFAULT_REPLAY).min(MAX_REPLAY);
    let full = match q.get("full") {
        None | Some("" | "0" | "false") => false,
        Some("1" | "true") => true,
        Some(other) => return Err(ApiError::BadRequest(format!("full must be 0 or 1, not {other:?}"))),
    };
    let open = state.streams.open_count();
    if open >= MAX_STREAMS {
        return Err(ApiError::TooManyStreams(open));
    }
    let on_upgrade = hyper::upgrade::on(&mut req);
    let tasks = Arc::clone(&state.tasks);
    tasks.spawn(async move {
        let Ok(upgraded) = on_upgrade.await else { return };
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_CLIENT_MESSAGE))
            .max_frame_size(Some(MAX_CLIENT_MESSAGE));
        let ws: WebSocketStream<TokioIo<Upgraded>> =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await;
        Session::run(state, ws, filter, replay, full).await;
    });
    let mut resp = Response::new(Body::default());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(SEC_WEBSOCKET_ACCEPT, accept);
    Ok(resp)
}

/// Whether a comma-separated header has `token` (any case).
fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Why a session ended early.
#[derive(Debug)]
enum End {
    /// The client went away, or did not read in time.
    Gone,
}

/// What a client may send.
#[derive(serde::Deserialize)]
struct ClientMessage {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    q: String,
    replay: Option<usize>,
}

/// One stream over a WebSocket on `S` (an upgraded HTTP connection; tests use an in-memory pipe).
struct Session<S> {
    state: Arc<AppState>,
    filter: Filter,
    slot: StreamFilter,
    /// Sequence number of the last store entry looked at.
    cursor: u64,
    tx: SplitSink<WebSocketStream<S>, Message>,
    /// The `entries` message being built and its row count.
    batch: Vec<u8>,
    rows: usize,
    /// Whole entries instead of rows (`full=1`).
    full: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Session<S> {
    async fn run(state: Arc<AppState>, ws: WebSocketStream<S>, filter: Filter, replay: usize, full: bool) {
        let (tx, rx) = ws.split();
        let slot = state.streams.open(filter.clone());
        let mut session = Session { state, filter, slot, cursor: 0, tx, batch: Vec::new(), rows: 0, full };
        let _ = session.serve(rx, replay).await;
        // The stream's filter leaves the push-down union before the client sees the close.
        let Session { slot, mut tx, .. } = session;
        drop(slot);
        let _ = tokio::time::timeout(SEND_TIMEOUT, tx.close()).await;
    }

    async fn serve(&mut self, mut rx: SplitStream<WebSocketStream<S>>, replay: usize) -> Result<(), End> {
        let mut watch = self.state.store.watch();
        let mut shutdown = self.state.shutdown.clone();
        self.start(replay).await?;
        let mut health = tokio::time::interval(Duration::from_secs(1));
        health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_batch: Option<Instant> = None;
        let mut more = false;
        loop {
            tokio::select! {
                biased;
                _ = super::server::stopped(&mut shutdown) => {
                    let frame = CloseFrame { code: CloseCode::Away, reason: "the hub is shutting down".into() };
                    let _ = self.send(Message::Close(Some(frame))).await;
                    return Ok(());
                }
                msg = rx.next() => match msg {
                    Some(Ok(Message::Text(text))) => self.client_message(text.as_str()).await?,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(()),
                    Some(Ok(_)) => {}
                },
                changed = watch.changed(), if !more => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    if let Some(due) = last_batch.map(|t| t + BATCH_INTERVAL) {
                        tokio::time::sleep_until(due).await;
                    }
                    more = self.follow().await?;
                    last_batch = Some(Instant::now());
                }
                _ = std::future::ready(()), if more => {
                    more = self.follow().await?;
                    last_batch = Some(Instant::now());
                }
                _ = health.tick() => {
                    let body = health_json(&self.state, true).map_err(|_| End::Gone)?;
                    self.send_json(body).await?;
                }
            }
        }
    }

    /// (Re)starts the stream with the filter in force: moves the cursor to the newest stored entry
    /// and takes the newest `n` matching rows, then acknowledges the filter, then sends the rows.
    /// The cursor is fixed before the acknowledgement goes out, so every entry stored after the
    /// client learns that the filter is in force comes after the cursor and is followed (or
    /// counted as missed). Fixing it after the acknowledgement (as before) silently skipped the
    /// entries stored in between: with `replay=0`, the first rows of a capture.
    async fn start(&mut self, n: usize) -> Result<(), End> {
        let store = Arc::clone(&self.state.store);
        let filter = self.filter.clone();
        let found = tokio::task::spawn_blocking(move || select::newest(&store, &filter, None, n))
            .await
            .map_err(|_| End::Gone)?;
        self.cursor = found.cursor;
        self.acknowledge(None).await?;
        self.clear_batch();
        for (seq, e) in &found.entries {
            self.add_row(*seq, e).await?;
        }
        self.flush().await
    }

    /// Sends what the store got since the cursor; true when more is waiting (the session returns
    /// to its loop between turns, so client messages and shutdown are not starved).
    async fn follow(&mut self) -> Result<bool, End> {
        let mut batches = 0;
        loop {
            let got = self.state.store.after(self.cursor, SCAN);
            if got.missed > 0 {
                self.flush().await?;
                self.send_json(format!("{{\"type\":\"missed\",\"count\":{}}}", got.missed).into_bytes()).await?;
            }
            let Some((last, _)) = got.entries.last() else {
                self.flush().await?;
                return Ok(false);
            };
            self.cursor = *last;
            for (seq, e) in &got.entries {
                if self.filter.matches(e) && self.add_row(*seq, e).await? {
                    batches += 1;
                }
            }
            if batches >= BATCHES_PER_TURN {
                self.flush().await?;
                return Ok(true);
            }
        }
    }

    /// Appends a row to the batch; sends the batch when full (returns true then).
    async fn add_row(&mut self, seq: u64, e: &node_agent::Entry) -> Result<bool, End> {
        if self.rows > 0 {
            self.batch.push(b',');
        }
        let written = if self.full {
            rows::write_entry(&mut self.batch, seq, e)
        } else {
            rows::write_row(&mut self.batch, seq, e)
        };
        if written.is_err() {
            return Err(End::Gone);
        }
        self.rows += 1;
        if self.rows >= MAX_BATCH_ROWS || self.batch.len() >= MAX_BATCH_BYTES {
            self.flush().await?;
            return Ok(true);
        }
        Ok(false)
    }

    fn clear_batch(&mut self) {
        self.batch.clear();
        self.batch.extend_from_slice(b"{\"type\":\"entries\",\"entries\":[");
        self.rows = 0;
    }

    /// Sends the batch if it has rows.
    async fn flush(&mut self) -> Result<(), End> {
        if self.rows == 0 {
            self.clear_batch();
            return Ok(());
        }
        self.batch.extend_from_slice(b"]}");
        let capacity = self.batch.capacity();
        let full = std::mem::replace(&mut self.batch, Vec::with_capacity(capacity));
        self.clear_batch();
        self.send_json(full).await
    }

    async fn client_message(&mut self, text: &str) -> Result<(), End> {
        let msg = match serde_json::from_str::<ClientMessage>(text) {
            Ok(m) if m.kind == "filter" => m,
            Ok(m) => return self.error(&format!("unknown message type {:?}", m.kind)).await,
            Err(e) => return self.error(&format!("not a client message: {e}")).await,
        };
        match Filter::parse(&msg.q) {
            Ok(filter) => {
                self.filter = filter;
                self.slot.set(self.filter.clone());
                self.start(msg.replay.unwrap_or(DEFAULT_REPLAY).min(MAX_REPLAY)).await
            }
            // The previous filter stays in force.
            Err(e) => self.acknowledge(Some((&msg.q, e))).await,
        }
    }

    /// `{"type":"filter",...}` for the filter in force, or for a refused one.
    async fn acknowledge(&mut self, refused: Option<(&str, node_agent::filter::FilterError)>) -> Result<(), End> {
        let v = match refused {
            None => serde_json::json!({ "type": "filter", "q": self.filter.source(), "ok": true }),
            Some((q, e)) => {
                serde_json::json!({ "type": "filter", "q": q, "ok": false, "column": e.column, "error": e.message })
            }
        };
        self.send_json(v.to_string().into_bytes()).await
    }

    async fn error(&mut self, message: &str) -> Result<(), End> {
        self.send_json(serde_json::json!({ "type": "error", "error": message }).to_string().into_bytes()).await
    }

    async fn send_json(&mut self, json: Vec<u8>) -> Result<(), End> {
        let text = String::from_utf8(json).map_err(|_| End::Gone)?;
        self.send(Message::text(text)).await
    }

    async fn send(&mut self, msg: Message) -> Result<(), End> {
        match tokio::time::timeout(SEND_TIMEOUT, self.tx.send(msg)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(End::Gone),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::{Agents, AgentsOptions};
    use crate::http::auth::HostPolicy;
    use crate::http::server::TaskSet;
    use crate::hub::Mode;
    use crate::store::{EntryStore, StoreLimits};
    use node_agent::{Endpoint, Entry, Timestamp, Transport};
    use tokio::io::{AsyncReadExt, DuplexStream};
    use tokio::sync::watch;

    /// Longest the test waits for the session: a guard against hanging, not a measurement.
    const HANG_GUARD: Duration = Duration::from_secs(60);

    fn entry(i: u64) -> Entry {
        Entry {
            id: format!("n1-{i}"),
            protocol: "http".into(),
            transport: Transport::Tcp,
            ts: Timestamp::from_secs_nanos(i, 0),
            elapsed_us: None,
            src: Endpoint::new("10.0.0.1".parse().unwrap(), 1000),
            dst: Endpoint::new("10.0.0.2".parse().unwrap(), 80),
            summary: format!("GET /{i}"),
            status: None,
            outcome: Default::default(),
            tls: false,
            request_size: 0,
            response_size: 0,
            request: serde_json::json!({}),
            response: None,
            notes: vec![],
        }
    }

    /// The state of a hub without agents around `store`; keep the sender (shutdown) alive.
    fn app(store: Arc<EntryStore>) -> (Arc<AppState>, watch::Sender<bool>) {
        let agents = Arc::new(Agents::start(Vec::new(), Arc::clone(&store), AgentsOptions::default()));
        let (stop, shutdown) = watch::channel(false);
        let state = AppState {
            store,
            streams: Arc::clone(agents.filters()),
            agents,
            token: "t".into(),
            mode: Mode::View,
            redact: false,
            hosts: HostPolicy { allow_any: false, bound: "127.0.0.1".parse().unwrap() },
            shutdown,
            tasks: TaskSet::new(),
        };
        (Arc::new(state), stop)
    }

    /// The payload of a server text frame shorter than 126 bytes read raw from `io`, its first byte
    /// already read.
    async fn rest_of_small_text_frame(io: &mut DuplexStream, first: u8) -> String {
        assert_eq!(first, 0x81, "a whole text frame");
        let len = io.read_u8().await.unwrap();
        assert!(len < 126, "an unmasked frame of less than 126 bytes: {len}");
        let mut payload = vec![0; usize::from(len)];
        io.read_exact(&mut payload).await.unwrap();
        String::from_utf8(payload).unwrap()
    }

    /// The opening race: entries stored while the filter acknowledgement is on its way must be
    /// sent even with `replay=0`. The session's socket is an 8-byte pipe, so its sends complete
    /// only as the test reads: the test stores entries 1..=5 when the first byte of the
    /// acknowledgement has arrived and the rest not, then 6..=8 once the session is following
    /// (its first `health`). Every row 1..=8 must come, in order. Deterministic: the interleaving
    /// is forced by the pipe, not by timing.
    #[tokio::test(flavor = "current_thread")]
    async fn entries_stored_while_the_filter_is_acknowledged_are_not_skipped() {
        let store = Arc::new(EntryStore::new(StoreLimits::default()));
        let (state, _stop) = app(Arc::clone(&store));
        let (server, mut client) = tokio::io::duplex(8);
        let session = tokio::spawn(async move {
            let ws = WebSocketStream::from_raw_socket(server, Role::Server, None).await;
            Session::run(state, ws, Filter::parse("").unwrap(), 0, false).await
        });

        let first = client.read_u8().await.unwrap();
        for i in 1..=5 {
            assert_eq!(store.push(entry(i)), Some(i));
        }
        let ack: serde_json::Value = serde_json::from_str(&rest_of_small_text_frame(&mut client, first).await).unwrap();
        assert_eq!((ack["type"].as_str(), ack["ok"].as_bool()), (Some("filter"), Some(true)), "{ack}");

        let mut ws = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        let mut seqs = Vec::new();
        let mut pushed_more = false;
        let read = async {
            while seqs.last() != Some(&8) {
                let Some(Ok(Message::Text(text))) = ws.next().await else { panic!("the stream ended") };
                let m: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
                match m["type"].as_str() {
                    Some("entries") => {
                        for row in m["entries"].as_array().unwrap() {
                            let seq = row["seq"].as_u64().unwrap();
                            assert_eq!(row["id"].as_str(), Some(format!("n1-{seq}").as_str()));
                            seqs.push(seq);
                        }
                    }
                    Some("health") if !pushed_more => {
                        pushed_more = true;
                        for i in 6..=8 {
                            assert_eq!(store.push(entry(i)), Some(i));
                        }
                    }
                    Some("health") => {}
                    other => panic!("unexpected message {other:?}: {m}"),
                }
            }
        };
        tokio::time::timeout(HANG_GUARD, read).await.expect("rows within the hang guard");
        assert_eq!(seqs, (1..=8).collect::<Vec<u64>>());
        drop(ws);
        tokio::time::timeout(HANG_GUARD, session).await.expect("the session ends").unwrap();
    }
}
