//! The views over the entries of the real demo capture, together with redaction: secrets put
//! into the entries never reach the HAR, and the stats and the service map account for every
//! entry of the input.

use hub_lite::{har, service_map, stats};
use node_agent::engine::EngineConfig;
use node_agent::pipeline::run_files;
use node_agent::redact::{redact_entry, REDACTED};
use node_agent::{Entry, Outcome};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

fn demo() -> Vec<Entry> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/demo.pcapng");
    let mut out = Vec::new();
    let run = run_files(&[path], EngineConfig::default(), &mut |e| out.push(e));
    assert!(run.error.is_none(), "{:?}", run.error);
    out
}

fn push_header(message: &mut Value, name: &str, value: &str) -> bool {
    match message.get_mut("headers").and_then(Value::as_array_mut) {
        Some(h) => {
            h.push(json!([name, value]));
            true
        }
        None => false,
    }
}

#[test]
fn secrets_never_reach_the_har() {
    let mut entries = demo();
    let mut injected = 0;
    for (i, e) in entries.iter_mut().enumerate() {
        if e.protocol != "http" {
            continue;
        }
        let names = ["Authorization", "cookie", "PROXY-AUTHORIZATION", "X-Api-Key"];
        injected += usize::from(push_header(&mut e.request, names[i % 4], &format!("SECRET-{i}")));
        if let Some(r) = e.response.as_mut() {
            injected += usize::from(push_header(r, "Set-Cookie", &format!("sid=SECRET-{i}")));
        }
    }
    assert!(injected > 50);
    let redacted: usize = entries.iter_mut().map(redact_entry).sum();
    assert_eq!(redacted, injected);

    let shared: Vec<Arc<Entry>> = entries.into_iter().map(Arc::new).collect();
    let mut out = Vec::new();
    assert!(har::write(&shared, &mut out).is_ok());
    let text = String::from_utf8_lossy(&out);
    assert!(!text.contains("SECRET-"), "a secret reached the HAR");
    let doc: Value = serde_json::from_slice(&out).unwrap_or_default();
    let hidden = doc["log"]["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| {
            let req = e["request"]["headers"].as_array().cloned().unwrap_or_default();
            let resp = e["response"]["headers"].as_array().cloned().unwrap_or_default();
            req.into_iter().chain(resp)
        })
        .filter(|h| h["value"] == REDACTED)
        .count();
    assert_eq!(hidden, injected);
}

#[test]
fn stats_and_service_map_account_for_every_entry() {
    let entries: Vec<Arc<Entry>> = demo().into_iter().map(Arc::new).collect();
    let s = stats::compute(&entries, None);
    assert_eq!(s.total.entries, entries.len() as u64);
    let mut by_protocol: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_status: BTreeMap<String, u64> = BTreeMap::from([("none".into(), 0)]);
    let mut by_outcome: BTreeMap<&str, u64> = Outcome::ALL.iter().map(|o| (o.as_str(), 0)).collect();
    for e in &entries {
        *by_protocol.entry(e.protocol.clone()).or_default() += 1;
        *by_status.entry(e.status.clone().unwrap_or_else(|| "none".into())).or_default() += 1;
        *by_outcome.entry(e.outcome.as_str()).or_default() += 1;
    }
    let counted: BTreeMap<String, u64> = s.protocols.iter().map(|(p, c)| (p.clone(), c.entries)).collect();
    assert_eq!(counted, by_protocol);
    assert_eq!(s.status, by_status);
    assert_eq!(s.outcomes, by_outcome);
    assert!(by_outcome["ok"] > 0 && by_outcome["ok"] < entries.len() as u64, "the demo has failures too");
    for (p, series) in &s.timeline.series {
        assert_eq!(series.iter().map(|b| b.entries).sum::<u64>(), by_protocol[p], "{p}");
    }
    let with_latency = entries.iter().filter(|e| e.elapsed_us.is_some()).count() as u64;
    assert_eq!(s.latency_us.count, with_latency);
    assert_eq!(s.latency_us.max, entries.iter().filter_map(|e| e.elapsed_us).max());

    let m = service_map::compute(&entries);
    assert_eq!(m.edges.iter().map(|e| e.entries).sum::<u64>(), entries.len() as u64);
    assert_eq!(m.nodes.iter().map(|n| n.entries_in).sum::<u64>(), entries.len() as u64);
    assert_eq!(m.nodes.iter().map(|n| n.entries_out).sum::<u64>(), entries.len() as u64);
    // The demo's server is 10.77.248.2 on ports 80, 8080 and 53; its clients are 10.77.248.3 and .4.
    let ids: Vec<&str> = m.nodes.iter().map(|n| n.id.as_str()).collect();
    assert!(ids.contains(&"10.77.248.2:80") && ids.contains(&"10.77.248.2:53") && ids.contains(&"10.77.248.3"));
    let errors: u64 = m.edges.iter().map(|e| e.errors).sum();
    assert_eq!(errors, entries.iter().filter(|e| e.outcome.is_failure()).count() as u64);
}
