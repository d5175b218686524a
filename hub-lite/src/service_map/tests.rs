//! Service map tests on hand-made entries: the oracle is the known input.

use super::*;
use node_agent::{Outcome, Timestamp, Transport};
use serde_json::{json, Value};
use std::net::IpAddr;

struct Ep {
    ip: &'static str,
    port: u16,
    namespace: Option<&'static str>,
    pod: Option<&'static str>,
    service: Option<&'static str>,
}

fn ep(ip: &'static str, port: u16) -> Ep {
    Ep { ip, port, namespace: None, pod: None, service: None }
}

impl Ep {
    fn named(self, namespace: &'static str, pod: Option<&'static str>, service: Option<&'static str>) -> Ep {
        Ep { namespace: Some(namespace), pod, service, ..self }
    }
    fn endpoint(&self) -> Endpoint {
        let ip: IpAddr = self.ip.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        Endpoint {
            namespace: self.namespace.map(Into::into),
            pod: self.pod.map(Into::into),
            service: self.service.map(Into::into),
            ..Endpoint::new(ip, self.port)
        }
    }
}

/// An entry; `status: None` means no response.
fn entry(
    src: &Ep,
    dst: &Ep,
    protocol: &str,
    (status, outcome): (Option<&str>, Outcome),
    elapsed_us: Option<u64>,
    bytes: (u64, u64),
) -> Arc<Entry> {
    Arc::new(Entry {
        id: "t".into(),
        protocol: protocol.into(),
        transport: Transport::Tcp,
        ts: Timestamp(0),
        elapsed_us,
        src: src.endpoint(),
        dst: dst.endpoint(),
        summary: String::new(),
        status: status.map(Into::into),
        outcome,
        tls: false,
        request_size: bytes.0,
        response_size: bytes.1,
        request: Value::Null,
        response: status.map(|_| json!({})),
        notes: vec![],
    })
}

fn entries() -> Vec<Arc<Entry>> {
    // web pods (behind service web) call service api; a batch pod without service calls api too;
    // an unknown client resolves names with an unknown DNS server.
    let web1 = || ep("10.1.0.11", 40_001).named("shop", Some("web-1"), Some("web"));
    let web2 = || ep("10.1.0.12", 40_002).named("shop", Some("web-2"), Some("web"));
    let api = || ep("10.1.0.20", 8080).named("shop", Some("api-7"), Some("api"));
    let batch = || ep("10.1.0.30", 50_000).named("jobs", Some("batch-x"), None);
    let stranger = |port| ep("10.9.9.9", port);
    let dns = || ep("10.0.0.10", 53);
    vec![
        entry(&web1(), &api(), "http", (Some("200"), Outcome::Ok), Some(100), (10, 20)),
        entry(&web2(), &api(), "http", (Some("503"), Outcome::ServerError), Some(400), (10, 20)),
        entry(&web1(), &api(), "http", (Some("404"), Outcome::ClientError), Some(300), (10, 20)),
        entry(&web2(), &api(), "http", (None, Outcome::NoResponse), None, (10, 0)),
        entry(&web1(), &api(), "http", (Some("201"), Outcome::Ok), Some(200), (10, 20)),
        entry(&batch(), &api(), "http", (Some("500"), Outcome::ServerError), Some(5_000), (1, 2)),
        entry(&stranger(33_000), &dns(), "dns", (Some("NOERROR"), Outcome::Ok), Some(50), (30, 60)),
        entry(&stranger(33_001), &dns(), "dns", (Some("NXDOMAIN"), Outcome::Ok), Some(70), (30, 60)),
        entry(&stranger(33_002), &dns(), "dns", (Some("SERVFAIL"), Outcome::ServerError), Some(90), (30, 60)),
        entry(&stranger(33_003), &dns(), "dns", (None, Outcome::NoResponse), None, (30, 0)),
    ]
}

#[test]
fn nodes_edges_error_rates_and_percentiles_are_exact() {
    let map = compute(&entries());
    let want = json!({
        "nodes": [
            {"id": "10.0.0.10:53", "label": "10.0.0.10:53", "kind": "address", "namespace": null,
             "entries_in": 4, "entries_out": 0},
            {"id": "10.9.9.9", "label": "10.9.9.9", "kind": "address", "namespace": null,
             "entries_in": 0, "entries_out": 4},
            {"id": "jobs/batch-x", "label": "batch-x", "kind": "pod", "namespace": "jobs",
             "entries_in": 0, "entries_out": 1},
            {"id": "shop/api", "label": "api", "kind": "service", "namespace": "shop",
             "entries_in": 6, "entries_out": 0},
            {"id": "shop/web", "label": "web", "kind": "service", "namespace": "shop",
             "entries_in": 0, "entries_out": 5}
        ],
        "edges": [
            // NOERROR and NXDOMAIN are answers; SERVFAIL and no answer are errors.
            {"source": "10.9.9.9", "target": "10.0.0.10:53", "protocol": "dns", "entries": 4, "errors": 2,
             "error_rate": 0.5, "p50_us": 70, "p95_us": 90, "bytes": 300, "per_s": 4.0, "roles": {}},
            {"source": "jobs/batch-x", "target": "shop/api", "protocol": "http", "entries": 1, "errors": 1,
             "error_rate": 1.0, "p50_us": 5000, "p95_us": 5000, "bytes": 3, "per_s": 1.0, "roles": {}},
            // 503 and no response are errors, 404 is not. Latencies 100, 200, 300, 400:
            // p50 is rank 2 (200), p95 rank 4 (400).
            {"source": "shop/web", "target": "shop/api", "protocol": "http", "entries": 5, "errors": 2,
             "error_rate": 0.4, "p50_us": 200, "p95_us": 400, "bytes": 130, "per_s": 5.0, "roles": {}}
        ]
    });
    assert_eq!(serde_json::to_value(&map).unwrap_or_default(), want);
}

#[test]
fn order_of_entries_does_not_change_the_map() {
    let mut shuffled = entries();
    shuffled.reverse();
    shuffled.swap(1, 7);
    assert_eq!(compute(&shuffled), compute(&entries()));
}

#[test]
fn ipv6_addresses_self_calls_and_name_clashes() {
    let client = ep("fd00::2", 41_000);
    let server = ep("fd00::1", 80);
    // A pod calling its own service: one node, one self edge.
    let own = ep("10.1.0.5", 40_000).named("shop", Some("cart-1"), Some("cart"));
    let own_svc = ep("10.2.0.1", 80).named("shop", None, Some("cart"));
    // A bare pod named like a service of its namespace merges with it, as a service node.
    let bare_pod = ep("10.1.0.6", 40_000).named("shop", Some("cart"), None);
    // Empty names are unknown.
    let empty = Ep { namespace: Some(""), pod: Some(""), service: Some(""), ..ep("10.3.0.1", 1234) };
    let map = compute(&[
        entry(&client, &server, "http", (Some("200"), Outcome::Ok), Some(10), (1, 1)),
        entry(&bare_pod, &server, "http", (Some("200"), Outcome::Ok), Some(10), (1, 1)),
        entry(&own, &own_svc, "http", (Some("200"), Outcome::Ok), Some(10), (1, 1)),
        entry(&client, &empty, "http", (Some("200"), Outcome::Ok), Some(10), (1, 1)),
    ]);
    let ids: Vec<(&str, NodeKind, u64, u64)> =
        map.nodes.iter().map(|n| (n.id.as_str(), n.kind, n.entries_in, n.entries_out)).collect();
    assert_eq!(
        ids,
        [
            ("10.3.0.1:1234", NodeKind::Address, 1, 0),
            ("[fd00::1]:80", NodeKind::Address, 2, 0),
            ("fd00::2", NodeKind::Address, 0, 2),
            ("shop/cart", NodeKind::Service, 1, 2),
        ]
    );
    let edges: Vec<(&str, &str, u64)> =
        map.edges.iter().map(|e| (e.source.as_str(), e.target.as_str(), e.entries)).collect();
    assert_eq!(
        edges,
        [
            ("fd00::2", "10.3.0.1:1234", 1),
            ("fd00::2", "[fd00::1]:80", 1),
            ("shop/cart", "[fd00::1]:80", 1),
            ("shop/cart", "shop/cart", 1)
        ]
    );
    assert_eq!(map.nodes[3].namespace.as_deref(), Some("shop"));
}

#[test]
fn error_rule_is_the_outcome_not_the_status() {
    let (c, s) = (ep("10.0.0.1", 1), ep("10.0.0.2", 2));
    let err = |protocol, status, outcome| is_error(&entry(&c, &s, protocol, (status, outcome), None, (0, 0)));
    // Server errors, errors of unknown fault and missing responses count; client errors do not.
    assert!(!err("http", Some("200"), Outcome::Ok) && !err("http", Some("404"), Outcome::ClientError));
    assert!(err("http", Some("500"), Outcome::ServerError) && err("http", None, Outcome::NoResponse));
    assert!(err("grpc", Some("UNKNOWN"), Outcome::Error) && !err("grpc", Some("OK"), Outcome::Ok));
    // The status text is the protocol's business: it is not read here, whatever it says.
    assert!(!err("http", Some("503"), Outcome::Ok) && err("dns", Some("NOERROR"), Outcome::ServerError));
    assert!(!err("some-new-protocol", None, Outcome::ClientError));
}

/// The entry at `secs` seconds.
fn at(e: Arc<Entry>, secs: u64) -> Arc<Entry> {
    Arc::new(Entry { ts: Timestamp::from_secs_nanos(secs, 0), ..(*e).clone() })
}

#[test]
fn rates_are_per_second_of_the_maps_window() {
    let (c, s, d) = (ep("10.0.0.1", 1), ep("10.0.0.2", 80), ep("10.0.0.3", 53));
    let ok = (Some("200"), Outcome::Ok);
    // 20 HTTP entries and 5 DNS entries from second 100 to second 110: a 10 s window.
    let mut all: Vec<Arc<Entry>> = (0..20).map(|i| at(entry(&c, &s, "http", ok, None, (0, 0)), 100 + i % 11)).collect();
    all.extend((0..5).map(|i| at(entry(&c, &d, "dns", ok, None, (0, 0)), 100 + 2 * i)));
    let map = compute(&all);
    let rates: Vec<(&str, f64)> = map.edges.iter().map(|e| (e.protocol.as_str(), e.per_s)).collect();
    assert_eq!(rates, [("http", 2.0), ("dns", 0.5)]);
    // A window under one second counts as one second (no rate from a burst of a few microseconds).
    let burst: Vec<_> = (0..3).map(|_| entry(&c, &s, "http", ok, None, (0, 0))).collect();
    assert_eq!(compute(&burst).edges[0].per_s, 3.0);
}

#[test]
fn broker_edges_count_producers_and_consumers_by_the_protocols_roles() {
    let broker = ep("10.0.0.9", 5672).named("mq", Some("rabbit-0"), Some("rabbit"));
    let producer = ep("10.0.0.1", 40_000).named("shop", Some("orders-1"), Some("orders"));
    let consumer = ep("10.0.0.2", 40_001).named("shop", Some("mailer-1"), Some("mailer"));
    let amqp = |from: &Ep, method: &str| {
        let e = entry(from, &broker, "amqp", (Some("OK"), Outcome::Ok), None, (0, 0));
        Arc::new(Entry { request: json!({"method": method, "channel": 1}), ..(*e).clone() })
    };
    let map = compute(&[
        amqp(&producer, "basic.publish"),
        amqp(&producer, "basic.publish"),
        amqp(&producer, "queue.declare"),
        amqp(&consumer, "basic.deliver"),
        amqp(&consumer, "basic.get"),
        amqp(&consumer, "basic.ack"),
    ]);
    let roles: Vec<(&str, Vec<(&str, u64)>)> =
        map.edges.iter().map(|e| (e.source.as_str(), e.roles.iter().map(|(r, n)| (*r, *n)).collect())).collect();
    assert_eq!(roles, [("shop/mailer", vec![("consume", 2)]), ("shop/orders", vec![("produce", 2)])]);
    // Kafka: Produce and a consumer's Fetch; a follower broker's Fetch (replica_id >= 0) is neither.
    let kafka = |from: &Ep, request: Value| {
        let e = entry(from, &broker, "kafka", (Some("NONE"), Outcome::Ok), None, (0, 0));
        Arc::new(Entry { request, ..(*e).clone() })
    };
    let map = compute(&[
        kafka(&producer, json!({"api": "Produce", "api_key": 0})),
        kafka(&consumer, json!({"api": "Fetch", "api_key": 1, "replica_id": -1})),
        kafka(&consumer, json!({"api": "Fetch", "api_key": 1, "replica_id": 2})),
        kafka(&consumer, json!({"api": "Heartbeat", "api_key": 12})),
    ]);
    let roles: Vec<Vec<(&str, u64)>> =
        map.edges.iter().map(|e| e.roles.iter().map(|(r, n)| (*r, *n)).collect()).collect();
    assert_eq!(roles, [vec![("consume", 1)], vec![("produce", 1)]]);
}

#[test]
fn protocols_without_roles_have_none() {
    let (c, s) = (ep("10.0.0.1", 1), ep("10.0.0.2", 80));
    let map = compute(&[entry(&c, &s, "http", (Some("200"), Outcome::Ok), None, (0, 0))]);
    assert!(map.edges[0].roles.is_empty());
}

#[test]
fn empty_input() {
    assert_eq!(serde_json::to_value(compute(&[])).unwrap_or_default(), json!({"nodes": [], "edges": []}));
}
