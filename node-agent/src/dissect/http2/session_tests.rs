//! Session tests on whole connections between real implementations (testdata/session_fixture.json,
//! made by gen_session.py: Python `h2` peers, and a grpcio client and server on loopback through a
//! recording relay). The expectations are the peers' own view of every stream (what the server
//! received, what the client received, resets, pushes, gRPC statuses and messages), not our
//! output. Every connection is fed whole, split at every byte boundary (the small ones) or byte by
//! byte and in random pieces (the large ones): the entries must not change.

use super::super::grpc::exchange::{CallLimits, GrpcContext};
use super::*;
use crate::dissect::http2::hpack::tests::hex;
use crate::dissect::{Direction, Exchange, FlowInfo};
use crate::entry::Outcome;
use crate::time::Timestamp;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

const FLOW: FlowInfo = FlowInfo { server_port: 8080, client_port: 40000, saw_handshake: true };
const MID_WAY: FlowInfo = FlowInfo { server_port: 8080, client_port: 40000, saw_handshake: false };

struct Scenario {
    name: String,
    segments: Vec<(Direction, Vec<u8>)>,
    spec: Value,
}

fn scenarios() -> Vec<Scenario> {
    let fixture: Value = serde_json::from_str(include_str!("testdata/session_fixture.json")).unwrap();
    fixture["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| Scenario {
            name: s["name"].as_str().unwrap().to_string(),
            segments: s["segments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|seg| {
                    let dir = if seg[0] == "c" { Direction::ClientToServer } else { Direction::ServerToClient };
                    (dir, hex(seg[1].as_str().unwrap()))
                })
                .collect(),
            spec: s.clone(),
        })
        .collect()
}

fn scenario(name: &str) -> Scenario {
    scenarios().into_iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no scenario {name}"))
}

fn ts(i: usize) -> Timestamp {
    Timestamp(1_000_000 * (i as u64 + 1))
}

fn fnv1a(data: &[u8]) -> String {
    let h = data.iter().fold(0x811c_9dc5u32, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    format!("{h:08x}")
}

fn proto_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/dissect/grpc/testdata/protos")
}

fn dissector(body_limit: usize, schema: bool) -> Http2Dissector {
    let limits = Limits { body_limit, ..Limits::default() };
    let path = schema.then(proto_dir);
    let ctx = GrpcContext::new(path.as_deref(), CallLimits::with_body_limit(body_limit));
    Http2Dissector::new(limits, Some(Arc::new(ctx)))
}

/// What a run gave.
struct Run {
    exchanges: Vec<Exchange>,
    max_buffered: usize,
}

/// Feeds the segments (segment `i` at `ts(i)`), each cut at the offsets `cuts(i, len)`, then closes.
fn run_with(
    d: &Http2Dissector,
    flow: &FlowInfo,
    segments: &[(Direction, Vec<u8>)],
    cuts: &mut dyn FnMut(usize, usize) -> Vec<usize>,
) -> Run {
    let mut s = d.new_session(flow);
    let bound = d.limits().max_buffered();
    let mut out = Vec::new();
    let mut max_buffered = 0;
    for (i, (dir, data)) in segments.iter().enumerate() {
        let mut from = 0;
        for to in cuts(i, data.len()).into_iter().chain([data.len()]) {
            s.on_data(*dir, &data[from..to], ts(i), &mut out);
            max_buffered = max_buffered.max(s.buffered_bytes());
            assert!(s.buffered_bytes() <= bound, "{} > {bound}", s.buffered_bytes());
            from = to;
        }
    }
    s.on_close(ts(segments.len()), &mut out);
    assert_eq!(s.buffered_bytes(), 0, "bytes held after close");
    Run { exchanges: out, max_buffered }
}

fn run(d: &Http2Dissector, segments: &[(Direction, Vec<u8>)]) -> Vec<Exchange> {
    run_with(d, &FLOW, segments, &mut |_, _| Vec::new()).exchanges
}

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The whole run, asserting that every split at a byte boundary (connections up to 8000 bytes),
/// byte-by-byte feeding and random multi-splits give the same entries.
fn run_all_splits(d: &Http2Dissector, flow: &FlowInfo, segments: &[(Direction, Vec<u8>)]) -> Vec<Exchange> {
    let whole = run_with(d, flow, segments, &mut |_, _| Vec::new()).exchanges;
    let total: usize = segments.iter().map(|(_, b)| b.len()).sum();
    if total <= 8000 {
        let mut offsets = Vec::new();
        let mut base = 0;
        for (_, b) in segments {
            offsets.push(base);
            base += b.len();
        }
        for at in 1..total {
            let split = run_with(d, flow, segments, &mut |i, len| {
                let local = at.wrapping_sub(offsets[i]);
                if local > 0 && local < len {
                    vec![local]
                } else {
                    Vec::new()
                }
            });
            assert_eq!(split.exchanges, whole, "cut at byte {at} of {total}");
        }
    }
    let bytewise = run_with(d, flow, segments, &mut |_, len| (1..len).collect());
    assert_eq!(bytewise.exchanges, whole, "byte by byte");
    for seed in 1..=6u64 {
        let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let split = run_with(d, flow, segments, &mut |_, len| {
            let mut cuts: Vec<usize> =
                (0..(len / 50).max(2)).map(|_| (rng.next() % len.max(1) as u64) as usize).collect();
            cuts.retain(|&c| c > 0);
            cuts.sort_unstable();
            cuts.dedup();
            cuts
        });
        assert_eq!(split.exchanges, whole, "random split, seed {seed}");
    }
    whole
}

fn by_stream(xs: &[Exchange]) -> std::collections::BTreeMap<u64, &Exchange> {
    xs.iter()
        .map(|x| {
            let id = x.request["stream_id"].as_u64().expect("stream_id");
            (id, x)
        })
        .collect()
}

/// The body's bytes as the entry shows them (text or base64).
fn body_bytes(b: &Value) -> Vec<u8> {
    use base64::Engine as _;
    match (b["text"].as_str(), b["base64"].as_str()) {
        (Some(t), _) => t.as_bytes().to_vec(),
        (_, Some(b64)) => base64::engine::general_purpose::STANDARD.decode(b64).unwrap(),
        _ => panic!("body without content: {b}"),
    }
}

/// Checks every stream the h2 peers saw against its entry.
fn check_h2_streams(s: &Scenario, xs: &[Exchange]) {
    let streams = s.spec["streams"].as_array().unwrap();
    let got = by_stream(xs);
    assert_eq!(got.len(), streams.len(), "{}: {xs:#?}", s.name);
    assert_eq!(xs.len(), streams.len(), "{}: one entry per stream", s.name);
    for want in streams {
        let id = want["stream_id"].as_u64().unwrap();
        let x = got.get(&id).unwrap_or_else(|| panic!("{}: no entry for stream {id}", s.name));
        let ctx = format!("{} stream {id}: {x:#?}", s.name);
        assert_eq!(x.protocol, "http", "{ctx}");
        assert_eq!(x.request["method"], want["method"], "{ctx}");
        assert_eq!(x.request["path"], want["path"], "{ctx}");
        assert_eq!(x.summary, format!("{} {}", want["method"].as_str().unwrap(), want["path"].as_str().unwrap()));
        let req_body = &want["request_body"];
        if want["request_body"]["len"].as_u64().unwrap() > 0 {
            assert_eq!(x.request["body"]["size"], req_body["len"], "{ctx}");
            assert_eq!(fnv1a(&body_bytes(&x.request["body"])), req_body["fnv"].as_str().unwrap(), "{ctx}");
        }
        let trailers = |v: &Value| v.as_array().cloned().unwrap_or_default();
        assert_eq!(trailers(&x.request["trailers"]), trailers(&want["request_trailers"]), "{ctx}");
        if want["pushed"] == true {
            assert!(x.notes.iter().any(|n| n.starts_with("pushed")), "{ctx}");
        }
        match (&want["status"], &want["reset"]) {
            (Value::Number(status), _) => {
                let response = x.response.as_ref().expect("a response");
                assert_eq!(response["status"], want["status"], "{ctx}");
                assert_eq!(response["version"], "HTTP/2");
                assert_eq!(x.status, Some(status.to_string()), "{ctx}");
                let code = status.as_u64().unwrap() as u16;
                assert_eq!(x.outcome, crate::dissect::http1::status_outcome(code), "{ctx}");
                let b = &want["response_body"];
                assert_eq!(response["body"]["size"], b["len"], "{ctx}");
                if response["body"]["encoding"].is_null() && response["body"]["truncated"] == false {
                    assert_eq!(fnv1a(&body_bytes(&response["body"])), b["fnv"].as_str().unwrap(), "{ctx}");
                }
                assert_eq!(trailers(&response["trailers"]), trailers(&want["response_trailers"]), "{ctx}");
                assert!(x.end_ts.is_some_and(|e| e >= x.ts), "{ctx}");
            }
            (_, Value::Array(reset)) => {
                assert!(x.response.is_none(), "{ctx}");
                assert_eq!(x.status.as_deref(), reset[1].as_str(), "{ctx}");
                assert_eq!(x.outcome, Outcome::Error, "{ctx}");
                let by = if reset[0] == "c" { "client" } else { "server" };
                assert!(x.notes.iter().any(|n| n.contains(&format!("reset by the {by}"))), "{ctx}");
            }
            _ => {
                assert!(x.response.is_none(), "{ctx}");
                assert_eq!((x.status.as_ref(), x.outcome), (None, Outcome::NoResponse), "{ctx}");
            }
        }
        assert!(x.request_size > 0, "{ctx}");
    }
}

#[test]
fn concurrent_interleaved_streams_with_continuation_padding_trailers_head_and_404() {
    let s = scenario("concurrent");
    let xs = run_all_splits(&dissector(1 << 20, false), &FLOW, &s.segments);
    check_h2_streams(&s, &xs);
    let got = by_stream(&xs);
    // Pseudo-header fields are fields, not headers; the query is decoded as for HTTP/1.
    let a = got[&1];
    assert_eq!(a.request["authority"], "example.test");
    assert_eq!(a.request["scheme"], "http");
    assert_eq!(a.request["version"], "HTTP/2");
    assert_eq!(a.request["query"], serde_json::json!([["x", "1"], ["y", "two"]]));
    assert!(a.request["headers"].as_array().unwrap().iter().all(|h| !h[0].as_str().unwrap().starts_with(':')));
    // The 20000-byte header came in HEADERS + CONTINUATION.
    let big = got[&11];
    let x_big = big.request["headers"].as_array().unwrap().iter().find(|h| h[0] == "x-big").unwrap();
    assert_eq!(x_big[1].as_str().unwrap().len(), 20000);
    // (20000 Huffman-coded 'v's are 17500 bytes: more than one 16384-byte frame.)
    assert!(big.request_size > 16384 + 9);
    assert_eq!(got[&5].outcome, Outcome::ClientError);
    assert_eq!(got[&3].request["headers"][0], serde_json::json!(["content-type", "application/json"]));
    // Entries come out as their streams end (the server answered stream 9 first).
    let order: Vec<u64> = xs.iter().map(|x| x.request["stream_id"].as_u64().unwrap()).collect();
    assert_eq!(order, [9, 5, 7, 3, 11, 1]);
    // Timestamps: the requests were all in the client's second segment, the responses in the
    // server's third.
    let (req_seg, resp_seg) = (3, 4);
    assert_eq!(s.segments[req_seg].0, Direction::ClientToServer);
    for x in &xs {
        assert_eq!((x.ts, x.end_ts), (ts(req_seg), Some(ts(resp_seg))), "{}", x.summary);
        assert!(x.notes.is_empty(), "{}: {:?}", x.summary, x.notes);
    }
}

#[test]
fn sizes_are_the_frames_of_each_stream() {
    // Stream 9: request HEADERS alone; response HEADERS, one DATA frame and a trailers HEADERS.
    // Frame lengths read off the bytes by hand: every frame is 9 bytes of header + its payload,
    // and the total of all streams' frames plus the frames of stream 0 is every byte sent.
    let s = scenario("concurrent");
    let xs = run(&dissector(1 << 20, false), &s.segments);
    let client: u64 =
        s.segments.iter().filter(|(d, _)| *d == Direction::ClientToServer).map(|(_, b)| b.len() as u64).sum();
    let server: u64 =
        s.segments.iter().filter(|(d, _)| *d == Direction::ServerToClient).map(|(_, b)| b.len() as u64).sum();
    let req: u64 = xs.iter().map(|x| x.request_size).sum();
    let resp: u64 = xs.iter().map(|x| x.response_size).sum();
    // The client's connection-level bytes: preface, SETTINGS (+ ACK), WINDOW_UPDATE frames.
    assert!(req < client && client - req < 200, "{req} of {client}");
    assert!(resp < server && server - resp < 100, "{resp} of {server}");
    let a = by_stream(&xs)[&1];
    // 5 DATA frames of 1000 bytes + their headers, and at least the response HEADERS frame.
    assert!(a.response_size > 5 * 1009 && a.response_size < 5 * 1009 + 60, "{}", a.response_size);
}

#[test]
fn large_bodies_stream_through_and_are_bounded() {
    let s = scenario("large_body");
    let xs = run_all_splits(&dissector(1 << 20, false), &FLOW, &s.segments);
    check_h2_streams(&s, &xs);
    let got = by_stream(&xs);
    // The gzip body is shown decoded, as the server wrote it.
    let decoded = &s.spec["decoded"]["1"];
    let large = got[&1].response.as_ref().unwrap();
    assert_eq!(large["body"]["encoding"], "gzip");
    assert_eq!(fnv1a(large["body"]["text"].as_str().unwrap().as_bytes()), decoded["fnv"].as_str().unwrap());
    // The 120000-byte padded DATA frame was larger than what is buffered: it came in pieces.
    assert_eq!(got[&5].response.as_ref().unwrap()["body"]["size"], 120_000);
    // With a small body limit: sizes still count every byte, bodies are cut, memory stays low.
    let d = dissector(1000, false);
    let small = run_with(&d, &FLOW, &s.segments, &mut |_, len| (4096..len).step_by(4096).collect());
    let got = by_stream(&small.exchanges);
    let zeros = got[&5].response.as_ref().unwrap();
    assert_eq!((zeros["body"]["size"].as_u64(), zeros["body"]["truncated"].as_bool()), (Some(120_000), Some(true)));
    assert_eq!(zeros["body"]["text"].as_str().unwrap().len(), 1000);
    assert!(got[&5].notes.contains(&"response body truncated at 1000 bytes".to_string()), "{:?}", got[&5].notes);
    let put = got[&3];
    assert_eq!(
        (put.request["body"]["size"].as_u64(), put.request["body"]["truncated"].as_bool()),
        (Some(100_000), Some(true))
    );
    assert!(small.max_buffered < 2 * super::wire::MIN_BUFFERED_FRAME + 200_000, "{}", small.max_buffered);
}

#[test]
fn resets_goaway_and_push_promises() {
    let s = scenario("reset_goaway_push");
    let xs = run_all_splits(&dissector(1 << 20, false), &FLOW, &s.segments);
    check_h2_streams(&s, &xs);
    let got = by_stream(&xs);
    for id in s.spec["unanswered"].as_array().unwrap() {
        let x = got[&id.as_u64().unwrap()];
        assert!(
            x.notes.iter().any(|n| n.contains("not answered: the server sent GOAWAY (NO_ERROR) with last stream 3")),
            "{:?}",
            x.notes
        );
    }
    let pushed = got[&2];
    assert!(pushed.notes.contains(&"pushed: promised by the server on stream 1".to_string()));
    assert_eq!(pushed.request["authority"], "example.test");
}

#[test]
fn a_connection_seen_mid_way() {
    let s = scenario("concurrent");
    let d = dissector(1 << 20, false);
    // From the start, but without the handshake: the preface is found like any frame start, and
    // the entries are the same.
    let from_start = run_all_splits(&d, &MID_WAY, &s.segments[..]);
    assert_eq!(from_start, run(&d, &s.segments));
    // The capture starts inside the client's first request (stream 1's HEADERS, which indexed
    // :authority in the dynamic table) and at the server's PUSH_PROMISE: stream 1's response is an
    // orphan, later requests lack the :authority they took from the table (noted), the rest is
    // whole.
    let s = scenario("reset_goaway_push");
    let segments: Vec<(Direction, Vec<u8>)> = vec![
        (s.segments[3].0, s.segments[3].1[5..].to_vec()),
        s.segments[4].clone(),
        s.segments[5].clone(),
        s.segments[6].clone(),
    ];
    let xs = run_all_splits(&d, &MID_WAY, &segments);
    let summaries: Vec<(&str, Option<&str>)> = xs.iter().map(|x| (x.summary.as_str(), x.status.as_deref())).collect();
    // The client's frames are found only once its next segment arrives (CHAIN frames), after the
    // server refused stream 5: that reset is lost, and the GOAWAY reports stream 5 unanswered.
    assert_eq!(
        summaries,
        [
            ("(request not captured)", Some("200")),
            ("GET /style.css", Some("200")),
            ("GET /slow", Some("CANCEL")),
            ("GET /refused", None),
            ("GET /late1", None),
            ("GET /late2", None),
        ]
    );
    let slow = &xs[2];
    assert_eq!(slow.request["authority"], Value::Null);
    assert!(slow.notes.iter().any(|n| n.contains("1 field(s) could not be decoded")), "{:?}", slow.notes);
    assert_eq!(xs[1].request["authority"], "example.test", "the server's own table is known from its first block");
}

#[test]
fn h2c_upgrade_through_the_engine() {
    use crate::engine::{Engine, EngineConfig, StreamInput, StreamKey};
    let s = scenario("upgrade");
    let key = StreamKey { client: ([10, 0, 0, 1].into(), 40000), server: ([10, 0, 0, 2].into(), 80), conn_id: 1 };
    let total: usize = s.segments.iter().map(|(_, b)| b.len()).sum();
    let mut reference: Option<Vec<(String, String, Option<String>)>> = None;
    // Every cut of the whole conversation into two pieces at one byte boundary.
    for at in (0..total).step_by(7) {
        let mut engine = Engine::new(EngineConfig::default());
        let mut entries = Vec::new();
        let mut pos = 0;
        for (i, (dir, b)) in s.segments.iter().enumerate() {
            let pieces: Vec<&[u8]> =
                if at > pos && at < pos + b.len() { vec![&b[..at - pos], &b[at - pos..]] } else { vec![&b[..]] };
            for p in pieces {
                let input = StreamInput::Data { dir: *dir, data: p, ts: ts(i) };
                engine.stream_input(&key, false, input, &mut |e| entries.push(e));
            }
            pos += b.len();
        }
        engine.stream_close(&key, ts(99), &mut |e| entries.push(e));
        let got: Vec<(String, String, Option<String>)> =
            entries.iter().map(|e| (e.protocol.clone(), e.summary.clone(), e.status.clone())).collect();
        if let Some(r) = &reference {
            assert_eq!(&got, r, "cut at {at}");
            continue;
        }
        // The 101 from HTTP/1, then the upgrade request answered on stream 1, then stream 3.
        assert_eq!(
            got,
            [
                ("http".into(), "GET /upgrade?x=1".into(), Some("101".into())),
                ("http".into(), "GET /upgrade?x=1".into(), Some("200".into())),
                ("http".into(), "GET /second".into(), Some("200".into())),
            ]
        );
        let one = &entries[1];
        assert_eq!(one.request["stream_id"], 1);
        assert_eq!(one.request["version"], "HTTP/1.1");
        assert_eq!(one.response.as_ref().unwrap()["body"]["text"], "upgraded!");
        assert_eq!(one.ts, entries[0].ts, "stream 1 starts with the upgrade request");
        assert_eq!(entries[2].response.as_ref().unwrap()["body"]["text"], "second");
        reference = Some(got);
    }
}

#[test]
fn probe_tells_the_preface_frames_and_who_sent_them() {
    use super::frame::CLIENT_PREFACE;
    assert_eq!(probe(CLIENT_PREFACE), Probe::Client);
    assert_eq!(probe(&CLIENT_PREFACE[..10]), Probe::NeedMore);
    assert_eq!(probe(b""), Probe::NeedMore);
    assert_eq!(probe(b"GET / HTTP/1.1\r\n\r\n"), Probe::No);
    assert_eq!(probe(b"HTTP/1.1 200 OK\r\n"), Probe::No);
    assert_eq!(probe(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), Probe::No);
    // Mid-way: frames whose first header block starts with :method are the client's, :status
    // the server's (nginx and grpcio bytes from the fixture, cut after their preface).
    let s = scenario("grpc_unary");
    let client: Vec<u8> =
        s.segments.iter().filter(|(d, _)| *d == Direction::ClientToServer).flat_map(|(_, b)| b.clone()).collect();
    let server: Vec<u8> =
        s.segments.iter().filter(|(d, _)| *d == Direction::ServerToClient).flat_map(|(_, b)| b.clone()).collect();
    assert_eq!(probe(&client), Probe::Client);
    assert_eq!(probe(&client[CLIENT_PREFACE.len()..]), Probe::Client);
    assert_eq!(probe(&server), Probe::Server);
    // Frames without a header block: undecided until enough bytes say it is HTTP/2 at all.
    let settings_only = &server[..server.iter().position(|_| false).unwrap_or(24 + 9 + 4)];
    assert_eq!(probe(settings_only), Probe::NeedMore);
    let d = Http2Dissector::default();
    assert_eq!(d.name(), "http2");
    assert_eq!(d.probe(&FLOW, CLIENT_PREFACE), Probe::Client);
}

/// What the grpcio peers saw, against the gRPC entry.
fn check_grpc(s: &Scenario, x: &Exchange, schema: bool) {
    let spec = &s.spec;
    let ctx = format!("{}: {x:#?}", s.name);
    assert_eq!(x.protocol, "grpc", "{ctx}");
    assert_eq!(x.summary, spec["path"].as_str().unwrap(), "{ctx}");
    assert_eq!(x.status.as_deref(), spec["status"].as_str(), "{ctx}");
    let code = spec["code"].as_u64().unwrap() as u32;
    let expected_outcome = match super::super::grpc::status::fault(code) {
        super::super::grpc::status::Fault::None => Outcome::Ok,
        super::super::grpc::status::Fault::Client => Outcome::ClientError,
        super::super::grpc::status::Fault::Server => Outcome::ServerError,
    };
    assert_eq!(x.outcome, expected_outcome, "{ctx}");
    let path = spec["path"].as_str().unwrap();
    let (service, method) = path[1..].split_once('/').unwrap();
    assert_eq!((x.request["service"].as_str(), x.request["method"].as_str()), (Some(service), Some(method)));
    let response = x.response.as_ref().expect("response");
    assert_eq!(response["code"], code, "{ctx}");
    assert_eq!(response["status"], spec["status"], "{ctx}");
    let message = spec["message"].as_str().filter(|m| !m.is_empty());
    assert_eq!(response["message"].as_str().filter(|m| !m.is_empty()), message, "{ctx}");
    for t in spec["trailers"].as_array().into_iter().flatten() {
        assert!(response["trailers"].as_array().unwrap().contains(t), "{t} in {ctx}");
    }
    for (side, key) in [("requests", &x.request), ("responses", response)] {
        let want = spec[side].as_array().unwrap();
        let got = key["messages"].as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{side} of {ctx}");
        for (g, w) in got.iter().zip(want) {
            let bytes = hex(w["hex"].as_str().unwrap());
            if !g["compressed"].as_bool().unwrap() {
                assert_eq!(g["size"], bytes.len(), "{ctx}");
            }
            match (&w["json"], schema) {
                (Value::Object(_), true) => assert_eq!(g["json"], w["json"], "{side} of {ctx}"),
                _ if bytes.is_empty() => assert_eq!(g["raw"], serde_json::json!({}), "{ctx}"),
                _ => assert!(g["raw"].is_object(), "{side} of {ctx}"),
            }
        }
    }
}

#[test]
fn grpc_calls_of_every_kind_as_grpcio_saw_them() {
    let schema = dissector(1 << 20, true);
    let raw = dissector(1 << 20, false);
    let mut names = Vec::new();
    for s in scenarios().into_iter().filter(|s| s.spec["kind"] == "grpc") {
        for (d, with_schema) in [(&schema, true), (&raw, false)] {
            let xs = run_all_splits(d, &FLOW, &s.segments);
            assert_eq!(xs.len(), 1, "{}: {xs:#?}", s.name);
            check_grpc(&s, &xs[0], with_schema);
        }
        names.push(s.name);
    }
    assert_eq!(names.len(), 7);
}

#[test]
fn grpc_details_metadata_gzip_and_trailers_only() {
    let d = dissector(1 << 20, true);
    let unary = &run(&d, &scenario("grpc_unary").segments)[0];
    let md = unary.request["metadata"].as_array().unwrap();
    assert!(md.contains(&serde_json::json!(["x-request-id", "r-1"])));
    assert!(md.contains(&serde_json::json!(["authorization", "Bearer s3cret"])), "redaction is the agent's job");
    assert!(md.contains(&serde_json::json!(["trace-bin", "AAH/"])), "binary metadata as sent (base64): {md:?}");
    let response = unary.response.as_ref().unwrap();
    assert!(response["metadata"].as_array().unwrap().contains(&serde_json::json!(["x-served-by", "golden"])));
    assert_eq!(response["trailers_only"], false);
    assert_eq!(response["http_status"], 200);
    assert!(unary.notes.is_empty(), "{:?}", unary.notes);
    assert_eq!(unary.request["messages"][0]["type"], "kshark.test.v1.GetItemRequest");

    let gz = &run(&d, &scenario("grpc_gzip").segments)[0];
    // The client named gzip but sent its 4-byte message uncompressed (flag 0, as grpcio does for
    // tiny messages; the protocol allows it); the server compressed its answer.
    assert_eq!(gz.request["encoding"], "gzip");
    assert_eq!(gz.request["messages"][0]["compressed"], false);
    let response = gz.response.as_ref().unwrap();
    assert_eq!(response["encoding"], "gzip");
    assert_eq!(response["messages"][0]["compressed"], true);
    let item = &response["messages"][0]["json"];
    assert_eq!(item["history"][0]["currencyCode"], "EUR");
    assert_eq!(item["blob"].as_str().unwrap().len(), 4000, "3000 bytes as base64, decompressed");

    // An error before any message: grpcio answers with a trailers-only response.
    for name in ["grpc_not_found", "grpc_unavailable"] {
        let x = &run(&d, &scenario(name).segments)[0];
        let r = x.response.as_ref().unwrap();
        assert_eq!(r["trailers_only"], true, "{name}: {x:#?}");
        assert_eq!(r["messages"], serde_json::json!([]));
    }
    let nf = &run(&d, &scenario("grpc_not_found").segments)[0];
    assert_eq!(nf.response.as_ref().unwrap()["message"], "item 42 not found: ünïcode 100%");
    assert_eq!(nf.outcome, Outcome::ClientError);
    // Methods not in the schema are shown raw, with a note saying why.
    let ss = &run(&d, &scenario("grpc_server_streaming").segments)[0];
    assert!(ss.notes.iter().any(|n| n.contains("no service kshark.test.v1.Extra")), "{:?}", ss.notes);
}

#[test]
fn grpc_disabled_shows_calls_as_http_and_http_disabled_keeps_grpc_only() {
    let s = scenario("grpc_unary");
    let settings =
        crate::dissect::settings::ProtocolSettings { enabled: Some(vec!["http".into()]), ..Default::default() };
    let http_only = Http2Dissector::from_settings(&settings);
    let xs = run(&http_only, &s.segments);
    assert_eq!((xs.len(), xs[0].protocol, xs[0].status.as_deref()), (1, "http", Some("200")));
    let settings =
        crate::dissect::settings::ProtocolSettings { enabled: Some(vec!["grpc".into()]), ..Default::default() };
    let grpc_only = Http2Dissector::grpc_only(&settings);
    assert_eq!(grpc_only.probe(&FLOW, super::frame::CLIENT_PREFACE), Probe::Client);
    let mut xs = run(&grpc_only, &s.segments);
    xs.extend(run(&grpc_only, &scenario("concurrent").segments));
    assert_eq!(xs.len(), 1, "HTTP streams are dropped: {xs:#?}");
    assert_eq!(xs[0].protocol, "grpc");
    // With both enabled, gRPC's own dissector leaves the work to HTTP/2's.
    let both = Http2Dissector::grpc_only(&Default::default());
    assert_eq!(both.probe(&FLOW, super::frame::CLIENT_PREFACE), Probe::No);
}

#[test]
fn a_bad_proto_path_is_noted_once_and_calls_still_decode() {
    let ctx = Arc::new(GrpcContext::new(Some(Path::new("/nonexistent/protos")), CallLimits::with_body_limit(1 << 20)));
    assert!(!ctx.has_schema());
    let d = Http2Dissector::new(Limits::default(), Some(ctx));
    let s = scenario("grpc_unary");
    let first = run(&d, &s.segments);
    let second = run(&d, &s.segments);
    assert!(first[0].notes.iter().any(|n| n.contains("/nonexistent/protos")), "{:?}", first[0].notes);
    assert!(second[0].notes.is_empty(), "{:?}", second[0].notes);
    assert!(first[0].request["messages"][0]["raw"].is_object());
}

#[test]
fn max_streams_reports_the_oldest_as_it_stands() {
    let s = scenario("concurrent");
    let d = Http2Dissector::new(Limits { max_streams: 2, ..Limits::default() }, None);
    let xs = run_all_splits(&d, &FLOW, &s.segments);
    let outline: Vec<(&str, Option<&str>)> = xs.iter().map(|x| (x.summary.as_str(), x.status.as_deref())).collect();
    assert_eq!(xs.len(), 6 + 4, "four streams were reported early, and again when answered: {outline:?}");
    let early: Vec<&Exchange> =
        xs.iter().filter(|x| x.notes.iter().any(|n| n.contains("more than 2 streams"))).collect();
    assert_eq!(early.len(), 4);
    assert!(early.iter().all(|x| x.outcome == Outcome::NoResponse));
}

#[test]
fn gaps_lose_what_they_took_and_nothing_else() {
    let s = scenario("concurrent");
    let d = dissector(1 << 20, false);
    let whole = run(&d, &s.segments);
    // Take 100 bytes out of the middle of the server's large response segment.
    let resp_seg = 4;
    let mut sess = d.new_session(&FLOW);
    let mut out = Vec::new();
    for (i, (dir, b)) in s.segments.iter().enumerate() {
        if i == resp_seg {
            let mid = b.len() - 2000;
            sess.on_data(*dir, &b[..mid], ts(i), &mut out);
            sess.on_gap(*dir, 100, &mut out);
            sess.on_data(*dir, &b[mid + 100..], ts(i), &mut out);
        } else {
            sess.on_data(*dir, b, ts(i), &mut out);
        }
    }
    sess.on_close(ts(9), &mut out);
    assert_eq!(out.len(), whole.len());
    let damaged = by_stream(&out)[&1];
    let body = &damaged.response.as_ref().unwrap()["body"];
    assert_eq!(body["truncated"], true, "{damaged:#?}");
    assert_eq!(body["size"], 5000, "lost bytes count in the size");
    // The other streams are as without the gap.
    let good: Vec<&Exchange> = out.iter().filter(|x| x.request["stream_id"] != 1).collect();
    let reference: Vec<&Exchange> = whole.iter().filter(|x| x.request["stream_id"] != 1).collect();
    assert_eq!(good, reference);
}

/// Connections of the e2e "waves" capture (nghttp2 against nginx, Go's h2c client and server)
/// cut mid-way, with tshark's reading of each stream from the whole capture
/// (testdata/midway_fixture.json, made by gen_midway.py).
fn midway_cases() -> Vec<(String, Vec<(Direction, Vec<u8>)>, Vec<Value>)> {
    let fixture: Value = serde_json::from_str(include_str!("testdata/midway_fixture.json")).unwrap();
    fixture["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let segments = c["segments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|seg| {
                    let dir = if seg[0] == "c" { Direction::ClientToServer } else { Direction::ServerToClient };
                    (dir, hex(seg[1].as_str().unwrap()))
                })
                .collect();
            (c["name"].as_str().unwrap().to_string(), segments, c["streams"].as_array().unwrap().clone())
        })
        .collect()
}

/// Entries by stream id; every entry has one (no orphan), once.
fn one_entry_per_stream(name: &str, xs: &[Exchange]) -> std::collections::BTreeMap<u64, Exchange> {
    let mut got = std::collections::BTreeMap::new();
    for x in xs {
        let id = x.request["stream_id"].as_u64().unwrap_or_else(|| panic!("{name}: an entry without a stream: {x:?}"));
        assert!(got.insert(id, x.clone()).is_none(), "{name}: stream {id} twice");
    }
    got
}

#[test]
fn a_connection_cut_before_its_first_request_is_read_whole() {
    // No SYN, no preface, no SETTINGS: the client's first segment is a request HEADERS alone, and
    // the answer comes before the client sends more. The tables were empty: every stream as tshark
    // read it from the whole capture.
    let d = dissector(1 << 20, false);
    for (name, segments, streams) in midway_cases().into_iter().filter(|c| c.0.starts_with("before_first_request")) {
        let xs = run_all_splits(&d, &MID_WAY, &segments);
        let got = one_entry_per_stream(&name, &xs);
        let want: Vec<(u64, &str, &str, Option<String>)> = streams
            .iter()
            .map(|s| {
                let status = s["status"].as_u64().map(|c| c.to_string());
                (s["stream_id"].as_u64().unwrap(), s["method"].as_str().unwrap(), s["path"].as_str().unwrap(), status)
            })
            .collect();
        let have: Vec<(u64, &str, &str, Option<String>)> = got
            .iter()
            .map(|(id, x)| {
                let q = &x.request;
                (*id, q["method"].as_str().unwrap_or("-"), q["path"].as_str().unwrap_or("-"), x.status.clone())
            })
            .collect();
        assert_eq!(have, want, "{name}");
    }
}

#[test]
fn a_connection_cut_after_its_hpack_tables_filled_keeps_what_can_be_known() {
    // Every stream whose request is in the cut comes out once; :method, :path and :status are
    // right where they were sent literally or from the static table, and values from the unseen
    // dynamic table are right or missing with a note.
    let d = dissector(1 << 20, false);
    for (name, segments, streams) in midway_cases().into_iter().filter(|c| c.0.starts_with("after_hpack_filled")) {
        let xs = run_all_splits(&d, &MID_WAY, &segments);
        let got = one_entry_per_stream(&name, &xs);
        let ids: Vec<u64> = streams.iter().map(|s| s["stream_id"].as_u64().unwrap()).collect();
        assert_eq!(got.keys().copied().collect::<Vec<_>>(), ids, "{name}");
        let mut dynamic = 0;
        for s in &streams {
            let x = &got[&s["stream_id"].as_u64().unwrap()];
            let status = x.response.as_ref().map(|r| r["status"].clone()).unwrap_or(Value::Null);
            for (field, value, want) in [
                (":method", x.request["method"].clone(), s["method"].clone()),
                (":path", x.request["path"].clone(), s["path"].clone()),
                (":status", status, s["status"].clone()),
            ] {
                let from_dynamic = s["from_dynamic_table"][field].as_bool().unwrap();
                dynamic += usize::from(from_dynamic);
                match value {
                    Value::Null if from_dynamic => {
                        assert!(!x.notes.is_empty(), "{name} stream {}: {field} missing without a note", s["stream_id"])
                    }
                    v => assert_eq!(v, want, "{name} stream {} {field}", s["stream_id"]),
                }
            }
        }
        assert!(dynamic > 0, "{name}: no field came from the dynamic table; the case proves nothing");
    }
}

#[test]
fn an_empty_segment_changes_nothing() {
    // Bytes-free calls (a segment without payload) at later times: the entries' times stay those
    // of the bytes (a header block cut at the end took the time of the last call, empty or not).
    let d = dissector(1 << 20, false);
    let mut cases = midway_cases();
    cases.push(("concurrent".into(), scenario("concurrent").segments, Vec::new()));
    // A server HEADERS (":status 200", stream 17) whose block never ends: cut when the connection ends.
    let mut cut = cases[0].1.clone();
    cut.push((Direction::ServerToClient, hex("000001010000000011 88")));
    cases.push(("block cut at the end".into(), cut, Vec::new()));
    for (name, segments, _) in cases {
        let whole = run_with(&d, &MID_WAY, &segments, &mut |_, _| Vec::new()).exchanges;
        let mut s = d.new_session(&MID_WAY);
        let mut out = Vec::new();
        for (i, (dir, data)) in segments.iter().enumerate() {
            s.on_data(*dir, data, ts(i), &mut out);
            for d in [Direction::ClientToServer, Direction::ServerToClient] {
                s.on_data(d, &[], Timestamp(ts(i).0 + 500_000), &mut out);
            }
        }
        s.on_close(ts(segments.len()), &mut out);
        assert_eq!(out, whole, "{name}");
    }
}
