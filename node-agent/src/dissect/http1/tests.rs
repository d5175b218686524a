//! Session tests on byte literals. Every conversation is fed whole, then split at every byte
//! boundary, then in a few random multi-splits: all runs must give identical exchanges.

use super::body::tests_support::{gzip, raw_deflate, zlib, BR_HELLO, BR_HELLO_TEXT};
use super::*;
use crate::dissect::{Continuation, Direction, Exchange, Handoff};
use crate::time::Timestamp;
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug)]
enum Ev<'a> {
    C(&'a [u8]),
    S(&'a [u8]),
    GapC(u64),
    GapS(u64),
    EndC,
    EndS,
}
use Ev::*;

/// Event `i` happens at `ts(i)`; pieces of one event share its time.
fn ts(i: usize) -> Timestamp {
    Timestamp(1_000_000 * (i as u64 + 1))
}

const FLOW: FlowInfo = FlowInfo { server_port: 80, client_port: 40000, saw_handshake: true };

struct Run {
    exchanges: Vec<Exchange>,
    done: bool,
    max_buffered: usize,
    /// The hand-off the session made, with everything that arrived after it appended to its
    /// pending bytes (as the engine would feed them to the next session).
    handoff: Option<Handoff>,
}

/// Feeds `events`, data events cut into the pieces `cuts(event index, len)` gives; closes at the end.
fn run_with(d: &Http1Dissector, events: &[Ev], cuts: &mut dyn FnMut(usize, usize) -> Vec<usize>) -> Run {
    let mut s = d.new_session(&FLOW);
    let mut out = Vec::new();
    let mut max_buffered = 0;
    let mut handoff: Option<Handoff> = None;
    for (i, ev) in events.iter().enumerate() {
        match *ev {
            C(data) | S(data) => {
                let dir = if matches!(ev, C(_)) { Direction::ClientToServer } else { Direction::ServerToClient };
                let mut from = 0;
                for to in cuts(i, data.len()).into_iter().chain([data.len()]) {
                    match &mut handoff {
                        Some(h) => h.pending[dir.index()].extend_from_slice(&data[from..to]),
                        None => {
                            s.on_data(dir, &data[from..to], ts(i), &mut out);
                            handoff = s.take_handoff();
                        }
                    }
                    max_buffered = max_buffered.max(s.buffered_bytes());
                    from = to;
                }
            }
            _ if handoff.is_some() => {}
            GapC(n) => s.on_gap(Direction::ClientToServer, n, &mut out),
            GapS(n) => s.on_gap(Direction::ServerToClient, n, &mut out),
            EndC => s.on_end(Direction::ClientToServer, ts(i), &mut out),
            EndS => s.on_end(Direction::ServerToClient, ts(i), &mut out),
        }
    }
    let done = s.is_done() || handoff.is_some();
    if handoff.is_none() {
        s.on_close(ts(events.len()), &mut out);
    }
    Run { exchanges: out, done, max_buffered, handoff }
}

/// Small deterministic generator for the random splits.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Runs `events` whole, split at every byte boundary and randomly; asserts identical results and
/// returns the whole run.
fn run_all_splits(d: &Http1Dissector, events: &[Ev]) -> Run {
    let whole = run_with(d, events, &mut |_, _| Vec::new());
    let total: usize = events.iter().map(|e| if let C(x) | S(x) = e { x.len() } else { 0 }).sum();
    // One cut at every position of the concatenated data.
    for at in 1..total {
        let mut base = 0;
        let mut offsets = vec![0; events.len()];
        for (i, e) in events.iter().enumerate() {
            offsets[i] = base;
            if let C(x) | S(x) = e {
                base += x.len();
            }
        }
        let split = run_with(d, events, &mut |i, len| {
            let local = at.wrapping_sub(offsets[i]);
            if local > 0 && local < len {
                vec![local]
            } else {
                Vec::new()
            }
        });
        assert_eq!(split.exchanges, whole.exchanges, "cut at byte {at} of {total}");
        assert_eq!(split.done, whole.done, "cut at byte {at}");
        assert_eq!(split.handoff, whole.handoff, "cut at byte {at}");
    }
    for seed in 1..=8u64 {
        let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let split = run_with(d, events, &mut |_, len| {
            let mut cuts: Vec<usize> = (0..len / 3).map(|_| (rng.next() % len.max(1) as u64) as usize).collect();
            cuts.retain(|&c| c > 0);
            cuts.sort_unstable();
            cuts.dedup();
            cuts
        });
        assert_eq!(split.exchanges, whole.exchanges, "random split, seed {seed}");
    }
    whole
}

fn run(events: &[Ev]) -> Vec<Exchange> {
    run_all_splits(&Http1Dissector::default(), events).exchanges
}

/// (summary, status) of each exchange.
fn outline(xs: &[Exchange]) -> Vec<(String, Option<String>)> {
    xs.iter().map(|x| (x.summary.clone(), x.status.clone())).collect()
}

fn o(pairs: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    pairs.iter().map(|(s, st)| (s.to_string(), st.map(str::to_string))).collect()
}

fn text(v: &Value) -> &str {
    v["body"]["text"].as_str().unwrap_or("<no text>")
}

#[test]
fn probe_decides_from_content() {
    let p = |d: &[u8]| probe(d);
    assert_eq!(p(b"GET / HTTP/1.1\r\n"), Probe::Client);
    assert_eq!(p(b"GET /"), Probe::Client);
    assert_eq!(p(b"PROPFIND /dav HTTP/1.1\r\n"), Probe::Client);
    assert_eq!(p(b"PATCH /x HTTP/1.1\r\n"), Probe::Client);
    assert_eq!(p(b"M-SEARCH * HTTP/1.1\r\n"), Probe::No, "SSDP is UDP, M-SEARCH is not in the list");
    assert_eq!(p(b"HTTP/1.1 200 OK\r\n"), Probe::Server);
    assert_eq!(p(b"HTTP/1."), Probe::Server);
    for short in [&b""[..], b"G", b"GE", b"GET", b"PROPFI", b"H", b"HTTP/", b"HTTP/1"] {
        assert_eq!(p(short), Probe::NeedMore, "{:?}", String::from_utf8_lossy(short));
    }
    assert_eq!(p(b"HTTP/2 200"), Probe::No);
    assert_eq!(p(b"GET key\r\n"), Probe::No, "Redis inline command");
    assert_eq!(p(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Probe::No);
    assert_eq!(p(b"\x16\x03\x01\x02\x00\x01\x00\x01"), Probe::No);
    assert_eq!(p(b"SSH-2.0-OpenSSH_9.6\r\n"), Probe::No);
    // Never NeedMore for long: a long uppercase word is decided.
    assert_eq!(p(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"), Probe::No);
    let d = Http1Dissector::default();
    assert_eq!(d.name(), "http1");
    assert_eq!(d.probe(&FLOW, b"DELETE /a HTTP/1.1\r\n"), Probe::Client);
}

const GET1: &[u8] =
    b"GET /items?id=7&q=a+b HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n";
const RESP1: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 13\r\n\r\n{\"id\":7,\"n\":1}";
const GET2: &[u8] = b"GET /other HTTP/1.1\r\nHost: example.com\r\n\r\n";
const RESP2: &[u8] = b"HTTP/1.1 404 Not Found\r\ncontent-length: 9\r\n\r\nnot found";

#[test]
fn keep_alive_exchanges_have_the_documented_json_shape() {
    // RESP1 declares 13 body bytes; its JSON is 14 bytes long, so the last byte starts the next
    // "message" and must be dropped by resynchronisation: use an exact one here.
    let resp1: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 14\r\n\r\n{\"id\":7,\"n\":1}";
    let xs = run(&[C(GET1), S(resp1), C(GET2), S(RESP2)]);
    assert_eq!(xs.len(), 2);
    let x = &xs[0];
    assert_eq!(x.protocol, "http");
    assert_eq!((x.ts, x.end_ts), (ts(0), Some(ts(1))));
    assert_eq!(x.summary, "GET /items?id=7&q=a+b");
    assert_eq!(x.status.as_deref(), Some("200"));
    assert_eq!((x.request_size, x.response_size), (GET1.len() as u64, resp1.len() as u64));
    assert!(x.notes.is_empty(), "{:?}", x.notes);
    assert_eq!(
        x.request,
        json!({
            "method": "GET",
            "path": "/items?id=7&q=a+b",
            "version": "HTTP/1.1",
            "headers": [["Host", "example.com"], ["User-Agent", "curl/8.5.0"], ["Accept", "*/*"]],
            "query": [["id", "7"], ["q", "a b"]],
            "body": {"size": 0, "mime": null, "encoding": null, "text": "", "truncated": false}
        })
    );
    assert_eq!(
        x.response,
        Some(json!({
            "status": 200,
            "reason": "OK",
            "version": "HTTP/1.1",
            "headers": [["Content-Type", "application/json; charset=utf-8"], ["Content-Length", "14"]],
            "body": {"size": 14, "mime": "application/json", "encoding": null, "text": "{\"id\":7,\"n\":1}", "truncated": false}
        }))
    );
    let y = &xs[1];
    assert_eq!((y.summary.as_str(), y.status.as_deref()), ("GET /other", Some("404")));
    assert_eq!(y.response.as_ref().map(|r| r["reason"].clone()), Some(json!("Not Found")));
    assert_eq!((y.ts, y.end_ts), (ts(2), Some(ts(3))));
}

#[test]
fn extra_bytes_after_a_body_are_skipped_with_a_note() {
    // RESP1 says 13 bytes but sends 14: the 14th byte is garbage before the next response.
    let xs = run(&[C(GET1), S(RESP1), C(GET2), S(RESP2)]);
    assert_eq!(outline(&xs), o(&[("GET /items?id=7&q=a+b", Some("200")), ("GET /other", Some("404"))]));
    assert_eq!(xs[1].notes, ["1 bytes skipped to find this response's start"]);
    assert_eq!(xs[0].response.as_ref().map(text), Some("{\"id\":7,\"n\":1"));
}

#[test]
fn pipelined_requests_pair_in_order() {
    let reqs: &[u8] = b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /3 HTTP/1.1\r\nHost: a\r\n\r\n";
    let resps: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none\
HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\ntwo\
HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\nthree";
    let xs = run(&[C(reqs), S(resps)]);
    assert_eq!(outline(&xs), o(&[("GET /1", Some("200")), ("POST /2", Some("201")), ("GET /3", Some("500"))]));
    assert_eq!(text(&xs[1].request), "hello");
    assert_eq!(xs[1].request["body"]["size"], 5);
    let bodies: Vec<&str> = xs.iter().filter_map(|x| x.response.as_ref().map(text)).collect();
    assert_eq!(bodies, ["one", "two", "three"]);
}

#[test]
fn chunked_both_ways_with_extensions_and_trailers() {
    let req: &[u8] =
        b"POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n\
4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Checksum: abc\r\n\r\n";
    let resp: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
7\r\nchunked\r\n1; name=\"v\"\r\n!\r\n0\r\n\r\n";
    let xs = run(&[C(req), S(resp), C(GET2), S(RESP2)]);
    assert_eq!(outline(&xs), o(&[("POST /upload", Some("200")), ("GET /other", Some("404"))]));
    let x = &xs[0];
    assert_eq!(
        x.request["body"],
        json!({"size": 9, "mime": "text/plain", "encoding": null, "text": "Wikipedia", "truncated": false})
    );
    assert_eq!(x.request["trailers"], json!([["X-Checksum", "abc"]]));
    assert_eq!(x.response.as_ref().map(text), Some("chunked!"));
    assert_eq!((x.request_size, x.response_size), (req.len() as u64, resp.len() as u64));
    assert!(x.response.as_ref().is_some_and(|r| r.get("trailers").is_none()));
}

fn response_with_body(headers: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 200 OK\r\n{headers}Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    r.extend_from_slice(body);
    r
}

#[test]
fn content_encodings_are_decoded_for_display() {
    let original = "line of text that compresses well\n".repeat(30);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("gzip", gzip(original.as_bytes()), original.as_str()),
        ("deflate", zlib(original.as_bytes()), original.as_str()),
        ("deflate", raw_deflate(original.as_bytes()), original.as_str()),
        ("br", BR_HELLO.to_vec(), BR_HELLO_TEXT),
    ];
    for (coding, encoded, plain) in cases {
        let resp = response_with_body(&format!("Content-Type: text/plain\r\nContent-Encoding: {coding}\r\n"), &encoded);
        let xs = run(&[C(GET2), S(&resp)]);
        let r = xs[0].response.as_ref().expect("a response");
        assert_eq!(
            r["body"],
            json!({"size": encoded.len(), "mime": "text/plain", "encoding": coding, "text": plain, "truncated": false}),
            "{coding}"
        );
        assert!(xs[0].notes.is_empty(), "{coding}: {:?}", xs[0].notes);
    }
}

#[test]
fn binary_bodies_are_base64() {
    let resp = response_with_body("Content-Type: image/png\r\n", b"\x89PNG\r\n\x1a\n\x00");
    let xs = run(&[C(GET2), S(&resp)]);
    let body = &xs[0].response.as_ref().expect("response")["body"];
    assert_eq!(body["base64"], "iVBORw0KGgoA");
    assert!(body.get("text").is_none());
}

#[test]
fn head_204_and_304_have_no_body() {
    let head: &[u8] = b"HEAD /big HTTP/1.1\r\nHost: a\r\n\r\n";
    let head_resp: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
    let r204: &[u8] = b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n";
    let r304: &[u8] = b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n";
    let xs = run(&[C(head), S(head_resp), C(GET2), S(r204), C(GET2), S(r304), C(GET2), S(RESP2)]);
    assert_eq!(
        outline(&xs),
        o(&[
            ("HEAD /big", Some("200")),
            ("GET /other", Some("204")),
            ("GET /other", Some("304")),
            ("GET /other", Some("404"))
        ])
    );
    for x in &xs[..3] {
        assert_eq!(x.response.as_ref().map(|r| r["body"]["size"].clone()), Some(json!(0)));
        assert!(x.notes.is_empty(), "{:?}", x.notes);
    }
}

#[test]
fn continue_100_is_interim_and_the_final_response_pairs() {
    let head: &[u8] = b"PUT /f HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n";
    let cont: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
    let fin: &[u8] = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
    let xs = run(&[C(head), S(cont), C(b"data"), S(fin), C(GET2), S(RESP2)]);
    assert_eq!(outline(&xs), o(&[("PUT /f", Some("201")), ("GET /other", Some("404"))]));
    let r = xs[0].response.as_ref().expect("response");
    assert_eq!(r["interim"], json!([{"status": 100, "reason": "Continue"}]));
    assert_eq!(r["status"], 201);
    assert_eq!(text(&xs[0].request), "data");
    assert_eq!(xs[0].response_size, (cont.len() + fin.len()) as u64);
    assert_eq!(xs[0].end_ts, Some(ts(3)));
}

#[test]
fn early_final_response_waits_for_the_request_body() {
    let head: &[u8] = b"POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234";
    let r413: &[u8] = b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n";
    let xs = run(&[C(head), S(r413), C(b"56789"), C(GET2), S(RESP2)]);
    assert_eq!(outline(&xs), o(&[("POST /big", Some("413")), ("GET /other", Some("404"))]));
    assert_eq!(text(&xs[0].request), "0123456789");
}

#[test]
fn upgrade_101_ends_http() {
    let req: &[u8] = b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    let resp: &[u8] =
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello";
    let r = run_all_splits(
        &Http1Dissector::default(),
        &[C(req), S(&resp[..20]), S(&resp[20..]), C(b"\x81\x85abcdefghi"), S(b"\x81\x02hi")],
    );
    assert!(r.done);
    assert_eq!(outline(&r.exchanges), o(&[("GET /chat", Some("101"))]));
    assert_eq!(r.exchanges[0].response_size, (resp.len() - 7) as u64);
    assert_eq!(r.exchanges[0].end_ts, Some(ts(2)), "time of the head's last byte");
    // Every byte after the switch goes on to WebSocket, once, whatever the segmentation.
    let h = r.handoff.expect("handed off");
    assert_eq!(h.next, Continuation::Protocol("websocket"));
    assert_eq!(h.pending[0], b"\x81\x85abcdefghi");
    assert_eq!(h.pending[1], b"\x81\x05hello\x81\x02hi");
    assert_eq!(h.upgrade.response_header("upgrade"), Some("websocket"));
    assert_eq!(h.upgrade.request.as_ref().map(|r| r["path"].clone()), Some(json!("/chat")));
    assert_eq!(h.upgrade.request_size, req.len() as u64);
}

#[test]
fn upgrade_to_h2c_hands_off_to_http2_with_the_request_as_stream_1() {
    let req: &[u8] = b"GET /h2 HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n";
    let resp: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
    let preface: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let r = run_all_splits(&Http1Dissector::default(), &[C(req), S(resp), C(preface)]);
    let h = r.handoff.expect("handed off");
    assert_eq!(h.next, Continuation::Protocol("http2"));
    assert_eq!(h.pending, [preface.to_vec(), b"\x00\x00\x00\x04\x00\x00\x00\x00\x00".to_vec()]);
    assert_eq!(h.upgrade.request_header("http2-settings"), Some("AAMAAABkAAQAAP__"));
    assert_eq!(h.upgrade.request_ts, Some(ts(0)));
    // An upgrade to something unknown is probed again.
    let other = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo/2\r\n\r\n";
    let r = run_all_splits(&Http1Dissector::default(), &[C(GET1), S(other), C(b"x")]);
    assert_eq!(r.handoff.map(|h| (h.next, h.pending)), Some((Continuation::Probe, [b"x".to_vec(), vec![]])));
}

#[test]
fn client_bytes_sent_before_the_switch_go_on_with_it() {
    // A client that does not wait for the 101 (RFC 6455 says it must; not all do): its first
    // frame comes in the same segment as the request, before the switch.
    let req: &[u8] = b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    let frame: &[u8] = b"\x81\x85abcdefghi";
    let with_frame = [req, frame].concat();
    let resp: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    let r = run_all_splits(&Http1Dissector::default(), &[C(&with_frame), C(b"\x88\x80wxyz"), S(resp)]);
    assert_eq!(outline(&r.exchanges), o(&[("GET /chat", Some("101"))]));
    assert!(r.exchanges[0].notes.is_empty(), "{:?}", r.exchanges[0].notes);
    let h = r.handoff.expect("handed off");
    assert_eq!(h.pending[0], [frame, b"\x88\x80wxyz"].concat());
    // The same for a tunnel: TLS sent before the proxy's 200.
    let connect: &[u8] = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01";
    let r200: &[u8] = b"HTTP/1.1 200 Connection Established\r\n\r\n";
    let r = run_all_splits(&Http1Dissector::default(), &[C(connect), S(r200)]);
    assert_eq!(r.handoff.map(|h| h.pending), Some([b"\x16\x03\x01".to_vec(), vec![]]));
}

#[test]
fn requests_held_behind_an_upgrade_that_was_refused_are_read_in_order() {
    // `Upgrade: h2c` answered 200 without a switch: the request pipelined behind it is HTTP, and
    // the two responses (in one segment) pair in order.
    let req: &[u8] = b"GET /a HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n";
    let both = [req, GET2].concat();
    let resp = [&b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"[..], RESP2].concat();
    let r = run_all_splits(&Http1Dissector::default(), &[C(&both), S(&resp), C(GET1), S(RESP1)]);
    assert!(r.handoff.is_none());
    assert_eq!(
        outline(&r.exchanges),
        o(&[("GET /a", Some("200")), ("GET /other", Some("404")), ("GET /items?id=7&q=a+b", Some("200"))])
    );
    // A refused CONNECT: the bytes behind it are read as HTTP too.
    let connect: &[u8] = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
    let r407: &[u8] = b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n";
    let r = run_all_splits(&Http1Dissector::default(), &[C(&[connect, GET2].concat()), S(r407), S(RESP2)]);
    assert_eq!(outline(&r.exchanges), o(&[("CONNECT example.com:443", Some("407")), ("GET /other", Some("404"))]));
    // Unanswered: reported at close, the held request included.
    let r = run_all_splits(&Http1Dissector::default(), &[C(&both)]);
    assert_eq!(outline(&r.exchanges), o(&[("GET /a", None), ("GET /other", None)]));
}

#[test]
fn holding_is_bounded_by_the_head_limit() {
    let limits = Limits { max_head: 256, ..Limits::default() };
    let d = Http1Dissector::with_limits(limits);
    let req: &[u8] = b"GET /a HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    // More than max_head bytes of requests behind the upgrade: read without waiting.
    let many = GET2.repeat(256 / GET2.len() + 1);
    let r = run_all_splits(&d, &[C(req), C(&many)]);
    assert!(r.max_buffered <= limits.max_buffered(), "{} > {}", r.max_buffered, limits.max_buffered());
    assert_eq!(r.exchanges.len(), 1 + 256 / GET2.len() + 1);
}

#[test]
fn connect_2xx_ends_http_but_407_does_not() {
    let connect: &[u8] = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
    let r407: &[u8] = b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n";
    let r200: &[u8] = b"HTTP/1.1 200 Connection Established\r\n\r\n";
    let r = run_all_splits(
        &Http1Dissector::default(),
        &[C(connect), S(r407), C(connect), S(r200), C(b"\x16\x03\x01\x00\x05hello"), S(b"\x16\x03\x03")],
    );
    assert!(r.done);
    assert_eq!(
        outline(&r.exchanges),
        o(&[("CONNECT example.com:443", Some("407")), ("CONNECT example.com:443", Some("200"))])
    );
    assert!(r.exchanges.iter().all(|x| x.notes.is_empty()));
    let h = r.handoff.expect("the tunnel is probed again");
    assert_eq!(h.next, Continuation::Probe);
    assert_eq!(h.pending, [b"\x16\x03\x01\x00\x05hello".to_vec(), b"\x16\x03\x03".to_vec()]);
}

#[test]
fn http10_body_ends_at_close() {
    let req: &[u8] = b"GET /old HTTP/1.0\r\n\r\n";
    let resp: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>";
    // Ended by the server's FIN...
    let xs = run(&[C(req), S(resp), S(b"</html>"), EndS]);
    assert_eq!(outline(&xs), o(&[("GET /old", Some("200"))]));
    let r = xs[0].response.as_ref().expect("response");
    assert_eq!((r["version"].as_str(), text(r)), (Some("HTTP/1.0"), "<html></html>"));
    assert_eq!(xs[0].request["version"], "HTTP/1.0");
    assert_eq!(xs[0].end_ts, Some(ts(2)), "time of the last body byte, not of the FIN");
    assert_eq!(xs[0].response_size, (resp.len() + 7) as u64);
    // ...or by the connection going away.
    let ys = run(&[C(req), S(resp), S(b"</html>")]);
    assert_eq!(ys, xs);
}

#[test]
fn pending_requests_are_reported_at_close() {
    let xs = run(&[C(GET1), S(RESP2), C(GET2), C(b"DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n")]);
    assert_eq!(outline(&xs), o(&[("GET /items?id=7&q=a+b", Some("404")), ("GET /other", None), ("DELETE /x", None)]));
    assert_eq!((xs[1].response.as_ref(), xs[1].end_ts), (None, None));
    assert!(xs[1].notes.is_empty());
}

#[test]
fn truncated_response_at_close_is_reported_with_a_note() {
    let resp: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial";
    let xs = run(&[C(GET2), S(resp)]);
    assert_eq!(outline(&xs), o(&[("GET /other", Some("200"))]));
    assert_eq!(xs[0].notes, ["response body incomplete: the connection ended first"]);
    assert_eq!(xs[0].response.as_ref().map(|r| r["body"]["size"].clone()), Some(json!(7)));
}

#[test]
fn client_gap_resyncs_and_the_lost_requests_response_is_unpaired() {
    let req2: &[u8] = b"POST /lost HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
    let resp_ok: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let xs = run(&[
        C(GET1),
        S(resp_ok),
        C(&req2[..10]),
        GapC(30),
        C(&req2[40..]),
        S(resp_ok),
        C(b"GET /3 HTTP/1.1\r\nHost: a\r\n\r\n"),
        S(RESP2),
    ]);
    assert_eq!(
        outline(&xs),
        o(&[("GET /items?id=7&q=a+b", Some("200")), ("(request not captured)", Some("200")), ("GET /3", Some("404"))])
    );
    assert_eq!(xs[1].request, Value::Null);
    assert_eq!(xs[1].ts, ts(5));
    let skipped = format!("{} bytes skipped to find this request's start", req2.len() - 40);
    assert_eq!(xs[2].notes, ["30 bytes of requests lost to a capture gap before this one".to_string(), skipped]);
}

#[test]
fn client_gap_inside_a_known_length_body_keeps_sync() {
    let req: &[u8] = b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789";
    let head_len = req.len() - 10;
    let resp: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let xs = run(&[C(&req[..head_len + 2]), GapC(5), C(&req[head_len + 7..]), S(resp), C(GET2), S(RESP2)]);
    assert_eq!(outline(&xs), o(&[("POST /up", Some("200")), ("GET /other", Some("404"))]));
    assert_eq!(
        xs[0].request["body"],
        json!({"size": 10, "mime": null, "encoding": null, "text": "01", "truncated": true})
    );
    assert_eq!(xs[0].notes, ["request body: 5 bytes lost to a capture gap"]);
    assert_eq!(xs[0].request_size, req.len() as u64);
}

#[test]
fn server_gap_unpairs_pending_requests_and_resyncs() {
    let reqs = [GET1, GET2, b"GET /3 HTTP/1.1\r\n\r\n".as_slice()].concat();
    let resp_a: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let xs = run(&[
        C(&reqs),
        S(&resp_a[..5]),
        GapS(40),
        S(b"body bytes after the gapHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
        C(b"GET /4 HTTP/1.1\r\n\r\n"),
        S(RESP2),
    ]);
    assert_eq!(
        outline(&xs),
        o(&[
            ("GET /items?id=7&q=a+b", None),
            ("GET /other", None),
            ("GET /3", None),
            ("(request not captured)", Some("201")),
            ("GET /4", Some("404")),
        ])
    );
    for x in &xs[..3] {
        assert_eq!(x.notes, ["response lost to a capture gap"]);
    }
    assert_eq!(xs[3].notes, ["24 bytes skipped to find this response's start"]);
}

#[test]
fn server_gap_inside_a_chunk_keeps_sync() {
    let resp: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\n";
    let at = resp.len() - 14; // inside "0123456789", after "012"
    let xs = run(&[C(GET2), S(&resp[..at]), GapS(4), S(&resp[at + 4..]), C(GET2), S(RESP2)]);
    assert_eq!(outline(&xs), o(&[("GET /other", Some("200")), ("GET /other", Some("404"))]));
    let body = &xs[0].response.as_ref().expect("response")["body"];
    assert_eq!((body["size"].clone(), text(&xs[0].response.clone().unwrap_or_default())), (json!(10), "012"));
    assert_eq!(xs[0].notes, ["response body: 4 bytes lost to a capture gap"]);
}

#[test]
fn server_gap_cutting_a_body_ends_that_response() {
    let resp: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123";
    let xs = run(&[C(GET1), C(GET2), S(resp), GapS(50), S(RESP2)]);
    // GET /other can no longer be paired; the response after the gap answers a request unknown.
    assert_eq!(
        outline(&xs),
        o(&[("GET /items?id=7&q=a+b", Some("200")), ("GET /other", None), ("(request not captured)", Some("404"))])
    );
    assert_eq!(xs[0].notes, ["response body cut by a capture gap"]);
    assert_eq!(xs[1].notes, ["response lost to a capture gap"]);
}

#[test]
fn garbage_before_a_request_is_skipped() {
    let xs = run(&[C(b"\x00\x01garbage\r\n\r\nGET /ok HTTP/1.1\r\n\r\n"), S(RESP2)]);
    assert_eq!(outline(&xs), o(&[("GET /ok", Some("404"))]));
    assert_eq!(xs[0].notes, ["13 bytes skipped to find this request's start"]);
}

#[test]
fn garbage_in_both_directions_is_bounded_and_quiet() {
    let mut rng = XorShift(42);
    let noise: Vec<u8> = (0..50_000).map(|_| rng.next() as u8).collect();
    let r = run_with(
        &Http1Dissector::default(),
        &[C(&noise), S(&noise), C(&noise[..999]), S(&noise[7..])],
        &mut |_, len| (1..len).step_by(97).collect(),
    );
    assert!(r.exchanges.is_empty(), "{:?}", outline(&r.exchanges));
    assert!(r.max_buffered <= 2 * super::resync::MAX_LINE, "{}", r.max_buffered);
}

#[test]
fn tls_and_http2_on_the_stream_produce_nothing() {
    let r = run(&[C(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04"), S(b"\x00\x00\x06\x04\x00\x00\x00\x00\x00")]);
    assert!(r.is_empty(), "{:?}", outline(&r));
}

#[test]
fn malformed_head_is_dropped_and_the_next_request_found() {
    let bad: &[u8] = b"GET / HTTP/1.1\r\nBad\0Header: x\r\nX: GET /no HTTP/1.1\r\n\r\n";
    let xs = run(&[C(&[bad, b"GET /next HTTP/1.1\r\n\r\n"].concat()), S(RESP2)]);
    assert_eq!(outline(&xs), o(&[("GET /next", Some("404"))]));
    // Dropped whole: the request line inside it is not taken for a message.
    assert_eq!(xs[0].notes.len(), 1);
    assert!(xs[0].notes[0].starts_with("request data dropped: malformed request head"), "{:?}", xs[0].notes);
}

#[test]
fn a_bad_first_line_is_searched_from_its_second_byte() {
    // Found by fuzzing: the request start inside a rejected first line must be found the same
    // way whether the head arrives whole or in pieces.
    let xs = run(&[C(b"0\x03GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"), S(RESP2), S(RESP2)]);
    assert_eq!(outline(&xs), o(&[("GET /1", Some("404")), ("GET /2", Some("404"))]));
    assert_eq!(
        xs[0].notes,
        [
            "request data dropped: request does not start like an HTTP/1 message",
            "1 bytes skipped to find this request's start"
        ]
    );
    let ys = run(&[S(b"HTTP/1.1 20x HTTP/1.1 204 No Content\r\n\r\n")]);
    assert_eq!(outline(&ys), o(&[("(request not captured)", Some("204"))]));
    assert_eq!(
        ys[0].notes,
        [
            "response data dropped: response does not start like an HTTP/1 message",
            "12 bytes skipped to find this response's start"
        ]
    );
}

#[test]
fn invalid_content_length_keeps_the_head_and_resyncs() {
    let xs =
        run(&[C(b"POST /a HTTP/1.1\r\nContent-Length: 12abc\r\n\r\nxxxxGET /b HTTP/1.1\r\n\r\n"), S(RESP2), S(RESP2)]);
    assert_eq!(outline(&xs), o(&[("POST /a", Some("404")), ("GET /b", Some("404"))]));
    assert_eq!(xs[0].notes, ["request body: invalid Content-Length \"12abc\""]);
    assert_eq!(xs[1].notes, ["4 bytes skipped to find this request's start"]);
}

#[test]
fn body_limit_truncates_but_counts_every_byte() {
    let body = vec![b'x'; 5000];
    let resp = response_with_body("", &body);
    let r = run_all_splits(&Http1Dissector::with_body_limit(100), &[C(GET2), S(&resp)]);
    let x = &r.exchanges[0];
    let b = &x.response.as_ref().expect("response")["body"];
    assert_eq!(
        (b["size"].clone(), b["truncated"].clone(), text(&x.response.clone().unwrap_or_default()).len()),
        (json!(5000), json!(true), 100)
    );
    assert_eq!(x.notes, ["response body truncated at 100 bytes"]);
    assert!(r.max_buffered <= 100 + GET2.len() + 200, "{}", r.max_buffered);
    // Decoded output is bounded too: a gzip bomb shows the limit and no more.
    let bomb = gzip(&vec![b'a'; 10 << 20]);
    assert!(bomb.len() < 20_000, "{}", bomb.len());
    let resp = response_with_body("Content-Encoding: gzip\r\n", &bomb);
    let xs = run_with(&Http1Dissector::with_body_limit(20_000), &[C(GET2), S(&resp)], &mut |_, _| vec![]).exchanges;
    let b = &xs[0].response.as_ref().expect("response")["body"];
    assert_eq!((b["text"].as_str().map(str::len), b["truncated"].clone()), (Some(20_000), json!(true)));
    assert_eq!(xs[0].notes, ["response body truncated at 20000 bytes after decoding"]);
}

#[test]
fn oversized_head_is_dropped_and_sync_found_again() {
    let d = Http1Dissector::with_limits(Limits { max_head: 1024, ..Limits::default() });
    let mut big = b"GET /huge HTTP/1.1\r\n".to_vec();
    for i in 0..100 {
        big.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "v".repeat(20)).as_bytes());
    }
    big.extend_from_slice(b"\r\n");
    big.extend_from_slice(GET2);
    let r = run_all_splits(&d, &[C(&big), S(RESP2)]);
    assert_eq!(outline(&r.exchanges), o(&[("GET /other", Some("404"))]));
    assert_eq!(r.exchanges[0].notes[0], "request data dropped: request head longer than 1024 bytes");
    assert!(r.max_buffered <= 1024 + super::resync::MAX_LINE, "{}", r.max_buffered);
}

#[test]
fn pending_queue_is_bounded() {
    let d = Http1Dissector::with_limits(Limits { max_pending: 2, ..Limits::default() });
    let reqs = [GET1, GET2, b"GET /3 HTTP/1.1\r\n\r\n".as_slice()].concat();
    let resps = [RESP2, RESP2, RESP2].concat();
    let xs = run_all_splits(&d, &[C(&reqs), S(&resps)]).exchanges;
    assert_eq!(
        outline(&xs),
        o(&[
            ("GET /items?id=7&q=a+b", None),
            ("(request not captured)", Some("404")),
            ("GET /other", Some("404")),
            ("GET /3", Some("404"))
        ])
    );
    assert_eq!(xs[0].notes, ["response not paired: more than 2 requests were waiting for responses"]);
}

#[test]
fn non_utf8_header_values_are_lossy() {
    let resp: &[u8] = b"HTTP/1.1 200 OK\r\nX-Name: caf\xe9\r\nContent-Length: 0\r\n\r\n";
    let xs = run(&[C(GET2), S(resp)]);
    assert_eq!(xs[0].response.as_ref().map(|r| r["headers"][0].clone()), Some(json!(["X-Name", "caf\u{fffd}"])));
}

#[test]
fn leading_blank_lines_between_requests_are_tolerated() {
    let xs = run(&[C(b"\r\n\r\nGET /a HTTP/1.1\r\n\r\n\r\nGET /b HTTP/1.1\r\n\r\n"), S(RESP2), S(RESP2)]);
    assert_eq!(outline(&xs), o(&[("GET /a", Some("404")), ("GET /b", Some("404"))]));
    assert!(xs.iter().all(|x| x.notes.is_empty()));
}

#[test]
fn response_before_any_request_is_unpaired() {
    let xs = run(&[S(RESP2), C(GET2), S(RESP2)]);
    assert_eq!(outline(&xs), o(&[("(request not captured)", Some("404")), ("GET /other", Some("404"))]));
}

#[test]
fn slow_heads_and_large_bodies_stay_linear() {
    // A 60 KiB head one byte at a time, then a 20 MiB body in 1 KiB pieces: quadratic work on
    // either would take minutes in a debug build.
    let mut head = b"GET /slow HTTP/1.1\r\n".to_vec();
    while head.len() < 60_000 {
        head.extend_from_slice(b"X-Pad: 0123456789abcdef0123456789abcdef\r\n");
    }
    head.extend_from_slice(b"\r\n");
    let body = vec![b'z'; 20 << 20];
    let resp = response_with_body("", &body);
    let t = std::time::Instant::now();
    let mut s = Http1Dissector::default().new_session(&FLOW);
    let mut out = Vec::new();
    for b in head.chunks(1) {
        s.on_data(Direction::ClientToServer, b, ts(0), &mut out);
    }
    for piece in resp.chunks(1024) {
        s.on_data(Direction::ServerToClient, piece, ts(1), &mut out);
    }
    assert_eq!(outline(&out), o(&[("GET /slow", Some("200"))]));
    assert!(s.buffered_bytes() == 0, "{}", s.buffered_bytes());
    assert!(t.elapsed() < std::time::Duration::from_secs(20), "{:?}", t.elapsed());
}

#[test]
fn client_fin_inside_a_request_body_completes_it_with_a_note() {
    let req: &[u8] = b"POST /half HTTP/1.1\r\nContent-Length: 10\r\n\r\nabcd";
    let xs = run(&[C(req), EndC, S(RESP2)]);
    assert_eq!(outline(&xs), o(&[("POST /half", Some("404"))]));
    assert_eq!(xs[0].notes, ["request body incomplete: the connection ended first"]);
    assert_eq!(xs[0].request["body"]["size"], 4);
    assert_eq!(xs[0].request_size, req.len() as u64);
    assert_eq!(xs[0].end_ts, Some(ts(2)));
}

#[test]
fn interim_without_final_response_is_noted_at_close() {
    let head: &[u8] = b"PUT /f HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n";
    let xs = run(&[C(head), S(b"HTTP/1.1 100 Continue\r\n\r\n"), C(b"data")]);
    assert_eq!(outline(&xs), o(&[("PUT /f", None)]));
    assert_eq!(xs[0].notes, ["only interim responses seen: 100 Continue"]);
}

/// Throughput on a synthetic keep-alive connection, one message per segment (run in release:
/// `cargo test --release -p node-agent --lib http1::tests::throughput -- --ignored --nocapture`).
#[test]
#[ignore = "a measurement, not a check; run in release"]
#[allow(non_snake_case)]
fn throughput_keep_alive() {
    let n_env = std::env::var("HTTP1_BENCH_N").ok().and_then(|v| v.parse().ok());
    let N: usize = n_env.unwrap_or(150_000);
    let req: &[u8] =
        b"GET /api/v1/items/12345?expand=true HTTP/1.1\r\nHost: catalog.default.svc.cluster.local:8080\r\n\
User-Agent: Go-http-client/1.1\r\nAccept: application/json\r\nAccept-Encoding: gzip\r\n\r\n";
    let resp: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n\
Content-Length: 58\r\n\r\n{\"id\":12345,\"name\":\"widget\",\"price\":9.99,\"tags\":[\"a\",\"b\"]}";
    /// Keeps a count and the last exchange, as an engine that writes entries out would.
    #[derive(Default)]
    struct Count(usize, Option<Exchange>);
    impl crate::dissect::ExchangeSink for Count {
        fn emit(&mut self, x: Exchange) {
            assert!(x.status.as_deref() == Some("200") && x.notes.is_empty(), "{x:?}");
            self.0 += 1;
            self.1 = Some(x);
        }
    }
    let t = std::time::Instant::now();
    let mut s = Http1Dissector::default().new_session(&FLOW);
    let mut out = Count::default();
    for i in 0..N {
        s.on_data(Direction::ClientToServer, req, Timestamp(i as u64 * 2), &mut out);
        s.on_data(Direction::ServerToClient, resp, Timestamp(i as u64 * 2 + 1), &mut out);
    }
    s.on_close(Timestamp(u64::MAX), &mut out);
    let took = t.elapsed();
    assert_eq!(out.0, N);
    println!(
        "{N} exchanges in {:?}: {:.0} exchanges/s, {:.0} MB/s",
        took,
        N as f64 / took.as_secs_f64(),
        (N * (req.len() + resp.len())) as f64 / took.as_secs_f64() / 1e6
    );
}

#[test]
fn overlong_chunk_lines_and_trailers_fail_at_the_same_byte_in_any_pieces() {
    let d = Http1Dissector::with_limits(Limits { max_head: 300, ..Limits::default() });
    let mut long_ext = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;".to_vec();
    long_ext.resize(long_ext.len() + super::chunked::MAX_SIZE_LINE + 50, b'x');
    long_ext.extend_from_slice(b"\r\nHTTP/1.1 204 No Content\r\n\r\n");
    let mut long_trailer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: ".to_vec();
    long_trailer.resize(long_trailer.len() + 400, b'y');
    long_trailer.extend_from_slice(b"\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n");
    for (resp, error) in [
        (&long_ext, "response body: chunk size line longer than 4096 bytes"),
        (&long_trailer, "response body: trailer section longer than 300 bytes"),
    ] {
        let r = run_all_splits(&d, &[C(GET2), C(GET2), S(resp)]);
        assert_eq!(outline(&r.exchanges), o(&[("GET /other", Some("200")), ("GET /other", Some("204"))]));
        assert_eq!(r.exchanges[0].notes, [error]);
        assert_eq!(r.exchanges[1].notes.len(), 1, "{:?}", r.exchanges[1].notes);
        assert!(r.exchanges[1].notes[0].ends_with("bytes skipped to find this response's start"));
    }
}
