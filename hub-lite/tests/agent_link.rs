//! The agent-to-hub protocol end to end: a real agent server (node_agent::link) on loopback, the
//! real hub side (hub_lite::agents) connecting to it, entries from dissecting the bundled capture.
//! Oracles: the entries `run_files` produces for the same file, counted and compared field by field;
//! for pcap exports, the packets of the original file.

mod common;

use common::{accept, demo, demo_entries, from_hub, new_state, no_redaction, start_agent, stored, text, until};
use futures_util::SinkExt;
use hub_lite::agents::{AgentConfig, Agents, AgentsOptions};
use hub_lite::store::{EntryStore, StoreLimits};
use node_agent::filter::Filter;
use node_agent::link::protocol::{AgentMessage, HubMessage, SeqEntry};
use node_agent::link::LogLimits;
use node_agent::source::file::CaptureFile;
use node_agent::storage::PcapRing;
use node_agent::{Entry, Timestamp};
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_stores_every_entry_the_agent_produced_exactly_once() {
    let state = new_state("node-1", LogLimits::default(), None);
    let entries = demo_entries(&state.identity.id_prefix);
    let half = entries.len() / 2;
    for e in &entries[..half] {
        state.push(e.clone());
    }
    let agent = start_agent(&state, None, None).await;
    let store = Arc::new(EntryStore::new(StoreLimits::default()));
    let agents =
        Agents::start(vec![AgentConfig::at("node-1", agent.address, None)], Arc::clone(&store), no_redaction());
    until(&store, &agents, "the first half", |s, _| s.stats().stored == half).await;
    // The rest arrives while connected.
    for e in &entries[half..] {
        state.push(e.clone());
    }
    until(&store, &agents, "every entry", |s, _| s.stats().stored == entries.len()).await;
    assert_eq!(stored(&store), entries, "the hub holds the agent's entries, in order, unchanged");
    until(&store, &agents, "stats", |_, a| a.health()[0].sent == entries.len() as u64).await;
    let h = &agents.health()[0];
    assert!(h.connected, "{h:?}");
    assert_eq!((h.received, h.filtered_out, h.missed, h.reconnects), (entries.len() as u64, 0, 0, 0), "{h:?}");
    assert_eq!(h.filter, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_are_pushed_down_and_only_matching_entries_cross() {
    let state = new_state("node-1", LogLimits::default(), None);
    let prefix = state.identity.id_prefix.clone();
    let entries = demo_entries(&prefix);
    let dns: Vec<Entry> = entries.iter().filter(|e| e.protocol == "dns").cloned().collect();
    assert!(!dns.is_empty() && dns.len() < entries.len(), "the demo has DNS and HTTP");
    for e in &entries {
        state.push(e.clone());
    }
    let agent = start_agent(&state, None, None).await;
    let store = Arc::new(EntryStore::new(StoreLimits::default()));
    let options = AgentsOptions { initial_filters: vec![Filter::parse("dns").unwrap()], ..no_redaction() };
    let agents = Agents::start(vec![AgentConfig::at("node-1", agent.address, None)], Arc::clone(&store), options);
    let total = entries.len() as u64;
    until(&store, &agents, "the agent looked at every entry", |_, a| {
        let h = &a.health()[0];
        h.sent + h.filtered_out == total
    })
    .await;
    assert_eq!(stored(&store), dns, "exactly the DNS entries crossed");
    assert_eq!(agents.health()[0].filter, "dns");

    // A dashboard stream opens with its own filter: now the agents send what it wants instead.
    let stream = agents.filters().open(Filter::parse("http").unwrap());
    until(&store, &agents, "the agent acknowledged the stream's filter", |_, a| a.health()[0].filter == "http").await;
    let again: Vec<Entry> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| Entry { id: format!("{prefix}-{}", 100_000 + i), ..e.clone() })
        .collect();
    let http: Vec<Entry> = again.iter().filter(|e| e.protocol == "http").cloned().collect();
    for e in &again {
        state.push(e.clone());
    }
    until(&store, &agents, "the agent looked at the second round", |_, a| {
        let h = &a.health()[0];
        h.sent + h.filtered_out == 2 * total
    })
    .await;
    assert_eq!(stored(&store)[..dns.len()], dns[..]);
    assert_eq!(stored(&store)[dns.len()..], http[..], "exactly the HTTP entries of the second round crossed");
    // Two streams: the agents send what either wants.
    let other = agents.filters().open(Filter::parse("dns").unwrap());
    until(&store, &agents, "both filters", |_, a| a.health()[0].filter == "(dns) or (http)").await;
    drop(other);
    drop(stream);
    assert_eq!(agents.filters().in_force(), vec!["http".to_string()], "the last stream's filter stays in force");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnecting_hub_resumes_where_it_stopped_and_counts_what_the_agent_evicted() {
    // A buffer of 20: while the hub is away, the agent keeps only the newest 20 entries.
    let state = new_state("node-1", LogLimits { max_entries: 20, max_bytes: usize::MAX }, None);
    let entries = demo_entries(&state.identity.id_prefix);
    assert!(entries.len() > 60);
    for e in &entries[..10] {
        state.push(e.clone());
    }
    let first = start_agent(&state, None, None).await;
    let store = Arc::new(EntryStore::new(StoreLimits::default()));
    let agents =
        Agents::start(vec![AgentConfig::at("node-1", first.address, None)], Arc::clone(&store), no_redaction());
    until(&store, &agents, "the first 10", |s, _| s.stats().stored == 10).await;
    until(&store, &agents, "stats of the first connection", |_, a| a.health()[0].sent == 10).await;

    // The agent goes away (say, the port-forward broke) and produces 40 more meanwhile.
    let address = first.address;
    first.stop().await;
    until(&store, &agents, "the hub noticed", |_, a| !a.health()[0].connected).await;
    for e in &entries[10..50] {
        state.push(e.clone());
    }
    let second = start_agent(&state, Some(address), None).await;
    // Entries 11..=30 were evicted; the hub gets 31..=50 and is told it missed 20.
    until(&store, &agents, "the resumed stream", |s, _| s.stats().stored == 30).await;
    let got = stored(&store);
    assert_eq!(got[..10], entries[..10]);
    assert_eq!(got[10..], entries[30..50]);
    until(&store, &agents, "stats of the second connection", |_, a| a.health()[0].sent == 30).await;
    let h = &agents.health()[0];
    assert!(h.connected && h.reconnects >= 1, "{h:?}");
    assert_eq!((h.missed, h.received), (20, 30), "{h:?}");
    assert_eq!(store.stats().received, 30, "nothing was resent, so nothing was dropped as a duplicate");
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_agent_is_a_new_run_whose_entries_do_not_collide() {
    let old = new_state("node-1", LogLimits::default(), None);
    let first = start_agent(&old, None, None).await;
    let a = demo_entries(&old.identity.id_prefix);
    for e in &a[..5] {
        old.push(e.clone());
    }
    let store = Arc::new(EntryStore::new(StoreLimits::default()));
    let agents =
        Agents::start(vec![AgentConfig::at("node-1", first.address, None)], Arc::clone(&store), no_redaction());
    until(&store, &agents, "the old run's entries", |s, _| s.stats().stored == 5).await;
    let address = first.address;
    first.stop().await;

    // The same node, a new process: sequence numbers and entry numbers start over.
    let new = new_state("node-1", LogLimits::default(), None);
    assert_ne!(new.identity.run, old.identity.run);
    let b = demo_entries(&new.identity.id_prefix);
    for e in &b[..7] {
        new.push(e.clone());
    }
    let _second = start_agent(&new, Some(address), None).await;
    until(&store, &agents, "the new run's entries", |s, _| s.stats().stored == 12).await;
    let got = stored(&store);
    assert_eq!(got[..5], a[..5]);
    assert_eq!(got[5..], b[..7]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_with_a_token_refuses_hubs_without_it() {
    let state = new_state("node-1", LogLimits::default(), None);
    let entries = demo_entries(&state.identity.id_prefix);
    state.push(entries[0].clone());
    let agent = start_agent(&state, None, Some("s3cret-token")).await;
    let store = Arc::new(EntryStore::new(StoreLimits::default()));
    let configs = vec![
        AgentConfig::at("no-token", agent.address, None),
        AgentConfig::at("wrong-token", agent.address, Some("s3cret-tokem".into())),
        AgentConfig::at("token", agent.address, Some("s3cret-token".into())),
    ];
    let agents = Agents::start(configs, Arc::clone(&store), no_redaction());
    until(&store, &agents, "both refusals", |_, a| {
        a.health()[..2].iter().all(|h| h.last_error.as_deref().is_some_and(|e| e.contains("HTTP 401")))
    })
    .await;
    until(&store, &agents, "the entry", |_, a| a.health()[2].received == 1).await;
    let h = agents.health();
    assert!(!h[0].connected && !h[1].connected && h[2].connected, "{h:?}");
    assert_eq!((h[0].received, h[1].received, h[2].received), (0, 0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_redacted_before_the_agent_filters() {
    let state = new_state("node-1", LogLimits::default(), None);
    let mut entry = demo_entries(&state.identity.id_prefix).into_iter().find(|e| e.protocol == "http").unwrap();
    let headers = entry.request["headers"].as_array_mut().unwrap();
    headers.push(serde_json::json!(["Authorization", "Bearer hunter2"]));
    state.push(entry.clone());
    let agent = start_agent(&state, None, None).await;
    let store = Arc::new(EntryStore::new(StoreLimits::default()));
    // A filter that could only match the secret: with redaction it must not.
    let options = AgentsOptions {
        redact: true,
        initial_filters: vec![Filter::parse(r#"request.headers["authorization"] contains "hunter2""#).unwrap()],
        ..AgentsOptions::default()
    };
    let agents = Agents::start(vec![AgentConfig::at("node-1", agent.address, None)], Arc::clone(&store), options);
    until(&store, &agents, "the agent looked at it", |_, a| a.health()[0].filtered_out == 1).await;
    assert_eq!(store.stats().stored, 0);
    // With a filter on the redacted value it crosses, redacted.
    let _s = agents.filters().open(Filter::parse(r#"request.headers["authorization"] == "[REDACTED]""#).unwrap());
    until(&store, &agents, "the new filter", |_, a| a.health()[0].filter.contains("[REDACTED]")).await;
    state.push(Entry { id: format!("{}-9999", state.identity.id_prefix), ..entry.clone() });
    until(&store, &agents, "the redacted entry", |s, _| s.stats().stored == 1).await;
    let text = serde_json::to_string(&stored(&store)[0]).unwrap();
    assert!(!text.contains("hunter2") && text.contains("[REDACTED]"), "{text}");
}

/// Every packet of `path` for which `keep` holds, as (timestamp, bytes).
fn packets(path: &Path, mut keep: impl FnMut(&node_agent::source::RawPacket<'_>) -> bool) -> Vec<(Timestamp, Vec<u8>)> {
    let mut file = CaptureFile::open(path).unwrap();
    let mut out = Vec::new();
    while let Some(p) = file.next_packet() {
        let p = p.unwrap();
        if keep(&p) {
            out.push((p.ts, p.data.to_vec()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pcap_of_an_entry_is_its_connection_from_the_agent_ring() {
    // The agent stored the demo capture's packets in its ring.
    let dir = tempfile::tempdir().unwrap();
    let mut ring = PcapRing::create(dir.path(), 64 * 1024 * 1024).unwrap();
    let mut file = CaptureFile::open(&demo()).unwrap();
    while let Some(p) = file.next_packet() {
        ring.write(&p.unwrap()).unwrap();
    }
    ring.flush().unwrap();
    let state = new_state("node-1", LogLimits::default(), Some(dir.path().to_path_buf()));
    let entries = demo_entries(&state.identity.id_prefix);
    for e in &entries {
        state.push(e.clone());
    }
    let agent = start_agent(&state, None, None).await;
    let store = Arc::new(EntryStore::new(StoreLimits::default()));
    let agents =
        Agents::start(vec![AgentConfig::at("node-1", agent.address, None)], Arc::clone(&store), no_redaction());
    until(&store, &agents, "entries", |s, _| s.stats().stored == entries.len()).await;

    for entry in
        [entries.iter().find(|e| e.protocol == "http").unwrap(), entries.iter().find(|e| e.protocol == "dns").unwrap()]
    {
        let export = agents.export_entry(entry).await.unwrap();
        let out = dir.path().join("export.pcapng");
        std::fs::write(&out, &export.data).unwrap();
        // Oracle: the original file's packets between the entry's endpoints within its window.
        let from = Timestamp(entry.ts.0 - 1_000_000_000);
        let to = Timestamp(entry.ts.0 + entry.elapsed_us.unwrap_or(0) * 1000 + 1_000_000_000);
        let ends = [(entry.src.ip, entry.src.port), (entry.dst.ip, entry.dst.port)];
        let expected = packets(&demo(), |p| {
            let Ok(Some(d)) = node_agent::packet::decode(p) else { return false };
            let (s, t) = ((d.src_ip, d.src_port), (d.dst_ip, d.dst_port));
            ((s, t) == (ends[0], ends[1]) || (s, t) == (ends[1], ends[0])) && p.ts >= from && p.ts <= to
        });
        assert!(!expected.is_empty());
        let got = packets(&out, |_| true);
        assert_eq!(got, expected, "entry {}", entry.id);
        assert_eq!(export.packets, expected.len() as u64);
    }

    // Every entry's connection at once: one section, each packet once.
    let all: Vec<Arc<Entry>> = store.snapshot();
    let export = agents.export_entries(&all).await.unwrap();
    assert!(export.packets > 0);
    let out = dir.path().join("all.pcapng");
    std::fs::write(&out, &export.data).unwrap();
    assert_eq!(packets(&out, |_| true).len() as u64, export.packets);

    // An entry of a run the hub does not know is refused rather than sent to the wrong agent.
    let stranger = Entry { id: "node-9.zzzzzzzz-1".into(), ..entries[0].clone() };
    assert!(matches!(agents.export_entry(&stranger).await, Err(hub_lite::agents::PcapError::UnknownEntry(_))));
}

fn hello(protocol: u32, run: &str) -> Message {
    text(&AgentMessage::Hello {
        protocol,
        version: "9".into(),
        agent: "fake".into(),
        run: run.into(),
        id_prefix: format!("fake.{run}"),
        first_seq: 1,
        last_seq: 0,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misbehaving_agent_is_reported_and_reconnected_and_resumed_exactly() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let store = Arc::new(EntryStore::new(StoreLimits::default()));
    let agents = Agents::start(
        vec![AgentConfig::at("fake", listener.local_addr().unwrap(), None)],
        Arc::clone(&store),
        no_redaction(),
    );
    let error_has = |text: &'static str| {
        move |_: &EntryStore, a: &Agents| a.health()[0].last_error.as_deref().is_some_and(|e| e.contains(text))
    };

    let mut ws = accept(&listener).await;
    ws.send(Message::text("not json")).await.unwrap();
    until(&store, &agents, "garbage reported", error_has("unreadable message")).await;

    let mut ws = accept(&listener).await;
    ws.send(hello(99, "r1")).await.unwrap();
    until(&store, &agents, "version reported", error_has("speaks protocol 99")).await;

    // A good hello: the hub subscribes from the start, takes an entry, then a broken binary message.
    let mut ws = accept(&listener).await;
    ws.send(hello(1, "r1")).await.unwrap();
    let HubMessage::Subscribe { run: None, after: 0, .. } = from_hub(&mut ws).await else { panic!("subscribe") };
    let entry = Entry { id: "fake.r1-1".into(), ..demo_entries("x")[0].clone() };
    let batch = AgentMessage::Entries { entries: vec![SeqEntry { seq: 1, entry: entry.clone() }] };
    ws.send(text(&batch)).await.unwrap();
    ws.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    until(&store, &agents, "the broken binary reported", error_has("binary message without id")).await;
    assert_eq!(stored(&store), vec![entry.clone()]);

    // The same run again: the hub resumes after what it has, and a resent entry is not stored twice.
    let mut ws = accept(&listener).await;
    ws.send(hello(1, "r1")).await.unwrap();
    let HubMessage::Subscribe { run, after, .. } = from_hub(&mut ws).await else { panic!("subscribe") };
    assert_eq!((run.as_deref(), after), (Some("r1"), 1));
    let second = Entry { id: "fake.r1-2".into(), ..entry.clone() };
    let batch = AgentMessage::Entries {
        entries: vec![SeqEntry { seq: 1, entry: entry.clone() }, SeqEntry { seq: 2, entry: second.clone() }],
    };
    ws.send(text(&batch)).await.unwrap();
    until(&store, &agents, "the second entry", |s, _| s.stats().stored == 2).await;
    assert_eq!(stored(&store), vec![entry, second]);
    let h = &agents.health()[0];
    assert!(h.connected && h.reconnects == 3 && h.last_error.is_none(), "{h:?}");
}
