//! How many rows per second one dashboard stream delivers: a hub on loopback, N synthetic HTTP
//! entries pushed into its store from another thread, read back through /api/v1/stream with a
//! tokio-tungstenite client. Rows the store evicted before the stream sent them are reported as
//! missed (the store keeps 100,000 entries).
//!
//! `cargo run --release -p hub-lite --example stream_throughput -- [N]` (default 500000)

use futures_util::StreamExt;
use hub_lite::hub::{Hub, HubConfig};
use node_agent::{Endpoint, Entry, Timestamp, Transport};
use std::time::Instant;
use tokio_tungstenite::tungstenite::Message;

fn entry(i: u64) -> Entry {
    Entry {
        id: format!("bench-{i}"),
        protocol: "http".into(),
        transport: Transport::Tcp,
        ts: Timestamp::from_secs_nanos(1_700_000_000 + i / 1000, (i % 1000) as u32 * 1_000_000),
        elapsed_us: Some(1200 + i % 500),
        src: Endpoint::new([10, 0, (i >> 8) as u8, i as u8].into(), 40000 + (i % 20000) as u16),
        dst: Endpoint::new([10, 0, 0, 2].into(), 8080),
        summary: format!("GET /api/items/{i}?page=2"),
        status: Some("200".into()),
        outcome: Default::default(),
        tls: false,
        request_size: 180,
        response_size: 733,
        request: serde_json::json!({
            "method": "GET", "path": format!("/api/items/{i}?page=2"), "version": "HTTP/1.1",
            "headers": [["Host", "api"], ["Accept", "*/*"]],
        }),
        response: Some(
            serde_json::json!({"status": 200, "reason": "OK", "headers": [["Content-Type", "application/json"]]}),
        ),
        notes: vec![],
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(500_000);
    let hub = Hub::start(HubConfig::default())?;
    let url = format!("ws://{}/api/v1/stream?replay=0&token={}", hub.local_addr(), hub.token());
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    // The filter acknowledgement comes first: the stream is following the store from here on.
    while let Some(msg) = ws.next().await {
        if matches!(msg?, Message::Text(ref t) if t.as_str().contains("\"type\":\"filter\"")) {
            break;
        }
    }
    let entries: Vec<Entry> = (0..n).map(entry).collect();
    let store = hub.store();
    let start = Instant::now();
    let pusher = std::thread::spawn(move || {
        for e in entries {
            store.push(e);
        }
        start.elapsed()
    });
    let (mut rows, mut missed, mut bytes, mut messages) = (0u64, 0u64, 0u64, 0u64);
    while rows + missed < n {
        let Some(msg) = ws.next().await else { break };
        let Message::Text(text) = msg? else { continue };
        bytes += text.len() as u64;
        let v: serde_json::Value = serde_json::from_str(text.as_str())?;
        match v["type"].as_str() {
            Some("entries") => {
                rows += v["entries"].as_array().map_or(0, |a| a.len() as u64);
                messages += 1;
            }
            Some("missed") => missed += v["count"].as_u64().unwrap_or(0),
            _ => {}
        }
    }
    let elapsed = start.elapsed();
    let push_time = pusher.join().map_err(|_| "pusher thread panicked")?;
    let secs = elapsed.as_secs_f64();
    println!(
        "{rows} rows in {secs:.2} s = {:.0} rows/s ({:.1} MB/s of JSON, {messages} messages, {missed} missed; \
         pushing took {:.2} s = {:.0} entries/s)",
        rows as f64 / secs,
        bytes as f64 / secs / 1e6,
        push_time.as_secs_f64(),
        n as f64 / push_time.as_secs_f64(),
    );
    // Replay: the newest 100,000 stored rows to a fresh stream, without the pusher in the way.
    let want = hub.store().stats().stored.min(100_000) as u64;
    let url = format!("ws://{}/api/v1/stream?replay=100000&token={}", hub.local_addr(), hub.token());
    let start = Instant::now();
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    let mut replayed = 0u64;
    while replayed < want {
        let Some(msg) = ws.next().await else { break };
        let Message::Text(text) = msg? else { continue };
        let v: serde_json::Value = serde_json::from_str(text.as_str())?;
        if v["type"] == "entries" {
            replayed += v["entries"].as_array().map_or(0, |a| a.len() as u64);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("replay: {replayed} rows in {secs:.2} s = {:.0} rows/s", replayed as f64 / secs);
    hub.shutdown();
    hub.wait().await?;
    Ok(())
}
