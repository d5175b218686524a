//! Unit tests. Vectors come from real software (testdata/record.py: pymongo against FerretDB
//! through a recording proxy; testdata/bson_vectors.py: pymongo's bson and json_util), and the
//! oracle of each command's outcome is pymongo's own command monitoring (crud.commands.json).

use super::bson::{doc_to_json, Budget, Doc, Limits};
use super::wire::{plausible_start, Plausible};
use super::*;
use crate::dissect::{Direction, Exchange, StreamSession};
use crate::entry::Outcome;
use crate::time::Timestamp;
use serde_json::{json, Value};

const CRUD: &[u8] = include_bytes!("testdata/crud.stream");
const MONITOR: &[u8] = include_bytes!("testdata/monitor.stream");
const LEGACY: &[u8] = include_bytes!("testdata/legacy.stream");
const SNAPPY: &[u8] = include_bytes!("testdata/compressed-snappy.stream");
const ZLIB: &[u8] = include_bytes!("testdata/compressed-zlib.stream");
const ZSTD: &[u8] = include_bytes!("testdata/compressed-zstd.stream");
const COMMANDS: &str = include_str!("testdata/crud.commands.json");

type Records = Vec<(Direction, Vec<u8>)>;

/// The records of a recorded connection: (direction, bytes as one read returned them).
fn records(stream: &[u8]) -> Records {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 5 <= stream.len() {
        let dir = if stream[at] == b'C' { Direction::ClientToServer } else { Direction::ServerToClient };
        let len = u32::from_le_bytes(stream[at + 1..at + 5].try_into().unwrap()) as usize;
        out.push((dir, stream[at + 5..at + 5 + len].to_vec()));
        at += 5 + len;
    }
    out
}

fn session(resync_first: bool) -> MongoSession {
    MongoSession::new(1 << 20, resync_first)
}

/// Feeds the records, each cut into pieces by `cut` (offsets within the record), then closes.
fn run_with(recs: &Records, resync_first: bool, cut: &dyn Fn(usize, usize) -> Vec<usize>) -> Vec<Exchange> {
    let mut s = session(resync_first);
    let mut out: Vec<Exchange> = Vec::new();
    for (i, (dir, data)) in recs.iter().enumerate() {
        let ts = Timestamp(1_000 * (i as u64 + 1));
        let mut from = 0;
        let mut points = cut(i, data.len());
        points.push(data.len());
        for p in points {
            if p > from && p <= data.len() {
                s.on_data(*dir, &data[from..p], ts, &mut out);
                from = p;
            }
        }
        assert!(s.buffered_bytes() <= 2 << 20);
    }
    s.on_close(Timestamp(u64::MAX / 2), &mut out);
    out
}

fn run(recs: &Records) -> Vec<Exchange> {
    run_with(recs, false, &|_, _| Vec::new())
}

fn oracle() -> Vec<Value> {
    serde_json::from_str::<Vec<Value>>(COMMANDS).unwrap()
}

fn command(e: &Exchange) -> &str {
    e.request["command"].as_str().unwrap_or("")
}

/// What pymongo's CommandListener says the status of an event is.
fn expected_status(ev: &Value) -> String {
    if ev["outcome"] == "failed" {
        return ev["codeName"].as_str().unwrap().to_owned();
    }
    match ev["write_error_code"].as_i64() {
        Some(11000) => "DuplicateKey".into(),
        Some(other) => panic!("unexpected write error {other}"),
        None => "OK".into(),
    }
}

/// Checks the entries of the CRUD connection against the client's own record.
fn check_against_oracle(entries: &[Exchange], compressor: Option<&str>) {
    let events = oracle();
    // The handshake comes first; pymongo does not publish it to command listeners.
    assert_eq!(command(&entries[0]), "ismaster", "the handshake keeps its case");
    assert_eq!(entries[0].status.as_deref(), Some("OK"));
    let rest = &entries[1..];
    assert_eq!(rest.len(), events.len(), "{:#?}", rest.iter().map(|e| &e.summary).collect::<Vec<_>>());
    for (e, ev) in rest.iter().zip(&events) {
        assert_eq!(command(e), ev["command"], "{}", e.summary);
        assert_eq!(e.request["database"], ev["database"]);
        assert_eq!(e.request["wire"]["request_id"], ev["request_id"]);
        assert_eq!(e.status.as_deref(), Some(expected_status(ev).as_str()), "{}", e.summary);
        let response = e.response.as_ref().unwrap();
        if let Some(n) = ev["batch_count"].as_u64() {
            assert_eq!(response["cursor"]["count"], n, "{}", e.summary);
            let shown = response["cursor"].get("firstBatch").or(response["cursor"].get("nextBatch")).unwrap();
            assert_eq!(shown.as_array().unwrap().len() as u64, n.min(DOCS_SHOWN as u64));
        }
        if let Some(n) = ev["n"].as_i64() {
            assert_eq!(response["n"], n);
        }
        let outcome = match expected_status(ev).as_str() {
            "OK" => Outcome::Ok,
            _ => Outcome::ClientError,
        };
        assert_eq!(e.outcome, outcome, "{}", e.summary);
        assert_eq!(e.request["wire"]["compressor"].as_str(), compressor);
        assert!(e.end_ts.is_some() && e.response_size > 0 && e.request_size > 0);
    }
}

#[test]
fn every_command_of_a_real_client_appears_once_with_its_outcome() {
    let entries = run(&records(CRUD));
    check_against_oracle(&entries, None);
    let find = entries.iter().find(|e| command(e) == "find").unwrap();
    assert_eq!(find.summary, "find shop.orders");
    assert_eq!(find.request["collection"], "orders");
    let getmore = entries.iter().find(|e| command(e) == "getMore").unwrap();
    assert_eq!(getmore.request["collection"], "orders", "getMore names its collection in `collection`");
    let insert_many = entries.iter().filter(|e| command(e) == "insert").nth(1).unwrap();
    let seq = &insert_many.request["sequences"][0];
    assert_eq!(seq["identifier"], "documents");
    assert_eq!(seq["count"], 258);
    assert_eq!(seq["documents"].as_array().unwrap().len(), DOCS_SHOWN);
    let dup = entries.iter().find(|e| e.status.as_deref() == Some("DuplicateKey")).unwrap();
    assert_eq!(dup.response.as_ref().unwrap()["ok"], 1.0, "a write error inside an ok: 1 reply");
}

#[test]
fn every_split_gives_the_same_entries() {
    let recs = records(CRUD);
    let whole = run(&recs);
    // One byte at a time: every boundary at once.
    assert_eq!(run_with(&recs, false, &|_, len| (1..len).collect()), whole);
    // Every single boundary within the headers and ends of every read.
    for r in 0..recs.len() {
        let len = recs[r].1.len();
        for p in (1..len.min(48)).chain(len.saturating_sub(24).max(1)..len) {
            let got = run_with(&recs, false, &|i, _| if i == r { vec![p] } else { Vec::new() });
            assert_eq!(got, whole, "record {r} split at {p}");
        }
    }
    // Small connections: every boundary of every read.
    for stream in [LEGACY, MONITOR] {
        let recs = records(stream);
        let whole = run(&recs);
        for r in 0..recs.len() {
            for p in 1..recs[r].1.len() {
                assert_eq!(run_with(&recs, false, &|i, _| if i == r { vec![p] } else { Vec::new() }), whole);
            }
        }
    }
}

#[test]
fn compressed_messages_decode_like_the_plain_ones() {
    for (stream, name) in [(SNAPPY, "snappy"), (ZLIB, "zlib"), (ZSTD, "zstd")] {
        let entries = run(&records(stream));
        check_against_oracle(&entries, Some(name));
        let whole = entries;
        let recs = records(stream);
        assert_eq!(run_with(&recs, false, &|_, len| (1..len).collect()), whole, "{name} byte by byte");
    }
}

#[test]
fn the_legacy_handshake_is_one_entry() {
    let entries = run(&records(LEGACY));
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(command(e), "isMaster");
    assert_eq!(e.request["database"], "admin");
    assert_eq!(e.request["wire"]["op"], "OP_QUERY");
    assert_eq!(e.summary, "isMaster admin");
    assert_eq!(e.status.as_deref(), Some("OK"));
    let r = e.response.as_ref().unwrap();
    assert_eq!(r["wire"]["op"], "OP_REPLY");
    assert_eq!(r["ismaster"], true);
    assert_eq!(r["ok"], 1.0);
}

#[test]
fn heartbeats_are_entries() {
    let entries = run(&records(MONITOR));
    assert!(!entries.is_empty());
    for e in &entries {
        assert!(matches!(command(e), "hello" | "ismaster" | "isMaster"), "{}", e.summary);
        assert_eq!(e.status.as_deref(), Some("OK"));
    }
}

/// Client and server bytes of the CRUD connection, each as one stream.
fn directions(recs: &Records) -> (Vec<u8>, Vec<u8>) {
    let mut c = Vec::new();
    let mut s = Vec::new();
    for (d, data) in recs {
        match d {
            Direction::ClientToServer => c.extend_from_slice(data),
            Direction::ServerToClient => s.extend_from_slice(data),
        }
    }
    (c, s)
}

/// The length of each message in a direction's bytes.
fn message_bounds(stream: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 4 <= stream.len() {
        let len = i32::from_le_bytes(stream[at..at + 4].try_into().unwrap()) as usize;
        out.push((at, len));
        at += len;
    }
    out
}

#[test]
fn a_mid_connection_capture_resynchronises_and_invents_nothing() {
    let events = oracle();
    let recs = records(CRUD);
    // Start inside the 4th read of each direction: a cut message, then whole ones.
    for skip in [1usize, 7, 100] {
        let mut started = [false, false];
        // Drop the first three reads of each direction and `skip` bytes of the next.
        let mut seen = [0usize, 0usize];
        let mut picked: Records = Vec::new();
        for (d, data) in &recs {
            let k = seen[d.index()];
            seen[d.index()] += 1;
            if k < 3 {
                continue;
            }
            if k == 3 && !started[d.index()] {
                started[d.index()] = true;
                picked.push((*d, data[skip.min(data.len())..].to_vec()));
            } else {
                picked.push((*d, data.clone()));
            }
        }
        let entries = run_with(&picked, true, &|_, _| Vec::new());
        assert!(!entries.is_empty());
        for e in &entries {
            if e.request.is_null() {
                assert_eq!(e.notes, vec!["request not captured".to_owned()], "{}", e.summary);
                continue;
            }
            let id = &e.request["wire"]["request_id"];
            let ev = events.iter().find(|ev| &ev["request_id"] == id).expect("an entry for a real command");
            assert_eq!(command(e), ev["command"]);
            assert_eq!(e.status.as_deref(), Some(expected_status(ev).as_str()));
        }
        // The last commands are all there.
        let last: Vec<_> = entries.iter().rev().take(3).map(command).collect();
        assert_eq!(last, vec!["endSessions", "noSuchCommand", "insert"]);
    }
}

#[test]
fn a_gap_in_a_reply_leaves_its_request_without_response_and_the_rest_intact() {
    let recs = records(CRUD);
    let (client, server) = directions(&recs);
    let cb = message_bounds(&client);
    let sb = message_bounds(&server);
    assert_eq!(cb.len(), sb.len());
    // Request and reply alternate; lose 10 bytes in the middle of the 5th reply.
    let mut s = session(false);
    let mut out = Vec::new();
    for (i, ((ca, cl), (sa, sl))) in cb.iter().zip(&sb).enumerate() {
        let ts = Timestamp(i as u64 + 1);
        s.on_data(Direction::ClientToServer, &client[*ca..ca + cl], ts, &mut out);
        if i == 4 {
            s.on_data(Direction::ServerToClient, &server[*sa..sa + 20], ts, &mut out);
            s.on_gap(Direction::ServerToClient, 10, &mut out);
            s.on_data(Direction::ServerToClient, &server[sa + 30..sa + sl], ts, &mut out);
        } else {
            s.on_data(Direction::ServerToClient, &server[*sa..sa + sl], ts, &mut out);
        }
    }
    s.on_close(Timestamp(99), &mut out);
    assert_eq!(out.len(), cb.len());
    let lost: Vec<_> = out.iter().filter(|e| e.outcome == Outcome::NoResponse).collect();
    assert_eq!(lost.len(), 1);
    assert!(lost[0].notes.iter().any(|n| n.contains("capture gap")), "{:?}", lost[0].notes);
    assert_eq!(
        out.iter().filter(|e| e.status.as_deref() == Some("OK")).count(),
        cb.len() - 1 - 3,
        "all but the lost reply and the three failures"
    );
}

#[test]
fn a_request_without_reply_is_no_response_at_close() {
    let recs = records(CRUD);
    let (client, _) = directions(&recs);
    let (at, len) = message_bounds(&client)[1];
    let mut s = session(false);
    let mut out = Vec::new();
    s.on_data(Direction::ClientToServer, &client[at..at + len], Timestamp(1), &mut out);
    assert!(out.is_empty());
    s.on_close(Timestamp(2), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].outcome, Outcome::NoResponse);
    assert_eq!(out[0].status, None);
    assert_eq!(command(&out[0]), "drop");
}

/// Sets OP_MSG flag bits of a recorded message (flags follow the 16-byte header).
fn with_flags(msg: &[u8], flags: u32, request_id: i32, response_to: i32) -> Vec<u8> {
    let mut m = msg.to_vec();
    m[4..8].copy_from_slice(&request_id.to_le_bytes());
    m[8..12].copy_from_slice(&response_to.to_le_bytes());
    m[16..20].copy_from_slice(&flags.to_le_bytes());
    m
}

#[test]
fn more_to_come_requests_and_exhaust_replies() {
    let recs = records(CRUD);
    let (client, server) = directions(&recs);
    let cb = message_bounds(&client);
    let sb = message_bounds(&server);
    let find = &client[cb[4].0..cb[4].0 + cb[4].1];
    let reply = &server[sb[4].0..sb[4].0 + sb[4].1];
    let mut s = session(false);
    let mut out = Vec::new();
    // An unacknowledged request: reported at once, no reply expected.
    s.on_data(Direction::ClientToServer, &with_flags(find, wire::MORE_TO_COME, 500, 0), Timestamp(1), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].outcome, Outcome::Ok);
    assert!(out[0].response.is_none() && out[0].status.is_none());
    // An exhaust stream: request 600; replies 601 (to 600), 602 (to 601), 603 (to 602, last).
    s.on_data(Direction::ClientToServer, &with_flags(find, wire::EXHAUST_ALLOWED, 600, 0), Timestamp(2), &mut out);
    s.on_data(Direction::ServerToClient, &with_flags(reply, wire::MORE_TO_COME, 601, 600), Timestamp(3), &mut out);
    s.on_data(Direction::ServerToClient, &with_flags(reply, wire::MORE_TO_COME, 602, 601), Timestamp(4), &mut out);
    s.on_data(Direction::ServerToClient, &with_flags(reply, 0, 603, 602), Timestamp(5), &mut out);
    s.on_close(Timestamp(6), &mut out);
    assert_eq!(out.len(), 4, "{:#?}", out.iter().map(|e| (&e.summary, &e.notes)).collect::<Vec<_>>());
    assert!(out[1..].iter().all(|e| e.status.as_deref() == Some("OK") && command(e) == "find"));
    assert_eq!(out[1].request["wire"]["flags"], json!(["exhaustAllowed"]));
    assert_eq!(out[2].request["exhaust"], true);
    assert_eq!(out[3].response.as_ref().unwrap()["wire"]["response_to"], 602);
}

#[test]
fn bson_matches_pymongo_relaxed_extended_json() {
    let bytes = include_bytes!("testdata/types.bson");
    let expected: Value = serde_json::from_str(include_str!("testdata/types.json")).unwrap();
    let (doc, len) = Doc::parse(bytes).unwrap();
    assert_eq!(len, bytes.len());
    let mut budget = Budget::new(10_000, 1 << 20);
    let got = doc_to_json(doc, &Limits::DEFAULT, &mut budget);
    assert!(!budget.elided && budget.error.is_none());
    assert_eq!(got, expected);
}

#[test]
fn bson_is_bounded_and_survives_every_truncation() {
    let bytes = include_bytes!("testdata/types.bson");
    for n in 0..bytes.len() {
        let doc = Doc::partial(&bytes[..n]);
        let mut budget = Budget::new(10_000, 1 << 20);
        let _ = doc_to_json(doc, &Limits::DEFAULT, &mut budget);
        assert!(Doc::parse(&bytes[..n]).is_err());
    }
    let limits = Limits { max_depth: 2, max_fields: 3, max_string: 2, max_binary: 1 };
    let mut budget = Budget::new(10_000, 1 << 20);
    let got = doc_to_json(Doc::parse(bytes).unwrap().0, &limits, &mut budget);
    assert!(budget.elided);
    assert_eq!(got["$elided"], 32 - 3);
    assert_eq!(got.as_object().unwrap().len(), 4);
}

#[test]
fn probing_is_strict() {
    let flow = crate::dissect::FlowInfo { server_port: 27017, client_port: 40000, saw_handshake: true };
    let d = MongoDissector { max_frame: 1 << 20 };
    use crate::dissect::{Probe, StreamDissector};
    let (client, server) = directions(&records(CRUD));
    assert_eq!(d.probe(&flow, &client), Probe::Client);
    assert_eq!(d.probe(&flow, &server), Probe::Server);
    let (lc, ls) = directions(&records(LEGACY));
    assert_eq!(d.probe(&flow, &lc), Probe::Client);
    assert_eq!(d.probe(&flow, &ls), Probe::Server);
    let zc = directions(&records(ZSTD)).0;
    assert_eq!(d.probe(&flow, &zc[..zc.len().min(200)]), Probe::Client);
    for other in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x8a\x1b\x00\x42\x17\x90\x01\x02",
        b"*1\r\n$4\r\nPING\r\n",
        b"AMQP\x00\x00\x09\x01",
        b"\x00\x00\x00\x08\x04\xd2\x16\x2f", // PostgreSQL SSLRequest
        b"\x00\x00\x00\x54\x00\x03\x00\x00user\x00postgres\x00", // PostgreSQL startup
        b"\x4a\x00\x00\x00\x0a\x38\x2e\x30\x2e\x33\x36\x00\x08\x00\x00\x00", // MySQL greeting
        b"\x00\x00\x00\x1f\x00\x12\x00\x03\x00\x00\x00\x01\x00\x07client1", // Kafka ApiVersions
    ] {
        assert_eq!(d.probe(&flow, other), Probe::No, "{other:?}");
    }
    assert_eq!(d.probe(&flow, &client[..3]), Probe::NeedMore);
    assert_eq!(plausible_start(&client[..16]), Plausible::NeedMore);
}

#[test]
fn hostile_input_never_panics_and_stays_bounded() {
    let (client, server) = directions(&records(CRUD));
    let mut x: u32 = 0x2545_F491;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    for round in 0..300 {
        let mut s = MongoSession::new(4096, round % 2 == 0);
        let mut out = Vec::new();
        for _ in 0..40 {
            let dir = if next() % 2 == 0 { Direction::ClientToServer } else { Direction::ServerToClient };
            let src = if dir == Direction::ClientToServer { &client } else { &server };
            let start = next() as usize % src.len();
            let len = next() as usize % 600;
            let mut piece = src[start..(start + len).min(src.len())].to_vec();
            for b in piece.iter_mut() {
                if next() % 50 == 0 {
                    *b = next() as u8;
                }
            }
            match next() % 9 {
                0 => s.on_gap(dir, (next() % 5000) as u64, &mut out),
                1 => s.on_end(dir, Timestamp(1), &mut out),
                _ => s.on_data(dir, &piece, Timestamp(1), &mut out),
            }
            assert!(s.buffered_bytes() <= 2 * 4096);
        }
        s.on_close(Timestamp(2), &mut out);
    }
}

#[test]
fn credentials_are_found_for_redaction() {
    let req = json!({"command": "saslStart", "document": {"saslStart": 1, "mechanism": "SCRAM-SHA-256",
        "payload": {"$binary": {"base64": "bj0sLG49dXNlcixyPQ==", "subType": "00"}}}});
    assert_eq!(find_secrets(&req), vec!["/document/payload"]);
    let hello = json!({"command": "hello", "document": {"hello": 1, "speculativeAuthenticate": {"payload": "x"}}});
    assert_eq!(find_secrets(&hello), vec!["/document/speculativeAuthenticate/payload"]);
    let reply = json!({"conversationId": 1, "payload": "x", "done": false, "ok": 1.0});
    assert_eq!(find_secrets(&reply), vec!["/payload"]);
    let mut r = reply.clone();
    assert_eq!(SECRETS.redact(&mut r), 1);
    assert_eq!(r["payload"], crate::redact::REDACTED);
    assert!(find_secrets(&json!({"command": "find", "document": {"find": "c", "payload": 1}})).is_empty());
}

#[test]
fn write_concern_errors_and_bare_codes_are_named() {
    let enc = |doc: &[(&str, Value)]| -> Vec<u8> {
        // A tiny BSON encoder for the test's flat documents (int32, double and string values).
        let mut body = Vec::new();
        for (k, v) in doc {
            match v {
                Value::String(s) => {
                    body.push(2);
                    body.extend_from_slice(k.as_bytes());
                    body.push(0);
                    body.extend_from_slice(&(s.len() as i32 + 1).to_le_bytes());
                    body.extend_from_slice(s.as_bytes());
                    body.push(0);
                }
                v if v.is_f64() => {
                    body.push(1);
                    body.extend_from_slice(k.as_bytes());
                    body.push(0);
                    body.extend_from_slice(&v.as_f64().unwrap().to_le_bytes());
                }
                v => {
                    body.push(0x10);
                    body.extend_from_slice(k.as_bytes());
                    body.push(0);
                    body.extend_from_slice(&(v.as_i64().unwrap() as i32).to_le_bytes());
                }
            }
        }
        let mut out = ((body.len() + 5) as i32).to_le_bytes().to_vec();
        out.extend(body);
        out.push(0);
        out
    };
    let failed = enc(&[("ok", json!(0.0)), ("errmsg", json!("x")), ("code", json!(13435))]);
    assert_eq!(
        reply_status(Doc::parse(&failed).unwrap().0),
        Some(("NotPrimaryNoSecondaryOk".into(), Outcome::ServerError))
    );
    let unknown = enc(&[("ok", json!(0.0)), ("code", json!(987654))]);
    assert_eq!(reply_status(Doc::parse(&unknown).unwrap().0), Some(("Location987654".into(), Outcome::Error)));
    let wce = enc(&[("code", json!(64)), ("errmsg", json!("waiting for replication timed out"))]);
    let mut reply = vec![];
    let mut body = vec![0x03];
    body.extend_from_slice(b"writeConcernError\0");
    body.extend_from_slice(&wce);
    body.push(0x01);
    body.extend_from_slice(b"ok\0");
    body.extend_from_slice(&1.0f64.to_le_bytes());
    reply.extend_from_slice(&((body.len() + 5) as i32).to_le_bytes());
    reply.extend(body);
    reply.push(0);
    assert_eq!(reply_status(Doc::parse(&reply).unwrap().0), Some(("WriteConcernFailed".into(), Outcome::ServerError)));
}

/// An exchange as the engine makes it an entry (the fields the filter reads).
fn as_entry(x: &Exchange) -> crate::entry::Entry {
    use crate::entry::{Endpoint, Entry, Transport};
    Entry {
        id: "t-1".into(),
        protocol: x.protocol.into(),
        transport: Transport::Tcp,
        ts: x.ts,
        elapsed_us: x.end_ts.map(|e| x.ts.micros_until(e)),
        src: Endpoint::new([10, 0, 0, 1].into(), 40000),
        dst: Endpoint::new([10, 0, 0, 2].into(), 27017),
        summary: x.summary.clone(),
        status: x.status.clone(),
        outcome: x.outcome,
        tls: false,
        request_size: x.request_size,
        response_size: x.response_size,
        request: x.request.clone(),
        response: x.response.clone(),
        notes: x.notes.clone(),
    }
}

#[test]
fn the_documented_filter_examples_select_what_they_say() {
    use crate::filter::Filter;
    let entries: Vec<_> = run(&records(CRUD)).iter().map(as_entry).collect();
    let select = |text: &str| -> Vec<String> {
        let f = Filter::parse(text).unwrap();
        entries.iter().filter(|e| f.matches(e)).map(|e| e.summary.clone()).collect()
    };
    let orders = select(r#"mongodb and request.collection == "orders""#);
    let expected: Vec<_> = entries.iter().filter(|e| e.request["collection"] == "orders").map(|e| &e.summary).collect();
    assert_eq!(orders.len(), expected.len());
    assert_eq!(orders.len(), 11, "drop, 2 inserts, find, 4 getMores, update, delete, aggregate: {orders:?}");
    assert!(orders.iter().all(|s| s.ends_with("shop.orders")));
    assert_eq!(select(r#"mongodb and request.command == "find" and response.cursor.count > 50"#), ["find shop.orders"]);
    assert_eq!(select(r#"mongodb and status == "DuplicateKey""#), ["insert shop.users"]);
    assert_eq!(
        select(r#"mongodb and outcome != "ok" and request.command != "hello""#),
        ["insert shop.users", "noSuchCommand shop", "endSessions admin"]
    );
}

#[test]
fn a_reply_delivered_before_its_request_still_pairs() {
    let recs = records(CRUD);
    let (client, server) = directions(&recs);
    let cb = message_bounds(&client);
    let sb = message_bounds(&server);
    let mut s = session(false);
    let mut out = Vec::new();
    let (ca, cl) = cb[4];
    let (sa, sl) = sb[4];
    s.on_data(Direction::ServerToClient, &server[sa..sa + sl], Timestamp(2), &mut out);
    assert!(out.is_empty(), "the reply waits for its request");
    s.on_data(Direction::ClientToServer, &client[ca..ca + cl], Timestamp(1), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(command(&out[0]), "find");
    assert_eq!(out[0].status.as_deref(), Some("OK"));
    // A reply nobody asked for is reported at close, bounded meanwhile.
    for i in 0..(MAX_PENDING + 20) {
        let (sa, sl) = sb[1 + i % (sb.len() - 1)];
        s.on_data(Direction::ServerToClient, &server[sa..sa + sl], Timestamp(3), &mut out);
    }
    s.on_close(Timestamp(4), &mut out);
    assert_eq!(out.len(), 1 + MAX_PENDING + 20);
    assert!(out[1..].iter().all(|e| e.request.is_null() && e.notes[0] == "request not captured"));
}
