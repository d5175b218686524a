//! The dashboard side: one WebSocket client on `/api/v1/stream` (tokio-tungstenite) that parses every
//! message and every row into typed structs, checks each row against the entry that was pushed
//! (its id names the index; the summary must be that entry's; indices ascend; only expected ones
//! come), records when each row arrived and which expected rows never did (gaps).

use crate::input::{index_of, Input};
use futures_util::StreamExt;
use hub_lite::hub::HubHandle;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("stream client: {0}")]
    WebSocket(#[from] tungstenite::Error),
    #[error("stream client: unreadable message: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("stream client: the hub refused the filter: {0}")]
    Filter(String),
    #[error("stream client: the stream closed after {rows} rows")]
    Closed { rows: u64 },
    #[error("stream client: no row for {0:?} ({1} rows so far)")]
    Stalled(Duration, u64),
}

/// An endpoint of a row.
#[derive(serde::Deserialize)]
#[allow(dead_code)] // parsed to check the shape; not all fields are looked at
struct Endpoint {
    ip: String,
    port: u16,
}

/// A row as docs/api.md "Rows" defines it.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Row {
    seq: u64,
    id: String,
    protocol: String,
    transport: String,
    ts: String,
    elapsed_us: Option<u64>,
    src: Endpoint,
    dst: Endpoint,
    summary: String,
    status: Option<String>,
    request_size: u64,
    response_size: u64,
    method: Option<String>,
    path: Option<String>,
}

/// Any server message; the fields of the kinds not looked at (health) are skipped. A plain struct
/// rather than a tagged enum: serde reads those by first building the whole message as a tree,
/// which would make this client cost far more than a browser's `JSON.parse`.
#[derive(serde::Deserialize)]
struct ServerMessage {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    entries: Vec<Row>,
    count: Option<u64>,
    ok: Option<bool>,
    error: Option<String>,
}

/// Which rows should come: the entries `i` in `1..=n` of `input` with `i % every == 0`.
pub struct Expect {
    pub n: u64,
    pub every: u64,
    pub prefix: String,
    pub input: Arc<Input>,
}

impl Expect {
    pub fn count(&self) -> u64 {
        self.n / self.every
    }

    fn last(&self) -> u64 {
        self.n - self.n % self.every
    }
}

/// What the client got.
#[derive(Default)]
pub struct Received {
    pub rows: u64,
    /// `missed` counts the hub sent (entries evicted before this client read them).
    pub missed: u64,
    /// Bytes of text messages received.
    pub bytes: u64,
    pub messages: u64,
    /// Per entry index, nanoseconds since `t0` when its row arrived (0: never).
    pub arrived_at: Vec<u64>,
    /// Rows that did not check out, and the first few descriptions.
    pub bad_rows: u64,
    pub first_problems: Vec<String>,
    /// Expected indices whose row never arrived, and the first few of them.
    pub gaps: u64,
    pub first_gaps: Vec<u64>,
}

/// How many gap indices [`Received::first_gaps`] keeps.
const FIRST_GAPS: usize = 10;

impl Received {
    fn problem(&mut self, what: String) {
        self.bad_rows += 1;
        if self.first_problems.len() < 5 {
            self.first_problems.push(what);
        }
    }
}

/// Opens a stream with filter `q` and no replay; returns once the hub acknowledged the filter.
pub async fn connect(hub: &HubHandle, q: &str) -> Result<Ws, ClientError> {
    let url = format!(
        "ws://{}/api/v1/stream?replay=0&token={}&q={}",
        hub.local_addr(),
        hub_lite::http::query::encode(hub.token()),
        hub_lite::http::query::encode(q)
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    loop {
        let Some(msg) = ws.next().await else { return Err(ClientError::Closed { rows: 0 }) };
        let Message::Text(text) = msg? else { continue };
        let m: ServerMessage = serde_json::from_str(text.as_str())?;
        if m.kind == "filter" {
            return if m.ok == Some(true) { Ok(ws) } else { Err(ClientError::Filter(m.error.unwrap_or_default())) };
        }
    }
}

/// Reads rows until the last expected one arrived; publishes the newest index received in `acked`
/// (for the producer's window). Gives up when no row came for `stall`.
pub async fn receive(
    ws: &mut Ws,
    expect: &Expect,
    t0: Instant,
    acked: &AtomicU64,
    stall: Duration,
) -> Result<Received, ClientError> {
    let mut got = Received { arrived_at: vec![0; expect.n as usize + 1], ..Received::default() };
    // Per entry index, whether its row arrived (`arrived_at` cannot tell: 0 ns is a time too).
    let mut arrived = vec![false; expect.n as usize + 1];
    let last = expect.last();
    let mut newest = 0u64;
    let mut progress = Instant::now();
    while newest < last {
        let msg = match tokio::time::timeout(Duration::from_secs(1), ws.next()).await {
            Ok(Some(m)) => m?,
            Ok(None) => return Err(ClientError::Closed { rows: got.rows }),
            Err(_) if progress.elapsed() > stall => return Err(ClientError::Stalled(stall, got.rows)),
            Err(_) => continue,
        };
        let now = u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let Message::Text(text) = msg else { continue };
        got.bytes += text.len() as u64;
        got.messages += 1;
        let m: ServerMessage = serde_json::from_str(text.as_str())?;
        match m.kind.as_str() {
            "entries" => {
                progress = Instant::now();
                for row in m.entries {
                    got.rows += 1;
                    let Some(i) = index_of(&row.id, &expect.prefix).filter(|i| (1..=expect.n as usize).contains(i))
                    else {
                        got.problem(format!("unknown id {:?}", row.id));
                        continue;
                    };
                    let i64 = i as u64;
                    if i64 <= newest {
                        got.problem(format!("{} after {newest}", row.id));
                    } else if !i64.is_multiple_of(expect.every) {
                        got.problem(format!("{} does not pass the filter", row.id));
                    } else if expect.input.summary(i) != row.summary {
                        got.problem(format!("{}: summary {:?} is not the pushed entry's", row.id, row.summary));
                    }
                    newest = newest.max(i64);
                    got.arrived_at[i] = now;
                    arrived[i] = true;
                }
                acked.store(newest, Ordering::Release);
            }
            "missed" => got.missed += m.count.unwrap_or(0),
            "error" => got.problem(format!("hub error message: {}", m.error.unwrap_or_default())),
            _ => {} // filter, health
        }
    }
    for i in (expect.every..=last).step_by(expect.every as usize) {
        if !arrived[i as usize] {
            got.gaps += 1;
            if got.first_gaps.len() < FIRST_GAPS {
                got.first_gaps.push(i);
            }
        }
    }
    Ok(got)
}
