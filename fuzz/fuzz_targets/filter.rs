#![no_main]
// Filter text arrives from users over the network: parsing any UTF-8 must answer Ok or Err, and a
// filter that parses must evaluate without panicking. Two invariants are checked on the way:
// `not (F)` is the complement of F, and the compiled filter keeps its source.

use node_agent::filter::Filter;
use node_agent::{Endpoint, Entry, Timestamp, Transport};
use std::sync::OnceLock;

// The fuzz crate depends only on node-agent, so JSON values are built through the generic helpers
// below; their type is inferred as serde_json::Value from the Entry fields they fill.
fn s<V: From<&'static str>>(x: &'static str) -> V {
    V::from(x)
}
fn n<V: From<u64>>(x: u64) -> V {
    V::from(x)
}
fn b<V: From<bool>>(x: bool) -> V {
    V::from(x)
}
fn list<V: From<Vec<V>>>(items: Vec<V>) -> V {
    V::from(items)
}
fn obj<V: FromIterator<(String, V)>>(fields: Vec<(&str, V)>) -> V {
    fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn base(protocol: &str, transport: Transport) -> Entry {
    let ip = |t: &str| t.parse().expect("fixed address");
    Entry {
        id: "fuzz-1".into(),
        protocol: protocol.into(),
        transport,
        ts: Timestamp::from_secs_nanos(1_795_239_062, 123_456_789),
        elapsed_us: Some(1840),
        src: Endpoint {
            pod: Some("client-0".into()),
            namespace: Some("shop".into()),
            ..Endpoint::new(ip("10.77.0.3"), 40412)
        },
        dst: Endpoint { service: Some("web".into()), node: Some("node-a".into()), ..Endpoint::new(ip("fd00::2"), 80) },
        summary: String::new(),
        status: Some("200".into()),
        outcome: node_agent::Outcome::ServerError,
        tls: true,
        request_size: 112,
        response_size: 733,
        request: Default::default(),
        response: None,
        notes: vec!["request body truncated at 1048576 bytes".into()],
    }
}

fn entries() -> &'static [Entry] {
    static ENTRIES: OnceLock<Vec<Entry>> = OnceLock::new();
    ENTRIES.get_or_init(|| {
        let body = |text: &'static str, truncated: bool| {
            obj(vec![
                ("size", n(text.len() as u64)),
                ("mime", s("application/json")),
                ("text", s(text)),
                ("truncated", b(truncated)),
            ])
        };
        let mut http = base("http", Transport::Tcp);
        http.summary = "GET /api/items?page=2".into();
        http.request = obj(vec![
            ("method", s("GET")),
            ("path", s("/api/items?page=2")),
            (
                "headers",
                list(vec![list(vec![s("Host"), s("web")]), list(vec![s("Content-Type"), s("application/json")])]),
            ),
            ("query", list(vec![list(vec![s("page"), s("2")])])),
            ("body", body("", false)),
        ]);
        http.response = Some(obj(vec![
            ("status", n(200)),
            ("reason", s("OK")),
            ("headers", list(vec![list(vec![s("Content-Encoding"), s("gzip")])])),
            ("body", body("{\"items\": []}", true)),
            ("interim", list(vec![obj(vec![("status", n(100)), ("reason", s("Continue"))])])),
        ]));

        let mut dns = base("dns", Transport::Udp);
        dns.summary = "A example.com".into();
        dns.status = Some("NOERROR".into());
        let record = |kind: &'static str, data: &'static str| {
            obj(vec![
                ("name", s("example.com")),
                ("type", s(kind)),
                ("class", s("IN")),
                ("ttl", n(60)),
                ("data", s(data)),
            ])
        };
        dns.request = obj(vec![
            ("id", n(7)),
            ("flags", list(vec![s("rd")])),
            ("questions", list(vec![obj(vec![("name", s("example.com")), ("type", s("A")), ("class", s("IN"))])])),
        ]);
        dns.response = Some(obj(vec![
            ("rcode", s("NOERROR")),
            ("answers", list(vec![record("CNAME", "web.example.com"), record("A", "93.184.216.34")])),
            ("authorities", list(vec![])),
        ]));

        let mut unanswered = base("dns", Transport::Udp);
        unanswered.elapsed_us = None;
        unanswered.status = None;
        unanswered.src.pod = None;
        unanswered.notes.clear();

        vec![http, dns, unanswered]
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(filter) = Filter::parse(text) else {
        return;
    };
    assert_eq!(filter.source(), text);
    // The negation can fail to parse (one more nesting level, a few more bytes); then only F runs.
    let negated = Filter::parse(&format!("not ({text})")).ok();
    for entry in entries() {
        let m = filter.matches(entry);
        if let Some(neg) = &negated {
            if !text.trim().is_empty() {
                assert_eq!(neg.matches(entry), !m, "not ({text}) is not the complement");
            }
        }
    }
});
