//! `tap --output json`: follows the hub's `/api/v1/stream?full=1` through the local forward and
//! writes each entry once as a JSON line, reconnecting when the stream breaks (a replaced hub, a
//! broken forward) and skipping entries already written (bounded memory of recent ids).

use futures_util::StreamExt;
use std::collections::{HashSet, VecDeque};
use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// Ids remembered to skip entries a reconnect replays again.
pub const REMEMBERED_IDS: usize = 200_000;
/// Entries the hub replays on every (re)connect.
const REPLAY: usize = 100_000;
/// Largest message taken from the hub (batches end at about 1 MiB; one entry may be bigger).
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// The most recent `cap` ids, oldest forgotten first.
pub struct RecentIds {
    set: HashSet<String>,
    order: VecDeque<String>,
    cap: usize,
}

impl RecentIds {
    pub fn new(cap: usize) -> RecentIds {
        RecentIds { set: HashSet::new(), order: VecDeque::new(), cap: cap.max(1) }
    }

    /// True when `id` was not among the recent ids (it is now).
    pub fn insert(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        if self.order.len() >= self.cap {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.set.insert(id.to_string());
        self.order.push_back(id.to_string());
        true
    }
}

/// Percent-encodes a query parameter value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What one hub message meant for the output.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Entries to write, in order, without `seq` (as docs/entry.md).
    Entries(Vec<serde_json::Value>),
    Missed(u64),
    /// The hub refused the filter.
    BadFilter(String),
    Other,
}

/// Interprets one text message of the stream; entries already seen are left out.
pub fn interpret(text: &str, seen: &mut RecentIds) -> Outcome {
    let Ok(mut msg) = serde_json::from_str::<serde_json::Value>(text) else { return Outcome::Other };
    match msg.get("type").and_then(|t| t.as_str()) {
        Some("entries") => {
            let Some(list) = msg.get_mut("entries").and_then(|e| e.as_array_mut()) else { return Outcome::Other };
            let mut out = Vec::with_capacity(list.len());
            for mut entry in list.drain(..) {
                let Some(id) = entry.get("id").and_then(|i| i.as_str()).map(str::to_string) else { continue };
                if seen.insert(&id) {
                    if let Some(obj) = entry.as_object_mut() {
                        obj.remove("seq");
                    }
                    out.push(entry);
                }
            }
            Outcome::Entries(out)
        }
        Some("missed") => Outcome::Missed(msg.get("count").and_then(|c| c.as_u64()).unwrap_or(0)),
        Some("filter") if msg.get("ok") == Some(&serde_json::Value::Bool(false)) => {
            Outcome::BadFilter(msg.get("error").and_then(|e| e.as_str()).unwrap_or("refused").to_string())
        }
        _ => Outcome::Other,
    }
}

/// Why a stream session ended.
enum End {
    /// The stream broke: reconnect.
    Retry(String),
    /// Reconnecting would not help (output closed, filter refused).
    Fatal(String),
}

/// Follows the stream until `stop` resolves; fails when writing fails or the filter is refused.
pub async fn follow(
    local: SocketAddr,
    token: &str,
    filter: Option<&str>,
    out: &mut (dyn Write + Send),
    report: &(dyn Fn(String) + Send + Sync),
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    tokio::pin!(stop);
    let url = format!("ws://{local}/api/v1/stream?full=1&replay={REPLAY}&q={}", encode(filter.unwrap_or("")));
    let mut seen = RecentIds::new(REMEMBERED_IDS);
    let mut backoff = Duration::from_millis(100);
    let mut connections = 0u64;
    loop {
        let session = one_session(&url, token, out, &mut seen, &mut connections, &mut backoff, report);
        let end = tokio::select! {
            _ = &mut stop => return Ok(()),
            end = session => end,
        };
        match end {
            End::Fatal(e) => return Err(e),
            End::Retry(e) => report(format!("{e}; reconnecting")),
        }
        tokio::select! {
            _ = &mut stop => return Ok(()),
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

async fn one_session(
    url: &str,
    token: &str,
    out: &mut (dyn Write + Send),
    seen: &mut RecentIds,
    connections: &mut u64,
    backoff: &mut Duration,
    report: &(dyn Fn(String) + Send + Sync),
) -> End {
    let mut req = match url.into_client_request() {
        Ok(r) => r,
        Err(e) => return End::Fatal(format!("stream request {url}: {e}")),
    };
    match HeaderValue::from_str(&format!("Bearer {token}")) {
        Ok(v) => req.headers_mut().insert("Authorization", v),
        Err(e) => return End::Fatal(format!("the session token is not a header value: {e}")),
    };
    let config = WebSocketConfig::default().max_message_size(Some(MAX_MESSAGE)).max_frame_size(Some(MAX_MESSAGE));
    let mut ws = match tokio_tungstenite::connect_async_with_config(req, Some(config), false).await {
        Ok((ws, _)) => ws,
        Err(e) => return End::Retry(format!("connecting to the hub's entry stream: {e}")),
    };
    *connections += 1;
    *backoff = Duration::from_millis(100);
    if *connections > 1 {
        report("entry stream reconnected".into());
    }
    let write_err = |e: std::io::Error| End::Fatal(format!("writing output: {e}"));
    while let Some(msg) = ws.next().await {
        let text = match msg {
            Ok(Message::Text(text)) => text,
            Ok(_) => continue,
            Err(e) => return End::Retry(format!("entry stream: {e}")),
        };
        match interpret(text.as_str(), seen) {
            Outcome::Entries(list) => {
                for e in &list {
                    if let Err(e) = serde_json::to_writer(&mut *out, e) {
                        return End::Fatal(format!("writing output: {e}"));
                    }
                    if let Err(e) = out.write_all(b"\n") {
                        return write_err(e);
                    }
                }
                if let Err(e) = out.flush() {
                    return write_err(e);
                }
            }
            Outcome::Missed(n) => report(format!("{n} entries were evicted from the hub before they were read")),
            Outcome::BadFilter(e) => return End::Fatal(format!("the hub refused the filter: {e}")),
            Outcome::Other => {}
        }
    }
    End::Retry("the hub closed the entry stream".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recent_ids_forget_the_oldest_beyond_the_cap() {
        let mut ids = RecentIds::new(3);
        assert!(ids.insert("a") && ids.insert("b") && ids.insert("c"));
        assert!(!ids.insert("a"), "remembered");
        assert!(ids.insert("d"), "new");
        assert!(ids.insert("a"), "a was the oldest and is forgotten");
        assert!(!ids.insert("d") && !ids.insert("c"));
        assert_eq!(ids.order.len(), 3);
        assert_eq!(ids.set.len(), 3);
    }

    #[test]
    fn entries_are_written_once_without_seq() {
        let mut seen = RecentIds::new(100);
        let first = json!({"type": "entries", "entries": [
            {"seq": 1, "id": "n.r-1", "protocol": "http"}, {"seq": 2, "id": "n.r-2", "protocol": "dns"}]});
        assert_eq!(
            interpret(&first.to_string(), &mut seen),
            Outcome::Entries(vec![
                json!({"id": "n.r-1", "protocol": "http"}),
                json!({"id": "n.r-2", "protocol": "dns"})
            ])
        );
        // A reconnect replays what was written, plus a new one; an entry without id is skipped.
        let replay = json!({"type": "entries", "entries": [
            {"seq": 1, "id": "n.r-1"}, {"seq": 2, "id": "n.r-2"}, {"seq": 3, "id": "n.r-3"}, {"seq": 4}]});
        assert_eq!(interpret(&replay.to_string(), &mut seen), Outcome::Entries(vec![json!({"id": "n.r-3"})]));
        assert_eq!(interpret(r#"{"type":"missed","count":7}"#, &mut seen), Outcome::Missed(7));
        assert_eq!(
            interpret(r#"{"type":"filter","q":"x ==","ok":false,"column":3,"error":"expected a value"}"#, &mut seen),
            Outcome::BadFilter("expected a value".into())
        );
        assert_eq!(interpret(r#"{"type":"filter","q":"","ok":true}"#, &mut seen), Outcome::Other);
        assert_eq!(interpret("not json", &mut seen), Outcome::Other);
        assert_eq!(interpret(r#"{"type":"health"}"#, &mut seen), Outcome::Other);
    }

    #[test]
    fn filters_are_percent_encoded() {
        assert_eq!(encode(r#"http and status == "200""#), "http%20and%20status%20%3D%3D%20%22200%22");
        assert_eq!(encode("a-b_c.d~"), "a-b_c.d~");
        assert_eq!(encode("é"), "%C3%A9");
    }
}
