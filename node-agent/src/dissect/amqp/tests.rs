//! AMQP sessions fed with a real conversation: testdata/conversation.json holds the bytes pika
//! and RabbitMQ 3.10 exchanged (declare, bind, publish, basic.get, consume with ack and nack,
//! cancel, get-empty, a passive declare refused with channel.close 404, delete, closes), and
//! what pika's own frame decoder made of each direction: the oracle for methods, arguments,
//! properties and bodies. Regenerate with testdata/generate.

use super::wire::{self, PROTOCOL_HEADER};
use super::{close_outcome, role, AmqpSession, Limits, PROTOCOL};
use crate::dissect::{Direction, Exchange, StreamSession};
use crate::entry::Outcome;
use crate::redact::REDACTED;
use crate::time::Timestamp;
use base64::Engine as _;
use serde_json::{json, Value};

const LIMITS: Limits = Limits { body_limit: 1 << 20, max_pending: 256 };

struct Conversation {
    chunks: Vec<(Direction, Vec<u8>)>,
    pika: Value,
}

fn conversation() -> Conversation {
    let v: Value = serde_json::from_str(include_str!("testdata/conversation.json")).unwrap();
    let chunks = v["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let dir = if c[0] == "c" { Direction::ClientToServer } else { Direction::ServerToClient };
            let hex = c[1].as_str().unwrap();
            let bytes = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
            (dir, bytes)
        })
        .collect();
    Conversation { chunks, pika: v["pika"].clone() }
}

fn run_with(chunks: &[(Direction, Vec<u8>)], limits: Limits, resync_first: bool) -> Vec<Exchange> {
    let mut s = AmqpSession::new(limits, resync_first);
    let mut out = Vec::new();
    for (i, (dir, bytes)) in chunks.iter().enumerate() {
        s.on_data(*dir, bytes, Timestamp(i as u64 * 1000), &mut out);
        assert!(s.buffered_bytes() <= 2 * super::MAX_FRAME + limits.body_limit);
    }
    s.on_close(Timestamp(1 << 40), &mut out);
    out
}

fn run(chunks: &[(Direction, Vec<u8>)]) -> Vec<Exchange> {
    run_with(chunks, LIMITS, false)
}

fn method(x: &Exchange) -> &str {
    x.request["method"].as_str().unwrap_or_default()
}

/// pika's method frames of one side as (channel, method, args).
fn pika_methods(pika: &Value, side: &str) -> Vec<(u64, String, Value)> {
    pika[side]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "method")
        .map(|f| (f["channel"].as_u64().unwrap(), f["method"].as_str().unwrap().to_owned(), f["args"].clone()))
        .collect()
}

/// The arguments pika names differently.
fn pika_name(ours: &str) -> &str {
    match ours {
        "global" => "global_qos",
        other => other,
    }
}

/// Our arguments equal pika's (tables as objects; pika decodes some text as bytes: compared as text).
fn same_args(ours: &Value, pika: &Value, what: &str) {
    let ours = ours.as_object().unwrap();
    for (k, v) in ours {
        if ["method", "channel", "from", "message"].contains(&k.as_str()) {
            continue;
        }
        let p = &pika[pika_name(k)];
        assert_eq!(v, p, "{what}: argument {k}");
    }
    let shown = ours.keys().filter(|k| !["method", "channel", "from", "message"].contains(&k.as_str())).count();
    assert_eq!(shown, pika.as_object().unwrap().len(), "{what}: {ours:?} vs {pika}");
}

#[test]
fn every_method_is_reported_once_with_pikas_arguments() {
    let c = conversation();
    let entries = run(&c.chunks);
    // Each side's methods as the entries show them, in the order the entries were emitted.
    let mut seen: [Vec<(u64, String, Value)>; 2] = [Vec::new(), Vec::new()];
    for x in &entries {
        let from = if x.request["from"] == "client" { 0 } else { 1 };
        let ch = x.request["channel"].as_u64().unwrap();
        seen[from].push((ch, method(x).to_owned(), x.request.clone()));
        if let Some(r) = &x.response {
            seen[1 - from].push((ch, r["method"].as_str().unwrap().to_owned(), r.clone()));
        }
    }
    for (i, side) in ["client", "server"].iter().enumerate() {
        let mut want = pika_methods(&c.pika, side);
        // A close that refused a request is shown as that request's response too.
        let mut got: Vec<_> = seen[i].clone();
        got.dedup_by(|a, b| {
            a.1.ends_with(".close") && a.1 == b.1 && a.0 == b.0 && a.2["reply_code"] == b.2["reply_code"]
        });
        let key = |m: &(u64, String, Value)| format!("{} {}", m.0, m.1);
        let mut got_names: Vec<String> = got.iter().map(key).collect();
        let mut want_names: Vec<String> = want.iter().map(key).collect();
        got_names.sort();
        want_names.sort();
        assert_eq!(got_names, want_names, "{side}'s methods");
        // Arguments, matched in order per method name and channel.
        for (ch, name, args) in want.drain(..) {
            let k = got.iter().position(|g| g.0 == ch && g.1 == name).unwrap();
            let g = got.remove(k);
            same_args(&g.2, &args, &format!("{side} {name}"));
        }
    }
}

#[test]
fn pairs_outcomes_and_messages() {
    let c = conversation();
    let entries = run(&c.chunks);
    let summary: Vec<(&str, Option<&str>, Option<&str>, Outcome)> = entries
        .iter()
        .map(|x| (method(x), x.response.as_ref().and_then(|r| r["method"].as_str()), x.status.as_deref(), x.outcome))
        .collect();
    use Outcome::*;
    let want = vec![
        ("connection.start", Some("connection.start-ok"), Some("OK"), Ok),
        ("connection.tune", Some("connection.tune-ok"), Some("OK"), Ok),
        ("connection.open", Some("connection.open-ok"), Some("OK"), Ok),
        ("channel.open", Some("channel.open-ok"), Some("OK"), Ok),
        ("exchange.declare", Some("exchange.declare-ok"), Some("OK"), Ok),
        ("queue.declare", Some("queue.declare-ok"), Some("OK"), Ok),
        ("queue.bind", Some("queue.bind-ok"), Some("OK"), Ok),
        ("basic.publish", None, Some("OK"), Ok),
        ("basic.publish", None, Some("OK"), Ok),
        ("basic.publish", None, Some("OK"), Ok),
        ("basic.qos", Some("basic.qos-ok"), Some("OK"), Ok),
        ("basic.get", Some("basic.get-ok"), Some("OK"), Ok),
        ("basic.ack", None, Some("OK"), Ok),
        ("basic.consume", Some("basic.consume-ok"), Some("OK"), Ok),
        ("basic.deliver", None, Some("OK"), Ok),
        ("basic.deliver", None, Some("OK"), Ok),
        ("basic.nack", None, Some("OK"), Ok),
        ("basic.ack", None, Some("OK"), Ok),
        ("basic.cancel", Some("basic.cancel-ok"), Some("OK"), Ok),
        ("basic.get", Some("basic.get-empty"), Some("OK"), Ok),
        ("queue.declare", Some("channel.close"), Some("404"), ClientError),
        ("channel.close", Some("channel.close-ok"), Some("404"), ClientError),
        ("channel.open", Some("channel.open-ok"), Some("OK"), Ok),
        ("queue.delete", Some("queue.delete-ok"), Some("OK"), Ok),
        ("exchange.delete", Some("exchange.delete-ok"), Some("OK"), Ok),
        ("channel.close", Some("channel.close-ok"), Some("0"), Ok),
        ("connection.close", Some("connection.close-ok"), Some("200"), Ok),
    ];
    // Deliveries and the client's acks interleave as the two directions did; compare as sets there.
    let mut got = summary.clone();
    let mut want_sorted = want.clone();
    got.sort_by_key(|s| format!("{s:?}"));
    want_sorted.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(got, want_sorted);
    // The client's requests come in the order the client sent them.
    let client: Vec<&str> = entries.iter().filter(|x| x.request["from"] == "client").map(method).collect();
    let pika_client: Vec<String> = pika_methods(&c.pika, "client")
        .into_iter()
        .map(|m| m.1)
        .filter(|m| wire::METHODS.iter().any(|s| s.name == m && wire::request_of(s).is_none()))
        .collect();
    assert_eq!(client, pika_client);

    // Messages: properties and bodies as pika decoded them.
    let frames: Vec<&Value> =
        c.pika["client"].as_array().unwrap().iter().chain(c.pika["server"].as_array().unwrap()).collect();
    let bodies: Vec<Vec<u8>> = frames
        .iter()
        .filter(|f| f["kind"] == "body")
        .map(|f| base64::engine::general_purpose::STANDARD.decode(f["base64"].as_str().unwrap()).unwrap())
        .collect();
    let headers: Vec<&Value> = frames.iter().filter(|f| f["kind"] == "header").map(|f| &f["properties"]).collect();
    let mut messages = 0;
    for x in &entries {
        let message = x.request.get("message").or_else(|| x.response.as_ref().and_then(|r| r.get("message")));
        let Some(m) = message else { continue };
        messages += 1;
        let body = &m["body"];
        let bytes = match body.get("text") {
            Some(t) => t.as_str().unwrap().as_bytes().to_vec(),
            None => base64::engine::general_purpose::STANDARD.decode(body["base64"].as_str().unwrap()).unwrap(),
        };
        assert!(bodies.contains(&bytes), "{}: body {bytes:?}", x.summary);
        assert_eq!(body["size"].as_u64(), Some(bytes.len() as u64));
        assert_eq!(body["truncated"], false);
        assert!(headers.contains(&&m["properties"]), "{}: properties {}", x.summary, m["properties"]);
        assert_eq!(body["mime"], m["properties"].get("content_type").cloned().unwrap_or(Value::Null));
    }
    assert_eq!(messages, 6, "3 publishes, a get-ok, 2 deliveries");
    let first = entries.iter().find(|x| method(x) == "basic.publish").unwrap();
    assert_eq!(first.request["message"]["body"]["text"], r#"{"id": 1}"#);
    assert_eq!(first.summary, r#"basic.publish exchange="orders" key="new" 9 B"#);
    assert_eq!(first.request["message"]["properties"]["headers"], json!({"x-n": 1, "trace": "abc"}));
    let refused = entries.iter().find(|x| x.status.as_deref() == Some("404") && method(x) == "queue.declare").unwrap();
    assert_eq!(refused.response.as_ref().unwrap()["reply_text"], "NOT_FOUND - no queue 'missing' in vhost '/'");
    // Sizes: every byte of every frame belongs to exactly one entry (heartbeats and the protocol
    // header to none).
    let total: u64 = c.chunks.iter().map(|(_, b)| b.len() as u64).sum();
    let counted: u64 = entries.iter().map(|x| x.request_size + x.response_size).sum::<u64>()
        - entries
            .iter()
            .filter(|x| method(x) == "queue.declare" && x.status.as_deref() == Some("404"))
            .map(|x| x.response_size)
            .sum::<u64>();
    let heartbeats = frames.iter().filter(|f| f["kind"] == "heartbeat").count() as u64 * 8;
    assert_eq!(counted, total - PROTOCOL_HEADER.len() as u64 - heartbeats);
}

#[test]
fn credentials_are_where_the_registration_says() {
    let entries = run(&conversation().chunks);
    let start = entries.iter().find(|x| method(x) == "connection.start").unwrap();
    let mut response = start.response.clone().unwrap();
    assert_eq!(response["response"], "\u{0}guest\u{0}guest");
    assert_eq!(response["mechanism"], "PLAIN");
    assert_eq!(PROTOCOL.secrets.redact(&mut response), 1);
    assert_eq!(response["response"], REDACTED);
    let mut request = start.request.clone();
    assert_eq!(PROTOCOL.secrets.redact(&mut request), 0);
}

#[test]
fn roles_for_the_service_map() {
    let entries = run(&conversation().chunks);
    let roles: Vec<&str> = entries.iter().filter_map(|x| role(&x.request)).collect();
    assert_eq!(roles, ["produce", "produce", "produce", "consume", "consume", "consume", "consume"]);
}

/// Entries without times (a split moves the capture times of what follows it).
fn untimed(xs: Vec<Exchange>) -> Vec<Exchange> {
    xs.into_iter().map(|x| Exchange { ts: Timestamp::ZERO, end_ts: None, ..x }).collect()
}

#[test]
fn every_split_gives_the_same_entries() {
    let c = conversation();
    let whole = untimed(run(&c.chunks));
    for (i, (dir, bytes)) in c.chunks.iter().enumerate() {
        for cut in 1..bytes.len() {
            let mut split = c.chunks.clone();
            split[i].1 = bytes[..cut].to_vec();
            split.insert(i + 1, (*dir, bytes[cut..].to_vec()));
            assert_eq!(untimed(run(&split)), whole, "chunk {i} cut at {cut}");
        }
    }
}

#[test]
fn byte_at_a_time_gives_the_same_entries() {
    let c = conversation();
    let whole = untimed(run(&c.chunks));
    let bytes: Vec<(Direction, Vec<u8>)> =
        c.chunks.iter().flat_map(|(d, b)| b.iter().map(move |x| (*d, vec![*x]))).collect();
    assert_eq!(untimed(run(&bytes)), whole);
}

/// Every method an entry shows is one pika decoded (nothing invented), counted.
fn all_real(entries: &[Exchange], pika: &Value) {
    let mut want: Vec<String> =
        ["client", "server"].iter().flat_map(|s| pika_methods(pika, s)).map(|m| format!("{} {}", m.0, m.1)).collect();
    for x in entries {
        let ch = x.request["channel"].as_u64().unwrap();
        let mut shown = vec![];
        if !x.notes.iter().any(|n| n == "request not captured") {
            shown.push(method(x).to_owned());
        }
        if let Some(r) = &x.response {
            let name = r["method"].as_str().unwrap();
            if !(name.ends_with(".close") && method(x) != name) {
                shown.push(name.to_owned());
            }
        }
        for m in shown {
            let k = format!("{ch} {m}");
            let i = want.iter().position(|w| *w == k).unwrap_or_else(|| panic!("{k} invented"));
            want.remove(i);
        }
    }
}

#[test]
fn mid_connection_pickup_finds_the_next_frame_and_invents_nothing() {
    let c = conversation();
    // Picked up at every byte of the client's and the server's chunks in turn (the other
    // direction from its chunk boundary on).
    for start in 1..c.chunks.len() {
        let len = c.chunks[start].1.len();
        for skip in (0..len).step_by(7) {
            let mut rest: Vec<_> = c.chunks[start..].to_vec();
            rest[0].1 = rest[0].1[skip..].to_vec();
            let entries = run_with(&rest, LIMITS, true);
            all_real(&entries, &c.pika);
            for x in &entries {
                assert!(x.request["method"].is_string());
            }
        }
    }
    // Picked up 3 bytes before the `basic.qos` frame (in the previous frame's last bytes):
    // everything from it on is there, the earlier requests are not.
    let at = c.chunks.iter().position(|(_, b)| b.windows(4).any(|w| w == [0, 60, 0, 10])).unwrap();
    let mut rest = c.chunks[at..].to_vec();
    let qos = rest[0].1.windows(4).position(|w| w == [0, 60, 0, 10]).unwrap() - 7;
    rest[0].1.drain(..qos - 3);
    let entries = run_with(&rest, LIMITS, true);
    let names: Vec<&str> = entries.iter().map(method).collect();
    assert_eq!(names[0], "basic.qos", "{names:?}");
    assert!(names.contains(&"basic.get") && names.contains(&"connection.close"));
    assert!(!names.contains(&"queue.bind"));
}

#[test]
fn a_gap_loses_what_it_took_and_framing_resumes() {
    let c = conversation();
    let whole = run(&c.chunks);
    // Take 5 bytes out of the middle of every chunk in turn.
    for i in 0..c.chunks.len() {
        let (dir, bytes) = &c.chunks[i];
        if bytes.len() < 12 {
            continue;
        }
        let mid = bytes.len() / 2;
        let mut s = AmqpSession::new(LIMITS, false);
        let mut out = Vec::new();
        for (j, (d, b)) in c.chunks.iter().enumerate() {
            if j == i {
                s.on_data(*dir, &bytes[..mid], Timestamp(0), &mut out);
                s.on_gap(*dir, 5, &mut out);
                s.on_data(*dir, &bytes[mid + 5..], Timestamp(0), &mut out);
            } else {
                s.on_data(*d, b, Timestamp(0), &mut out);
            }
        }
        s.on_close(Timestamp(1), &mut out);
        all_real(&out, &c.pika);
        // The connection.close of the last chunks is always seen.
        assert!(out.iter().any(|x| method(x) == "connection.close"), "gap in chunk {i}");
        assert!(out.len() + 3 >= whole.len() / 2, "gap in chunk {i}: {} entries", out.len());
    }
}

/// A frame of `kind` on `channel`.
fn frame(kind: u8, channel: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![kind];
    f.extend_from_slice(&channel.to_be_bytes());
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    f.extend_from_slice(payload);
    f.push(0xCE);
    f
}

/// basic.publish to exchange "x", routing key "k", and its content of `body`.
fn publish(channel: u16, body: &[u8]) -> Vec<u8> {
    let mut out = frame(1, channel, b"\x00\x3c\x00\x28\x00\x00\x01x\x01k\x00");
    let mut header = vec![0, 60, 0, 0];
    header.extend_from_slice(&(body.len() as u64).to_be_bytes());
    header.extend_from_slice(&[0, 0]);
    out.extend(frame(2, channel, &header));
    for piece in body.chunks(100_000) {
        out.extend(frame(3, channel, piece));
    }
    out
}

#[test]
fn large_bodies_are_kept_up_to_the_limit() {
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let limits = Limits { body_limit: 1000, max_pending: 4 };
    let x = run_with(&[(Direction::ClientToServer, publish(1, &body))], limits, false);
    assert_eq!(x.len(), 1);
    let b = &x[0].request["message"]["body"];
    assert_eq!((b["size"].as_u64(), b["truncated"].as_bool()), (Some(300_000), Some(true)));
    let kept = base64::engine::general_purpose::STANDARD.decode(b["base64"].as_str().unwrap()).unwrap();
    assert_eq!(kept, body[..1000]);
    assert_eq!(x[0].outcome, Outcome::Ok);
    // One body frame larger than the largest frame kept whole streams through.
    let mut big = frame(1, 1, b"\x00\x3c\x00\x28\x00\x00\x01x\x01k\x00");
    let mut header = vec![0, 60, 0, 0];
    header.extend_from_slice(&(300_000u64).to_be_bytes());
    header.extend_from_slice(&[0, 0]);
    big.extend(frame(2, 1, &header));
    big.extend(frame(3, 1, &body));
    big.extend(publish(1, b"after"));
    let x = run_with(&[(Direction::ClientToServer, big)], limits, false);
    assert_eq!(x.len(), 2);
    assert_eq!(x[0].request["message"]["body"]["size"], 300_000);
    assert_eq!(x[0].outcome, Outcome::Ok);
    assert_eq!(x[1].request["message"]["body"]["text"], "after");
}

#[test]
fn waiting_requests_are_bounded() {
    let limits = Limits { body_limit: 10, max_pending: 3 };
    let mut data = Vec::new();
    for _ in 0..10 {
        data.extend(frame(1, 1, b"\x00\x32\x00\x0a\x00\x00\x01q\x00\x00\x00\x00\x00"));
        // queue.declare q
    }
    let mut s = AmqpSession::new(limits, false);
    let mut out = Vec::new();
    s.on_data(Direction::ClientToServer, &data, Timestamp(0), &mut out);
    assert_eq!(out.len(), 7);
    assert!(out.iter().all(|x| x.outcome == Outcome::NoResponse && x.status.is_none()));
    s.on_close(Timestamp(1), &mut out);
    assert_eq!(out.len(), 10);
}

#[test]
fn malformed_frames_never_panic() {
    let c = conversation();
    let stream: Vec<u8> =
        c.chunks.iter().filter(|(d, _)| *d == Direction::ClientToServer).flat_map(|(_, b)| b.clone()).collect();
    // Every single-byte corruption of the client's stream.
    for i in (0..stream.len()).step_by(3) {
        for v in [0x00, 0xCE, 0xFF, 0x01] {
            let mut s = stream.clone();
            s[i] = v;
            let _ = run_with(&[(Direction::ClientToServer, s)], LIMITS, i % 2 == 0);
        }
    }
    let garbage: Vec<u8> = (0..50_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let _ = run_with(&[(Direction::ServerToClient, garbage)], LIMITS, true);
}

#[test]
fn close_codes_blame_the_right_side() {
    assert_eq!(close_outcome(200, true), Outcome::Ok);
    assert_eq!(close_outcome(404, true), Outcome::ClientError);
    assert_eq!(close_outcome(406, true), Outcome::ClientError);
    assert_eq!(close_outcome(541, true), Outcome::ServerError);
    assert_eq!(close_outcome(320, true), Outcome::ServerError);
    assert_eq!(close_outcome(505, false), Outcome::ServerError);
    assert_eq!(close_outcome(404, false), Outcome::Error);
}

#[test]
fn the_documented_filter_examples_select_what_they_say() {
    use crate::entry::{Endpoint, Entry, Transport};
    use crate::filter::Filter;
    let endpoint = |port| Endpoint {
        ip: std::net::Ipv4Addr::LOCALHOST.into(),
        port,
        pod: None,
        namespace: None,
        service: None,
        node: None,
    };
    let entries: Vec<Entry> = run(&conversation().chunks)
        .into_iter()
        .enumerate()
        .map(|(i, x)| Entry {
            id: format!("e-{i}"),
            protocol: x.protocol.into(),
            transport: Transport::Tcp,
            ts: x.ts,
            elapsed_us: None,
            src: endpoint(40000),
            dst: endpoint(5672),
            summary: x.summary,
            status: x.status,
            outcome: x.outcome,
            tls: false,
            request_size: x.request_size,
            response_size: x.response_size,
            request: x.request,
            response: x.response,
            notes: x.notes,
        })
        .collect();
    let select = |f: &str| -> Vec<String> {
        let f = Filter::parse(f).unwrap();
        entries.iter().filter(|e| f.matches(e)).map(|e| e.summary.clone()).collect()
    };
    // pika published twice to "orders" (and once to the default exchange).
    assert_eq!(
        select(r#"amqp and request.method == "basic.publish" and request.exchange == "orders""#),
        [r#"basic.publish exchange="orders" key="new" 9 B"#, r#"basic.publish exchange="orders" key="new" 25 B"#]
    );
    assert_eq!(select(r#"amqp and request.method == "basic.deliver" and request.routing_key == "new""#).len(), 1);
    assert_eq!(
        select(r#"amqp and outcome == "client_error""#),
        [r#"queue.declare queue="missing""#, "channel.close 404 NOT_FOUND - no queue 'missing' in vhost '/'"]
    );
}
