//! One hub connection on the agent: `hello`, then the hub's `subscribe`, then entries from the
//! buffer as they come (named, redacted and filtered as the hub asked), stats every second, filter
//! changes, names, the capture scope and pcap exports, until either side closes or the hub stays
//! silent too long.

use super::names::NamesReceiver;
use super::pcap::{self, PcapOutput};
use super::protocol::{
    write_entries_message, AgentMessage, AgentStats, HubMessage, MAX_FILTERS, MAX_PCAP_CONNECTIONS, PROTOCOL_VERSION,
};
use super::state::AgentState;
use crate::entry::Entry;
use crate::filter::Filter;
use crate::redact::{needs_redaction, redact_entry};
use crate::resolve;
use crate::scope::Scope;
use futures_util::{Sink, SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::{self, Message};

/// How long the hub has to send `subscribe`, and at most between two of its messages (it pings
/// every 10 s).
pub const HUB_SILENCE_LIMIT: Duration = Duration::from_secs(30);
/// Most entries in one `entries` message.
pub const MAX_BATCH_ENTRIES: usize = 1000;
/// An `entries` message stops growing once its entries' approximate size passes this. Small
/// enough that the message buffers of both ends are reused by the allocator rather than taken
/// fresh from the system (whose page zeroing was a third of the link's CPU time with 1 MiB
/// batches, hub-lite/examples/end_to_end).
pub const MAX_BATCH_BYTES: usize = 256 * 1024;
/// Pcap exports one connection may have under way.
pub const MAX_PENDING_EXPORTS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("hub connection: {0}")]
    WebSocket(#[from] tungstenite::Error),
    #[error("hub connection: the hub sent nothing for {0:?}")]
    Silent(Duration),
    #[error("hub connection: expected `subscribe` first, got {0}")]
    NoSubscribe(String),
    #[error("hub connection: encoding a message: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("hub connection: an encoded message is not UTF-8")]
    NotUtf8,
}

/// Counters of this connection.
#[derive(Default)]
struct Counters {
    sent: u64,
    filtered_out: u64,
    missed: u64,
}

/// Compiles the hub's filters; an error names the filter (0-based) and the problem.
fn compile(filters: &[String]) -> Result<Vec<Filter>, (Option<usize>, String)> {
    if filters.len() > MAX_FILTERS {
        return Err((None, format!("{} filters; at most {MAX_FILTERS}", filters.len())));
    }
    let mut out = Vec::with_capacity(filters.len());
    for (i, f) in filters.iter().enumerate() {
        let filter = Filter::parse(f).map_err(|e| (Some(e.column), format!("filter {}: {}", i + 1, e.message)))?;
        if filter.is_match_all() {
            // One filter that passes everything makes the others irrelevant.
            return Ok(Vec::new());
        }
        out.push(filter);
    }
    Ok(out)
}

fn ack(id: u64, result: &Result<Vec<Filter>, (Option<usize>, String)>) -> AgentMessage {
    match result {
        Ok(_) => AgentMessage::Filter { id, ok: true, column: None, error: None },
        Err((column, error)) => AgentMessage::Filter { id, ok: false, column: *column, error: Some(error.clone()) },
    }
}

async fn send<S>(tx: &mut S, message: &AgentMessage) -> Result<(), SessionError>
where
    S: Sink<Message, Error = tungstenite::Error> + Unpin,
{
    tx.send(Message::text(serde_json::to_string(message)?)).await?;
    Ok(())
}

/// Runs one connection to its end. `Ok` when the hub closed it or `shutdown` was set.
pub async fn run_session<S>(
    ws: tokio_tungstenite::WebSocketStream<S>,
    state: Arc<AgentState>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), SessionError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut tx, mut rx) = ws.split();
    let (first_seq, last_seq) = state.log.bounds();
    let hello = AgentMessage::Hello {
        protocol: PROTOCOL_VERSION,
        version: env!("CARGO_PKG_VERSION").into(),
        agent: state.identity.agent.clone(),
        run: state.identity.run.clone(),
        id_prefix: state.identity.id_prefix.clone(),
        first_seq,
        last_seq,
    };
    send(&mut tx, &hello).await?;

    // The subscription: the first data message of the hub.
    let deadline = Instant::now() + HUB_SILENCE_LIMIT;
    let subscribe = loop {
        let message = tokio::select! {
            m = rx.next() => m,
            _ = sleep_until(deadline) => return Err(SessionError::Silent(HUB_SILENCE_LIMIT)),
        };
        match message {
            None | Some(Ok(Message::Close(_))) => return Ok(()),
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(Message::Text(t))) => match serde_json::from_str::<HubMessage>(&t) {
                Ok(m @ HubMessage::Subscribe { .. }) => break m,
                Ok(other) => return Err(SessionError::NoSubscribe(format!("{other:?}").chars().take(80).collect())),
                Err(e) => return Err(SessionError::NoSubscribe(format!("an unreadable message ({e})"))),
            },
            Some(Ok(Message::Binary(_))) => return Err(SessionError::NoSubscribe("a binary message".into())),
            Some(Ok(_)) => {} // ping, pong
        }
    };
    let HubMessage::Subscribe { run, after, filters, redact: redacting, id } = subscribe else {
        return Err(SessionError::NoSubscribe("another message".into()));
    };
    // Resume after `after` within the same run; otherwise start at the oldest buffered entry.
    let mut cursor =
        if run.as_deref() == Some(state.identity.run.as_str()) { after.min(last_seq) } else { first_seq - 1 };
    let compiled = compile(&filters);
    send(&mut tx, &ack(id, &compiled)).await?;
    // Until the hub sends filters that compile, nothing passes rather than everything.
    let mut filters: Option<Vec<Filter>> = compiled.ok();

    let mut counters = Counters::default();
    let mut names = NamesReceiver::default();
    let mut changed = state.log.watch();
    let (pcap_tx, mut pcap_rx) = mpsc::channel::<PcapOutput>(8);
    let mut pending_exports = 0usize;
    let mut stats_tick = tokio::time::interval(Duration::from_secs(1));
    let mut silence_deadline = Instant::now() + HUB_SILENCE_LIMIT;
    loop {
        let pending = state.log.latest_seq() > cursor;
        tokio::select! {
            biased;
            _ = stopped(&mut shutdown) => {
                let _ = tx.send(Message::Close(None)).await;
                return Ok(());
            }
            message = rx.next() => {
                silence_deadline = Instant::now() + HUB_SILENCE_LIMIT;
                let text = match message {
                    None | Some(Ok(Message::Close(_))) => return Ok(()),
                    Some(Err(e)) => return Err(e.into()),
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Binary(_))) => {
                        send(&mut tx, &AgentMessage::Error { error: "unexpected binary message".into() }).await?;
                        continue;
                    }
                    Some(Ok(_)) => continue,
                };
                match serde_json::from_str::<HubMessage>(&text) {
                    Err(e) => send(&mut tx, &AgentMessage::Error { error: format!("unreadable message: {e}") }).await?,
                    Ok(HubMessage::Subscribe { .. }) => {
                        send(&mut tx, &AgentMessage::Error { error: "already subscribed".into() }).await?
                    }
                    Ok(HubMessage::Filter { id, filters: new }) => {
                        let compiled = compile(&new);
                        send(&mut tx, &ack(id, &compiled)).await?;
                        if let Ok(f) = compiled {
                            filters = Some(f);
                        }
                    }
                    Ok(HubMessage::Names { reset, more, set, remove }) => {
                        if let Err(e) = names.take(&state.names, reset, more, set, remove) {
                            send(&mut tx, &AgentMessage::Error { error: e.to_string() }).await?;
                        }
                    }
                    Ok(HubMessage::Capture { id, all, addresses, exclude }) => {
                        let scope = if all { Ok(Scope::all()) } else { Scope::only(addresses) };
                        let scope = scope.and_then(|s| s.excluding(exclude));
                        let ack = match scope {
                            Ok(scope) => {
                                state.scope.set(scope);
                                AgentMessage::Capture { id, ok: true, error: None }
                            }
                            Err(e) => AgentMessage::Capture { id, ok: false, error: Some(e.to_string()) },
                        };
                        send(&mut tx, &ack).await?;
                    }
                    Ok(HubMessage::Pcap { id, connections, max_bytes }) => {
                        if connections.len() > MAX_PCAP_CONNECTIONS {
                            let error = format!("{} connections; at most {MAX_PCAP_CONNECTIONS}", connections.len());
                            send(&mut tx, &AgentMessage::PcapError { id, error }).await?;
                        } else if pending_exports >= MAX_PENDING_EXPORTS {
                            let error = format!("{MAX_PENDING_EXPORTS} exports are under way; try again later");
                            send(&mut tx, &AgentMessage::PcapError { id, error }).await?;
                        } else {
                            pending_exports += 1;
                            let (dir, out, exports) =
                                (state.packets.clone(), pcap_tx.clone(), Arc::clone(&state.exports));
                            tokio::spawn(async move {
                                let Ok(_permit) = exports.acquire_owned().await else { return };
                                let job = move || pcap::export(dir, id, &connections, max_bytes, out);
                                let _ = tokio::task::spawn_blocking(job).await;
                            });
                        }
                    }
                }
            }
            Some(out) = pcap_rx.recv() => match out {
                PcapOutput::Chunk(data) => tx.send(Message::binary(data)).await?,
                PcapOutput::Done(done) => {
                    pending_exports = pending_exports.saturating_sub(1);
                    send(&mut tx, &done).await?;
                }
            },
            _ = stats_tick.tick() => {
                let c = state.counters();
                let stats = AgentStats {
                    elapsed_ms: state.elapsed_ms(),
                    packets: c.packets,
                    bytes: c.bytes,
                    drops: c.drops,
                    entries: c.entries,
                    sent: counters.sent,
                    filtered_out: counters.filtered_out,
                    missed: counters.missed,
                    buffered: state.log.len() as u64,
                    out_of_scope: c.out_of_scope,
                };
                send(&mut tx, &AgentMessage::Stats(stats)).await?;
            }
            _ = sleep_until(silence_deadline) => return Err(SessionError::Silent(HUB_SILENCE_LIMIT)),
            _ = std::future::ready(()), if pending => {
                let batch = next_batch(&state, &mut cursor, filters.as_deref(), redacting, &mut counters)?;
                if batch.missed > 0 {
                    send(&mut tx, &AgentMessage::Missed { count: batch.missed }).await?;
                }
                if !batch.message.is_empty() {
                    let text = String::from_utf8(batch.message).map_err(|_| SessionError::NotUtf8)?;
                    tx.send(Message::text(text)).await?;
                }
            }
            _ = changed.changed(), if !pending => {}
        }
    }
}

/// Resolves once `shutdown` is true (or its sender is gone), holding no borrow of the value.
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|&stop| stop).await;
}

struct Batch {
    /// An `entries` message, or empty when no entry passed.
    message: Vec<u8>,
    missed: u64,
}

/// Reads the buffer after `cursor`, moves the cursor over what it read, and encodes the entries
/// that pass `filters` (none: everything; `None`: nothing), named from the agent's name table and
/// redacted first (when asked), so filters see names and never secrets. Names are looked up when
/// an entry is sent, so entries buffered before the hub sent its names get them too.
fn next_batch(
    state: &AgentState,
    cursor: &mut u64,
    filters: Option<&[Filter]>,
    redacting: bool,
    counters: &mut Counters,
) -> Result<Batch, serde_json::Error> {
    let read = state.log.after(*cursor, MAX_BATCH_ENTRIES);
    counters.missed += read.missed;
    let mut passed: Vec<(u64, Arc<Entry>)> = Vec::new();
    let mut bytes = 0;
    for (seq, entry, size) in read.entries {
        if bytes >= MAX_BATCH_BYTES {
            break;
        }
        *cursor = seq;
        let fill = resolve::lookup(state.names.as_ref(), &entry);
        let redact = redacting && needs_redaction(&entry);
        let entry = if fill.is_some() || redact {
            let mut copy = Entry::clone(&entry);
            if let Some(fill) = fill {
                fill.apply_to(&mut copy);
            }
            if redact {
                redact_entry(&mut copy);
            }
            Arc::new(copy)
        } else {
            entry
        };
        let pass = filters.is_some_and(|f| f.is_empty() || f.iter().any(|f| f.matches(&entry)));
        if pass {
            bytes += size;
            passed.push((seq, entry));
        } else {
            counters.filtered_out += 1;
        }
    }
    // Sized once: the approximate sizes usually exceed the JSON a little, so the buffer rarely regrows.
    let mut message = Vec::new();
    if !passed.is_empty() {
        message.reserve(bytes + 64);
        let borrowed: Vec<(u64, &Entry)> = passed.iter().map(|(s, e)| (*s, e.as_ref())).collect();
        write_entries_message(&borrowed, &mut message)?;
    }
    counters.sent += passed.len() as u64;
    Ok(Batch { message, missed: read.missed })
}
