//! WebSocket entries through the real engine: TCP packets of an HTTP/1.1 upgrade and the frames
//! after it, dissected by the registered protocols.
//!
//! Frames come from RFC 6455 section 5.7 and RFC 7692 section 7.2.3, and from
//! testdata/vectors.json.gz (connections made by the Python `websockets` package, with the
//! messages its receiving side decoded; see testdata/generate.py).

use super::close::code_name;
use crate::dissect::settings::ProtocolSettings;
use crate::dissect::{registry, Direction};
use crate::engine::{Engine, EngineConfig, StreamInput, StreamKey};
use crate::entry::{Entry, Outcome};
use crate::source::{LinkType, RawPacket};
use crate::time::Timestamp;
use base64::Engine as _;
use etherparse::PacketBuilder;
use serde_json::Value;
use std::io::Read;

const CLIENT: ([u8; 4], u16) = ([10, 0, 0, 1], 40000);
const SERVER: ([u8; 4], u16) = ([10, 0, 0, 2], 8080);
/// Largest payload of one TCP segment.
const MSS: usize = 1400;

/// The opening handshake of RFC 6455 section 1.2 (its key and accept value).
fn upgrade_request(extensions: Option<&str>) -> Vec<u8> {
    let mut r = String::from(
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
    );
    if let Some(e) = extensions {
        r.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
    }
    r.push_str("\r\n");
    r.into_bytes()
}

fn switching_response(extensions: Option<&str>) -> Vec<u8> {
    let mut r = String::from(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n",
    );
    if let Some(e) = extensions {
        r.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
    }
    r.push_str("\r\n");
    r.into_bytes()
}

fn settings(enabled: Option<&[&str]>) -> ProtocolSettings {
    ProtocolSettings { enabled: enabled.map(|e| e.iter().map(|s| s.to_string()).collect()), ..Default::default() }
}

/// One TCP packet between the test's client and server.
fn packet(from_client: bool, seq: u32, ack: u32, syn: bool, fin: bool, payload: &[u8]) -> Vec<u8> {
    let (src, dst) = if from_client { (CLIENT, SERVER) } else { (SERVER, CLIENT) };
    let mut b = PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4(src.0, dst.0, 64).tcp(src.1, dst.1, seq, 65535);
    if syn {
        b = b.syn();
    }
    if ack != 0 {
        b = b.ack(ack);
    }
    if fin {
        b = b.fin();
    }
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

/// A connection from its SYN to both FINs: `pieces` are what each side sent, in order, each
/// acknowledging everything the other side sent before it. A piece becomes one segment (or
/// several of at most [`MSS`] bytes); piece `i` is captured at `i + 1` seconds.
fn run_tcp(pieces: &[(bool, Vec<u8>)], protocols: &ProtocolSettings) -> Vec<Entry> {
    let config = EngineConfig { protocols: protocols.clone(), ..EngineConfig::default() };
    let mut engine = Engine::with_dissectors(config, registry::stream_dissectors(protocols), vec![]);
    let mut entries = Vec::new();
    let mut feed = |frame: Vec<u8>, secs: u64, entries: &mut Vec<Entry>| {
        let raw = RawPacket {
            ts: Timestamp(secs * 1_000_000_000),
            link_type: LinkType::Ethernet,
            capture_point: 0,
            data: &frame,
            orig_len: frame.len() as u32,
        };
        engine.process(&raw, &mut |e| entries.push(e));
    };
    let (mut cseq, mut sseq) = (1000u32, 5000u32);
    feed(packet(true, cseq, 0, true, false, b""), 0, &mut entries);
    feed(packet(false, sseq, cseq + 1, true, false, b""), 0, &mut entries);
    cseq += 1;
    sseq += 1;
    for (i, (from_client, bytes)) in pieces.iter().enumerate() {
        for chunk in bytes.chunks(MSS) {
            let frame = if *from_client {
                cseq += chunk.len() as u32;
                packet(true, cseq - chunk.len() as u32, sseq, false, false, chunk)
            } else {
                sseq += chunk.len() as u32;
                packet(false, sseq - chunk.len() as u32, cseq, false, false, chunk)
            };
            feed(frame, i as u64 + 1, &mut entries);
        }
    }
    let end = pieces.len() as u64 + 1;
    feed(packet(true, cseq, sseq, false, true, b""), end, &mut entries);
    feed(packet(false, sseq, cseq + 1, false, true, b""), end, &mut entries);
    engine.finish(&mut |e| entries.push(e));
    entries
}

/// The body's bytes, from `text` or `base64`.
fn body_bytes(body: &Value) -> Vec<u8> {
    match (body["text"].as_str(), body["base64"].as_str()) {
        (Some(t), None) => t.as_bytes().to_vec(),
        (None, Some(b)) => base64::engine::general_purpose::STANDARD.decode(b).unwrap(),
        _ => panic!("body without exactly one of text and base64: {body}"),
    }
}

fn summaries(entries: &[Entry]) -> Vec<(&str, &str, Option<&str>)> {
    entries.iter().map(|e| (e.protocol.as_str(), e.summary.as_str(), e.status.as_deref())).collect()
}

// RFC 6455 section 5.7.
const MASKED_HELLO: &[u8] = &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
const HELLO: &[u8] = &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
const HEL_LO: &[u8] = &[0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
const PING_HELLO: &[u8] = &[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
const MASKED_PONG_HELLO: &[u8] = &[0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
// RFC 7692 section 7.2.3.2: "Hello" twice, compressed with context takeover.
const DEFLATED_HELLO_1: &[u8] = &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
const DEFLATED_HELLO_2: &[u8] = &[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00];
// Close frames in the section 5.2 format: 1000 from the client (masked with the all-zero key),
// then the server's reply.
const MASKED_CLOSE_1000: &[u8] = &[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8];
const CLOSE_1000: &[u8] = &[0x88, 0x02, 0x03, 0xe8];

/// RFC 6455 section 5.7's 256-byte binary frame (its payload: bytes 0..=255).
fn binary_256() -> Vec<u8> {
    let mut f = vec![0x82, 0x7e, 0x01, 0x00];
    f.extend(0..=255u8);
    f
}

/// A conversation in four pieces: the client's upgrade request with a frame right after it in
/// the same segment; the 101 with the server's frames in the same segment; the client's pong and
/// Close; the server's Close.
fn conversation() -> Vec<(bool, Vec<u8>)> {
    let ext = "permessage-deflate";
    let client_first = [upgrade_request(Some(ext)), MASKED_HELLO.to_vec()].concat();
    let server_first = [
        switching_response(Some(ext)),
        HELLO.to_vec(),
        PING_HELLO.to_vec(),
        DEFLATED_HELLO_1.to_vec(),
        HEL_LO.to_vec(),
        DEFLATED_HELLO_2.to_vec(),
        binary_256(),
    ]
    .concat();
    let client_then = [MASKED_PONG_HELLO, MASKED_CLOSE_1000].concat();
    vec![(true, client_first), (false, server_first), (true, client_then), (false, CLOSE_1000.to_vec())]
}

#[test]
fn an_upgraded_connection_gives_the_101_then_one_entry_per_message() {
    let entries = run_tcp(&conversation(), &settings(None));
    assert_eq!(
        summaries(&entries),
        vec![
            ("http", "GET /chat", Some("101")),
            ("websocket", "text 5 B: Hello", None),
            ("websocket", "text 5 B: Hello", None),
            ("websocket", "ping 5 B: Hello", None),
            ("websocket", "text 5 B: Hello", None),
            ("websocket", "text 5 B: Hello", None),
            ("websocket", "text 5 B: Hello", None),
            ("websocket", "binary 256 B", None),
            ("websocket", "pong 5 B: Hello", None),
            ("websocket", "close 1000 Normal Closure", Some("1000")),
            ("websocket", "close 1000 Normal Closure", Some("1000")),
        ]
    );
    let handshake = &entries[0];
    assert_eq!(handshake.response.as_ref().unwrap()["status"], 101);
    let ws = &entries[1..];
    for e in ws {
        let r = &e.request;
        assert_eq!(r["handshake"], handshake.id.as_str(), "{e:?}");
        assert_eq!((e.src.port, e.dst.port), (CLIENT.1, SERVER.1), "src/dst stay client/server: {e:?}");
        assert_eq!(e.response, None);
        assert_eq!(e.elapsed_us, None);
        assert_eq!(e.response_size, 0);
        assert_eq!(e.outcome, Outcome::Ok, "{e:?}");
        assert!(e.notes.is_empty(), "{e:?}");
    }
    let from: Vec<&str> = ws.iter().map(|e| e.request["from"].as_str().unwrap()).collect();
    let c = "client";
    let s = "server";
    assert_eq!(from, vec![c, s, s, s, s, s, s, c, c, s]);
    // The client's frame sent with its request waits for the switch; frames in the 101's segment
    // carry its time.
    let ts: Vec<u64> = ws.iter().map(|e| e.ts.0 / 1_000_000_000).collect();
    assert_eq!(ts, vec![2, 2, 2, 2, 2, 2, 2, 3, 3, 4]);
    let sizes: Vec<u64> = ws.iter().map(|e| e.request_size).collect();
    let wire = |f: &[u8]| f.len() as u64;
    assert_eq!(
        sizes,
        vec![
            wire(MASKED_HELLO),
            wire(HELLO),
            wire(PING_HELLO),
            wire(DEFLATED_HELLO_1),
            wire(HEL_LO),
            wire(DEFLATED_HELLO_2),
            260,
            wire(MASKED_PONG_HELLO),
            wire(MASKED_CLOSE_1000),
            wire(CLOSE_1000)
        ]
    );
    let compressed: Vec<bool> = ws.iter().map(|e| e.request["compressed"].as_bool().unwrap()).collect();
    assert_eq!(compressed, vec![false, false, false, true, false, true, false, false, false, false]);
    assert_eq!(ws[3].request["body"]["encoding"], "permessage-deflate");
    assert_eq!(ws[1].request["body"]["encoding"], Value::Null);
    assert_eq!(ws[4].request["frames"], 2);
    let binary = &ws[6].request["body"];
    assert_eq!((binary["size"].as_u64(), binary["truncated"].as_bool()), (Some(256), Some(false)));
    assert_eq!(body_bytes(binary), (0..=255u8).collect::<Vec<_>>());
    for e in &ws[..6] {
        assert_eq!(body_bytes(&e.request["body"]), b"Hello", "{e:?}");
    }
    let close = &ws[8].request["close"];
    assert_eq!(
        (close["code"].as_u64(), close["name"].as_str(), close["reason"].as_str()),
        (Some(1000), Some("Normal Closure"), Some(""))
    );
    assert!(ws[1].request.get("close").is_none());
}

#[test]
fn every_split_of_every_segment_gives_the_same_entries() {
    let pieces = conversation();
    let whole = run_tcp(&pieces, &settings(None));
    for (i, (_, bytes)) in pieces.iter().enumerate() {
        for cut in 1..bytes.len() {
            let mut split = pieces.clone();
            let (head, tail) = bytes.split_at(cut);
            split[i].1 = head.to_vec();
            split.insert(i + 1, (split[i].0, tail.to_vec()));
            let got = run_tcp(&split, &settings(None));
            // The split moves the capture time of what follows the cut by a second; all else stays.
            let strip = |es: &[Entry]| -> Vec<Entry> {
                es.iter().map(|e| Entry { ts: Timestamp::ZERO, elapsed_us: None, ..e.clone() }).collect()
            };
            assert_eq!(strip(&got), strip(&whole), "piece {i} cut at {cut}");
        }
    }
}

#[test]
fn byte_streams_give_the_same_entries_as_packets() {
    let pieces = conversation();
    let packets = run_tcp(&pieces, &settings(None));
    let protocols = settings(None);
    let config = EngineConfig { protocols: protocols.clone(), ..EngineConfig::default() };
    let mut engine = Engine::with_dissectors(config, registry::stream_dissectors(&protocols), vec![]);
    let key = StreamKey { client: (CLIENT.0.into(), CLIENT.1), server: (SERVER.0.into(), SERVER.1), conn_id: 1 };
    let mut entries = Vec::new();
    for (i, (from_client, bytes)) in pieces.iter().enumerate() {
        let dir = if *from_client { Direction::ClientToServer } else { Direction::ServerToClient };
        let input = StreamInput::Data { dir, data: bytes, ts: Timestamp((i as u64 + 1) * 1_000_000_000) };
        engine.stream_input(&key, false, input, &mut |e| entries.push(e));
    }
    engine.stream_close(&key, Timestamp(9_000_000_000), &mut |e| entries.push(e));
    assert_eq!(entries, packets);
}

#[test]
fn disabling_websocket_leaves_only_the_handshake() {
    let entries = run_tcp(&conversation(), &settings(Some(&["http"])));
    assert_eq!(summaries(&entries), vec![("http", "GET /chat", Some("101"))]);
}

/// A connection of the vectors: the 101 (with the extensions the case negotiated) and each
/// message's frames in the order its messages were completed, so the entries come in that order.
fn vector_pieces(case: &Value) -> Vec<(bool, Vec<u8>)> {
    let ext = case["extensions"].as_str();
    let streams = [unhex(case["client_hex"].as_str().unwrap()), unhex(case["server_hex"].as_str().unwrap())];
    let mut pieces = vec![(true, upgrade_request(ext)), (false, switching_response(ext))];
    let mut sent = [0usize, 0];
    for m in case["messages"].as_array().unwrap() {
        let side = usize::from(m["from"] == "server");
        let end = m["end_offset"].as_u64().unwrap() as usize;
        if end > sent[side] {
            pieces.push((side == 0, streams[side][sent[side]..end].to_vec()));
            sent[side] = end;
        }
    }
    assert_eq!(sent, [streams[0].len(), streams[1].len()], "{}: every byte sent", case["name"]);
    pieces
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn vector_cases() -> Vec<Value> {
    let mut json = String::new();
    flate2::read::GzDecoder::new(&include_bytes!("testdata/vectors.json.gz")[..]).read_to_string(&mut json).unwrap();
    let v: Value = serde_json::from_str(&json).unwrap();
    v["cases"].as_array().unwrap().clone()
}

#[test]
fn websockets_connections_give_the_messages_websockets_decoded() {
    let cases = vector_cases();
    let names: Vec<&str> = cases.iter().map(|c| c["name"].as_str().unwrap()).collect();
    for want in ["deflate_context_takeover", "deflate_client_no_context_takeover", "deflate_server_no_context_takeover"]
    {
        assert!(names.contains(&want), "{names:?}");
    }
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let entries = run_tcp(&vector_pieces(case), &settings(None));
        let messages = case["messages"].as_array().unwrap();
        assert_eq!(entries.len(), messages.len() + 1, "{name}: {:?}", summaries(&entries));
        assert_eq!((entries[0].protocol.as_str(), entries[0].status.as_deref()), ("http", Some("101")));
        let mut closes_seen = 0;
        for (i, (e, m)) in entries[1..].iter().zip(messages).enumerate() {
            let at = format!("{name} message {i}: {}", e.summary);
            let r = &e.request;
            assert_eq!(e.protocol, "websocket", "{at}");
            assert_eq!(r["from"], m["from"], "{at}");
            assert_eq!(r["opcode"], m["opcode"], "{at}");
            assert_eq!(r["frames"], m["frames"], "{at}");
            assert_eq!(r["compressed"], m["compressed"], "{at}");
            assert_eq!(r["handshake"], entries[0].id.as_str(), "{at}");
            assert_eq!(Some(e.request_size), m["wire_len"].as_u64(), "{at}");
            let payload = unhex(m["payload_hex"].as_str().unwrap());
            assert_eq!(r["body"]["size"].as_u64(), Some(payload.len() as u64), "{at}");
            assert_eq!(r["body"]["truncated"], false, "{at}");
            assert!(body_bytes(&r["body"]) == payload, "{at}: payload differs");
            assert!(e.notes.is_empty(), "{at}: {:?}", e.notes);
            assert_eq!(e.outcome, Outcome::Ok, "{at}");
            if m["opcode"] == "close" {
                closes_seen += 1;
                let code = m["close_code"].as_u64();
                assert_eq!(r["close"]["code"].as_u64(), code, "{at}");
                assert_eq!(r["close"]["reason"], m["close_reason"], "{at}");
                assert_eq!(e.status, code.map(|c| c.to_string()), "{at}");
                let name = code.and_then(|c| code_name(c as u16));
                assert_eq!(r["close"]["name"].as_str(), name, "{at}");
            } else {
                assert_eq!(e.status, None, "{at}");
            }
        }
        if name.starts_with("close") {
            assert!(closes_seen > 0, "{name}");
        }
    }
}

#[test]
fn a_failing_close_is_counted_once_and_a_cut_message_is_an_error() {
    // The server closes with 1011 (its own internal error, RFC 6455 section 7.4.1); the client
    // echoes it. Then the server starts a text message whose end never comes.
    let close_1011: &[u8] = &[0x88, 0x06, 0x03, 0xf3, b'o', b'o', b'p', b's'];
    let echo_1011: &[u8] = &[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xf3];
    let pieces = vec![
        (true, upgrade_request(None)),
        (false, [switching_response(None), close_1011.to_vec()].concat()),
        (true, echo_1011.to_vec()),
        (false, HEL_LO[..5].to_vec()),
    ];
    let entries = run_tcp(&pieces, &settings(None));
    assert_eq!(
        summaries(&entries),
        vec![
            ("http", "GET /chat", Some("101")),
            ("websocket", "close 1011 Internal Error: oops", Some("1011")),
            ("websocket", "close 1011 Internal Error", Some("1011")),
            ("websocket", "text 3 B: Hel", None),
        ]
    );
    let outcomes: Vec<Outcome> = entries[1..].iter().map(|e| e.outcome).collect();
    assert_eq!(outcomes, vec![Outcome::ServerError, Outcome::Ok, Outcome::Error]);
    assert_eq!(entries[3].request["body"]["truncated"], true);
    assert_eq!(entries[3].request["frames"], 1);
    // Frames after a Close are still reported, with a note.
    assert_eq!(
        entries[3].notes,
        vec!["frame after this peer's Close".to_owned(), "stream ended before the message's final fragment".to_owned()]
    );
    assert!(entries[1].notes.is_empty() && entries[2].notes.is_empty());
}

#[test]
fn payloads_are_kept_up_to_the_body_limit_and_counted_whole() {
    let protocols = ProtocolSettings { body_limit: 100, ..settings(None) };
    let pieces =
        vec![(true, upgrade_request(None)), (false, [switching_response(None), binary_256(), HELLO.to_vec()].concat())];
    let entries = run_tcp(&pieces, &protocols);
    assert_eq!(summaries(&entries)[1..], [("websocket", "binary 256 B", None), ("websocket", "text 5 B: Hello", None)]);
    let body = &entries[1].request["body"];
    assert_eq!((body["size"].as_u64(), body["truncated"].as_bool()), (Some(256), Some(true)));
    assert_eq!(body_bytes(body), (0..100u8).collect::<Vec<_>>());
    assert_eq!(entries[1].notes, vec!["payload truncated at 100 bytes".to_owned()]);
    assert_eq!(entries[1].outcome, Outcome::Ok, "delivered, only not all kept");
    assert_eq!(entries[1].request_size, 260);
}

#[test]
fn summaries_show_the_start_of_text_with_controls_escaped() {
    let text = format!("{{\"op\":\"line\\n\",\"pad\":\"{}\"}}\n", "é".repeat(100));
    let mut frame = vec![0x81, 0x7e];
    frame.extend((text.len() as u16).to_be_bytes());
    frame.extend(text.as_bytes());
    let pieces = vec![(true, upgrade_request(None)), (false, [switching_response(None), frame].concat())];
    let entries = run_tcp(&pieces, &settings(None));
    let shown: String = text.chars().take(super::SUMMARY_CHARS).collect();
    assert_eq!(entries[1].summary, format!("text {} B: {}…", text.len(), shown.replace('\n', "\\n")));
    assert!(entries[1].summary.starts_with("text 225 B: {\"op\":\"line\\n\",\"pad\":\"éé"), "{}", entries[1].summary);
    assert_eq!(entries[1].request["body"]["text"], text.as_str());
}

#[test]
fn a_gap_between_frames_stops_that_direction_only() {
    // Server frames are lost between two messages: the framing of that direction cannot be
    // followed any more; the client's messages still are.
    let protocols = settings(None);
    let config = EngineConfig { protocols: protocols.clone(), ..EngineConfig::default() };
    let mut engine = Engine::with_dissectors(config, registry::stream_dissectors(&protocols), vec![]);
    let key = StreamKey { client: (CLIENT.0.into(), CLIENT.1), server: (SERVER.0.into(), SERVER.1), conn_id: 1 };
    let mut entries = Vec::new();
    let mut input = |input: StreamInput<'_>, entries: &mut Vec<Entry>| {
        engine.stream_input(&key, false, input, &mut |e| entries.push(e));
    };
    let (c, s) = (Direction::ClientToServer, Direction::ServerToClient);
    let t = Timestamp(1);
    input(StreamInput::Data { dir: c, data: &upgrade_request(None), ts: t }, &mut entries);
    input(
        StreamInput::Data { dir: s, data: &[switching_response(None), HELLO.to_vec()].concat(), ts: t },
        &mut entries,
    );
    input(StreamInput::Gap { dir: s, len: 7 }, &mut entries);
    input(StreamInput::Data { dir: s, data: HELLO, ts: t }, &mut entries);
    input(StreamInput::Data { dir: c, data: MASKED_HELLO, ts: t }, &mut entries);
    engine.stream_close(&key, Timestamp(2), &mut |e| entries.push(e));
    let got: Vec<_> = entries.iter().map(|e| (e.summary.as_str(), e.request["from"].as_str())).collect();
    assert_eq!(
        got,
        vec![("GET /chat", None), ("text 5 B: Hello", Some("server")), ("text 5 B: Hello", Some("client"))]
    );
}

#[test]
fn without_the_handshake_compressed_messages_that_need_history_are_not_guessed() {
    use crate::dissect::{FlowInfo, StreamDissector};
    let d = super::WebSocketDissector::default();
    let flow = FlowInfo { server_port: 8080, client_port: 40000, saw_handshake: false };
    assert_eq!(d.probe(&flow, HELLO), crate::dissect::Probe::No);
    // RFC 7692 section 7.2.3.2's second message refers to the first: alone it cannot be inflated.
    let mut s = d.new_session(&flow);
    let mut out = Vec::new();
    s.on_data(Direction::ServerToClient, DEFLATED_HELLO_2, Timestamp(1), &mut out);
    s.on_data(Direction::ServerToClient, DEFLATED_HELLO_1, Timestamp(1), &mut out);
    s.on_close(Timestamp(2), &mut out);
    assert_eq!(s.buffered_bytes(), 0);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].request["handshake"], Value::Null);
    assert!(out[0].notes.iter().any(|n| n.contains("handshake not captured")), "{:?}", out[0].notes);
    assert!(out[0].notes.iter().any(|n| n.contains("earlier messages not captured")), "{:?}", out[0].notes);
    assert_ne!(out[0].request["body"]["text"], "Hello");
    // A message that needs no history inflates.
    assert_eq!(out[1].summary, "text 5 B: Hello");
}
