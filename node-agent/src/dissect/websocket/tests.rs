//! The assembler against an independent implementation and the RFC, at every split.
//!
//! testdata/vectors.json.gz is written by testdata/generate.py: connections made by the Python
//! `websockets` package's sans-I/O protocol, with the messages its receiving side decoded (see the
//! script). Nothing here needs Python.

use super::deflate::InflateError;
use super::*;
use crate::dissect::Direction;
use crate::time::Timestamp;
use serde_json::Value;
use std::io::Read;

const VECTORS: &[u8] = include_bytes!("testdata/vectors.json.gz");

fn vectors() -> Value {
    let mut json = String::new();
    flate2::read::GzDecoder::new(VECTORS).read_to_string(&mut json).unwrap();
    serde_json::from_str(&json).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2));
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn dir_of(side: &str) -> Direction {
    match side {
        "client" => Direction::ClientToServer,
        "server" => Direction::ServerToClient,
        other => panic!("side {other}"),
    }
}

fn opcode_of(name: &str) -> Opcode {
    match name {
        "text" => Opcode::Text,
        "binary" => Opcode::Binary,
        "close" => Opcode::Close,
        "ping" => Opcode::Ping,
        "pong" => Opcode::Pong,
        other => panic!("opcode {other}"),
    }
}

/// One generated connection.
struct Case {
    name: String,
    extensions: Extensions,
    streams: [Vec<u8>; 2],
    expected: Vec<Value>,
    midstream: Vec<Value>,
}

fn cases() -> Vec<Case> {
    let v = vectors();
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().unwrap().to_owned(),
            extensions: parse_extensions(c["extensions"].as_str().unwrap_or("")),
            streams: [unhex(c["client_hex"].as_str().unwrap()), unhex(c["server_hex"].as_str().unwrap())],
            expected: c["messages"].as_array().unwrap().clone(),
            midstream: c["midstream"].as_array().unwrap().clone(),
        })
        .collect()
}

const ROOMY: Limits = Limits { max_kept: 1 << 20, max_inflated: 16 << 20 };

/// Feeds `stream` cut at `cuts` (increasing offsets), then finishes.
fn run(case: &Case, dir: Direction, stream: &[u8], cuts: &[usize], limits: Limits) -> Vec<Message> {
    let mut a = MessageAssembler::for_extensions(dir, &case.extensions, limits);
    let mut out = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&stream.len())) {
        a.feed(&stream[start..cut], Timestamp(7), &mut out);
        assert!(a.buffered_bytes() <= limits.max_buffered(), "{}: {} buffered", case.name, a.buffered_bytes());
        start = cut;
    }
    assert!(a.desync().is_none(), "{}: {:?}", case.name, a.desync());
    assert!(!a.in_message(), "{}: stream ends inside a message", case.name);
    a.finish(&mut out);
    assert_eq!(a.buffered_bytes(), 0);
    out
}

fn check_against_expected(case: &Case, dir: Direction, got: &[Message]) {
    let expected: Vec<&Value> = case.expected.iter().filter(|m| dir_of(m["from"].as_str().unwrap()) == dir).collect();
    assert_eq!(got.len(), expected.len(), "{} {dir:?}: message count", case.name);
    for (i, (m, e)) in got.iter().zip(&expected).enumerate() {
        let ctx = format!("{} {dir:?} message {i}", case.name);
        let payload = unhex(e["payload_hex"].as_str().unwrap());
        assert_eq!(m.from, dir, "{ctx}");
        assert_eq!(m.opcode, opcode_of(e["opcode"].as_str().unwrap()), "{ctx}");
        assert!(m.payload == payload, "{ctx}: payload differs ({} vs {} bytes)", m.payload.len(), payload.len());
        assert_eq!(m.payload_len, payload.len() as u64, "{ctx}");
        assert_eq!(m.frames, e["frames"].as_u64().unwrap(), "{ctx}");
        assert_eq!(m.wire_len, e["wire_len"].as_u64().unwrap(), "{ctx}");
        assert_eq!(m.compressed, e["compressed"].as_bool().unwrap(), "{ctx}");
        assert_eq!(m.start_offset, e["start_offset"].as_u64().unwrap(), "{ctx}");
        assert_eq!(m.end_offset, e["end_offset"].as_u64().unwrap(), "{ctx}");
        assert!(!m.truncated, "{ctx}");
        assert!(m.notes.is_empty(), "{ctx}: {:?}", m.notes);
        if m.opcode == Opcode::Text {
            assert_eq!(m.text().map(str::as_bytes), Some(&payload[..]), "{ctx}");
        }
        match &m.close {
            Some(c) => {
                assert_eq!(c.code.map(u64::from), e["close_code"].as_u64(), "{ctx}");
                assert_eq!(c.reason, e["close_reason"].as_str().unwrap(), "{ctx}");
            }
            None => assert!(e.get("close_code").is_none(), "{ctx}"),
        }
    }
}

#[test]
fn the_fixture_covers_what_it_should() {
    let cases = cases();
    let all: Vec<&Value> = cases.iter().flat_map(|c| &c.expected).collect();
    for n in [0, 125, 126, 65535, 65536, 200000] {
        for op in ["text", "binary"] {
            for side in ["client", "server"] {
                assert!(
                    all.iter().any(|m| m["opcode"] == op
                        && m["from"] == side
                        && m["payload_hex"].as_str().unwrap().len() == 2 * n),
                    "{op} of {n} bytes from the {side}"
                );
            }
        }
    }
    assert!(all.iter().any(|m| m["frames"].as_u64().unwrap() > 2 && m["compressed"] == true));
    let exts: Vec<&Extensions> = cases.iter().map(|c| &c.extensions).collect();
    assert!(exts.iter().any(|e| e.deflate.is_some_and(|d| d.client_no_context_takeover)));
    assert!(exts.iter().any(|e| e.deflate.is_some_and(|d| d.server_no_context_takeover)));
    assert!(exts
        .iter()
        .any(|e| e.deflate.is_some_and(|d| !d.server_no_context_takeover && !d.client_no_context_takeover)));
    let server_bits = exts.iter().find_map(|e| e.deflate.filter(|d| d.server_no_context_takeover)).unwrap();
    assert_eq!((server_bits.server_max_window_bits, server_bits.client_max_window_bits), (10, 9));
    assert!(exts.iter().all(|e| e.problems.is_empty() && e.others.is_empty()));
}

#[test]
fn websockets_connections_decode_as_websockets_decoded_them() {
    for case in cases() {
        for dir in [Direction::ClientToServer, Direction::ServerToClient] {
            let stream = &case.streams[dir.index()];
            let got = run(&case, dir, stream, &[], ROOMY);
            check_against_expected(&case, dir, &got);
        }
    }
}

/// Cut points: every offset for small streams; for large ones every offset in and around each
/// message's first header, around its end, and a stride through the payloads (a bytewise run
/// covers every offset too).
fn split_points(case: &Case, dir: Direction) -> Vec<usize> {
    let len = case.streams[dir.index()].len();
    if len <= 1024 {
        return (0..=len).collect();
    }
    let mut points: Vec<usize> = (0..=len).step_by(4999).collect();
    for m in &case.expected {
        if dir_of(m["from"].as_str().unwrap()) != dir {
            continue;
        }
        let (start, end) = (m["start_offset"].as_u64().unwrap() as usize, m["end_offset"].as_u64().unwrap() as usize);
        points.extend(start.saturating_sub(2)..=(start + 15).min(len));
        points.extend(end.saturating_sub(2)..=(end + 2).min(len));
    }
    points.sort_unstable();
    points.dedup();
    points
}

#[test]
fn every_split_gives_the_same_messages() {
    for case in cases() {
        for dir in [Direction::ClientToServer, Direction::ServerToClient] {
            let stream = &case.streams[dir.index()];
            let whole = run(&case, dir, stream, &[], ROOMY);
            if stream.len() > 256 << 10 && case.extensions.deflate.is_none() {
                // Large and uncompressed: each message alone, cut near its ends and through it
                // (a whole-stream run per cut would take minutes in a debug build).
                for m in &whole {
                    let (start, end) = (m.start_offset as usize, m.end_offset as usize);
                    assert_eq!(m.frames, 1);
                    let alone = &stream[start..end];
                    let shifted = Message { start_offset: 0, end_offset: (end - start) as u64, ..m.clone() };
                    let cuts = (0..=alone.len()).filter(|&c| c < 16 || alone.len() - c < 16 || c % 4999 == 0);
                    for cut in cuts {
                        let got = run(&case, dir, alone, &[cut], ROOMY);
                        assert!(got == [shifted.clone()], "{} {dir:?} message at {start} cut at {cut}", case.name);
                    }
                }
            } else {
                for cut in split_points(&case, dir) {
                    assert!(run(&case, dir, stream, &[cut], ROOMY) == whole, "{} {dir:?} cut at {cut}", case.name);
                }
            }
            let bytewise: Vec<usize> = (1..stream.len()).collect();
            assert!(run(&case, dir, stream, &bytewise, ROOMY) == whole, "{} {dir:?} bytewise", case.name);
        }
    }
}

#[test]
fn limits_keep_a_prefix_and_count_the_rest() {
    let limits = Limits { max_kept: 1000, max_inflated: 100_000 };
    for case in cases() {
        for dir in [Direction::ClientToServer, Direction::ServerToClient] {
            let full = run(&case, dir, &case.streams[dir.index()], &[], ROOMY);
            let cut = run(&case, dir, &case.streams[dir.index()], &[], limits);
            let bytewise: Vec<usize> = (1..case.streams[dir.index()].len()).collect();
            assert!(run(&case, dir, &case.streams[dir.index()], &bytewise, limits) == cut, "{} {dir:?}", case.name);
            assert_eq!(full.len(), cut.len());
            let takeover = case.extensions.deflate.is_some_and(|d| d.inflate_params(dir).context_takeover);
            let mut history_lost = false;
            for (f, c) in full.iter().zip(&cut) {
                let ctx = format!("{} {dir:?} at {}", case.name, f.start_offset);
                assert_eq!(
                    (c.opcode, c.frames, c.wire_len, c.compressed),
                    (f.opcode, f.frames, f.wire_len, f.compressed)
                );
                if history_lost && c.compressed && c.notes.contains(&InflateError::MissingHistory.to_string()) {
                    // After a capped message under context takeover, a message may refer to the
                    // part of the window that was not inflated: reported, not inflated wrongly.
                    assert!(c.truncated && f.payload.starts_with(&c.payload), "{ctx}");
                    continue;
                }
                let over_cap = c.compressed && f.payload_len > limits.max_inflated;
                let kept = (f.payload.len()).min(limits.max_kept);
                assert_eq!(c.payload, f.payload[..kept], "{ctx}");
                assert_eq!(c.truncated, f.payload.len() > limits.max_kept, "{ctx}");
                if over_cap {
                    assert_eq!(c.payload_len, limits.max_inflated, "{ctx}");
                    assert_eq!(c.notes, vec![InflateError::OverLimit(limits.max_inflated).to_string()], "{ctx}");
                    history_lost = takeover;
                } else {
                    assert_eq!(c.payload_len, f.payload_len, "{ctx}");
                    assert!(c.notes.is_empty(), "{ctx}: {:?}", c.notes);
                }
            }
        }
    }
}

#[test]
fn mid_connection_start_reports_what_cannot_be_inflated() {
    let mut checked = (0, 0);
    for case in cases() {
        for mid in &case.midstream {
            let dir = dir_of(mid["from"].as_str().unwrap());
            let from = mid["start_offset"].as_u64().unwrap() as usize;
            let stream = &case.streams[dir.index()][from..];
            for cuts in [vec![], (1..stream.len()).collect::<Vec<_>>()] {
                let mut a = MessageAssembler::for_extensions(dir, &case.extensions, ROOMY);
                a.assume_mid_connection();
                let mut out = Vec::new();
                let mut start = 0;
                for &cut in cuts.iter().chain(std::iter::once(&stream.len())) {
                    a.feed(&stream[start..cut], Timestamp(1), &mut out);
                    start = cut;
                }
                let compressed: Vec<&Message> = out.iter().filter(|m| m.compressed).collect();
                let expected = mid["messages"].as_array().unwrap();
                assert_eq!(compressed.len(), expected.len(), "{}", case.name);
                for (m, e) in compressed.iter().zip(expected) {
                    let ctx = format!("{} {dir:?} message {}", case.name, e["message"]);
                    if e["ok"].as_bool().unwrap() {
                        assert_eq!(m.payload, unhex(e["payload_hex"].as_str().unwrap()), "{ctx}");
                        assert!(!m.truncated && m.notes.is_empty(), "{ctx}: {:?}", m.notes);
                        checked.0 += 1;
                    } else {
                        assert!(m.truncated, "{ctx}");
                        assert_eq!(m.notes, vec![InflateError::MissingHistory.to_string()], "{ctx}");
                        checked.1 += 1;
                    }
                }
            }
        }
    }
    assert!(checked.0 > 0 && checked.1 > 0, "{checked:?}");
}

// Hand-made streams: the RFC's examples and what the RFC forbids.

fn assemble(dir: Direction, deflate: Option<InflateParams>, limits: Limits, stream: &[u8]) -> Vec<Message> {
    let whole = {
        let mut a = MessageAssembler::new(dir, deflate, limits);
        let mut out = Vec::new();
        a.feed(stream, Timestamp(1), &mut out);
        a.finish(&mut out);
        out
    };
    for cut in 0..=stream.len() {
        let mut a = MessageAssembler::new(dir, deflate, limits);
        let mut out = Vec::new();
        a.feed(&stream[..cut], Timestamp(1), &mut out);
        a.feed(&stream[cut..], Timestamp(1), &mut out);
        a.finish(&mut out);
        assert_eq!(out, whole, "cut at {cut}");
    }
    whole
}

const SERVER: Direction = Direction::ServerToClient;
const CLIENT: Direction = Direction::ClientToServer;
const TAKEOVER: Option<InflateParams> = Some(InflateParams { context_takeover: true, window_bits: 15 });

fn summary(m: &Message) -> (Opcode, &[u8], u64, bool, Vec<&str>) {
    (m.opcode, &m.payload[..], m.frames, m.truncated, m.notes.iter().map(String::as_str).collect())
}

#[test]
fn rfc6455_section_5_7_examples() {
    let stream = [
        &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f][..],
        &[0x01, 0x03, 0x48, 0x65, 0x6c],
        &[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f], // a ping between the fragments
        &[0x80, 0x02, 0x6c, 0x6f],
    ]
    .concat();
    let out = assemble(SERVER, None, ROOMY, &stream);
    let got: Vec<_> = out.iter().map(summary).collect();
    assert_eq!(
        got,
        vec![
            (Opcode::Text, &b"Hello"[..], 1, false, vec![]),
            (Opcode::Ping, b"Hello", 1, false, vec![]),
            (Opcode::Text, b"Hello", 2, false, vec![]),
        ]
    );
    assert_eq!((out[2].start_offset, out[2].end_offset, out[2].wire_len), (7, 23, 9));
    let out = assemble(CLIENT, None, ROOMY, &[0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    assert_eq!(out.iter().map(summary).collect::<Vec<_>>(), vec![(Opcode::Pong, &b"Hello"[..], 1, false, vec![])]);
}

#[test]
fn rfc7692_section_7_2_3_examples() {
    let stream = [
        &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00][..],
        &[0x41, 0x03, 0xf2, 0x48, 0xcd], // fragmented
        &[0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00],
        &[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00], // the shared window
        &[0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00], // stored block
        &[0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00], // two blocks
    ]
    .concat();
    let out = assemble(SERVER, TAKEOVER, ROOMY, &stream);
    assert_eq!(out.len(), 5);
    for m in &out {
        assert_eq!((m.text(), m.compressed, m.truncated, m.payload_len), (Some("Hello"), true, false, 5), "{m:?}");
        assert!(m.notes.is_empty(), "{:?}", m.notes);
    }
    // Without context takeover the shared-window message cannot be inflated.
    let no_takeover = Some(InflateParams { context_takeover: false, window_bits: 15 });
    let out = assemble(SERVER, no_takeover, ROOMY, &stream);
    assert_eq!(out[2].notes, vec![InflateError::Invalid.to_string()]);
    assert!(out[2].truncated);
    assert_eq!(out[3].text(), Some("Hello"));
}

#[test]
fn violations_are_notes() {
    // Unmasked client frame, masked server frame.
    let out = assemble(CLIENT, None, ROOMY, &[0x82, 0x01, 0xaa]);
    assert_eq!(summary(&out[0]), (Opcode::Binary, &[0xaa][..], 1, false, vec!["client frame not masked"]));
    let out = assemble(SERVER, None, ROOMY, &[0x82, 0x81, 1, 2, 3, 4, 0xab]);
    assert_eq!(summary(&out[0]), (Opcode::Binary, &[0xaa][..], 1, false, vec!["server frame masked"]));
    // Non-minimal length, RSV bits without an extension, reserved opcodes.
    let out = assemble(SERVER, None, ROOMY, &[0xf2, 0x7e, 0x00, 0x01, 0x61, 0x83, 0x00, 0x8c, 0x01, 0x7f]);
    assert_eq!(
        out.iter().map(summary).collect::<Vec<_>>(),
        vec![
            (
                Opcode::Binary,
                &b"a"[..],
                1,
                false,
                vec![
                    "payload length 1 not minimally encoded (4-byte header)",
                    "RSV1 set without permessage-deflate",
                    "RSV2/RSV3 set (no extension known to use them)"
                ]
            ),
            (Opcode::Reserved(3), b"", 1, false, vec!["reserved opcode 0x3"]),
            (Opcode::Reserved(0xc), b"\x7f", 1, false, vec!["reserved opcode 0xc"]),
        ]
    );
    // A fragmented ping of 126 bytes, between two fragments.
    let mut stream = vec![0x01, 0x01, b'a', 0x09, 0x7e, 0x00, 0x7e];
    stream.extend([b'p'; 126]);
    stream.extend([0x80, 0x01, b'b']);
    let out = assemble(SERVER, None, ROOMY, &stream);
    assert_eq!(out[0].opcode, Opcode::Ping);
    assert_eq!(
        out[0].notes,
        vec!["control frame of 126 bytes (at most 125 allowed)", "fragmented control frame (FIN not set)"]
    );
    assert_eq!(out[0].payload.len(), 126);
    assert_eq!(summary(&out[1]), (Opcode::Text, &b"ab"[..], 2, false, vec![]));
}

#[test]
fn fragment_sequence_errors() {
    // A new message before the previous one's last fragment; a continuation with no start.
    let out = assemble(SERVER, None, ROOMY, &[0x01, 0x01, b'a', 0x81, 0x01, b'b', 0x80, 0x01, b'c']);
    assert_eq!(
        out.iter().map(summary).collect::<Vec<_>>(),
        vec![
            (Opcode::Text, &b"a"[..], 1, true, vec!["a new message started before this one's final fragment"]),
            (Opcode::Text, b"b", 1, false, vec![]),
            (
                Opcode::Continuation,
                b"c",
                1,
                true,
                vec!["continuation without a first fragment (message began before the capture)"]
            ),
        ]
    );
    // RSV1 on a continuation frame under permessage-deflate: reported; the message is inflated.
    let out = assemble(SERVER, TAKEOVER, ROOMY, &[0x41, 0x03, 0xf2, 0x48, 0xcd, 0xc0, 0x04, 0xc9, 0xc9, 0x07, 0x00]);
    assert_eq!(summary(&out[0]), (Opcode::Text, &b"Hello"[..], 2, false, vec!["RSV1 set on a continuation frame"]));
}

#[test]
fn text_and_close_validation() {
    // Invalid UTF-8 across fragments (an overlong encoding), a code point cut at the end.
    let out = assemble(SERVER, None, ROOMY, &[0x01, 0x02, b'o', 0xc0, 0x80, 0x01, 0xaf, 0x81, 0x02, b'x', 0xe2]);
    assert_eq!(out[0].notes, vec!["text is not valid UTF-8 (at payload byte 1)"]);
    assert_eq!(out[0].text(), None);
    assert_eq!(out[1].notes, vec!["text is not valid UTF-8 (at payload byte 1)"]);
    // Over the keep limit the whole text is still validated; the kept prefix reads up to its cut.
    let limits = Limits { max_kept: 2, ..ROOMY };
    let out = assemble(SERVER, None, limits, &[0x81, 0x04, b'a', 0xe2, 0x82, 0xac, 0x81, 0x03, b'a', b'b', 0xe2]);
    assert_eq!((out[0].truncated, out[0].notes.len(), out[0].text()), (true, 0, Some("a")));
    assert_eq!((out[1].truncated, out[1].text()), (true, Some("ab")));
    assert_eq!(out[1].notes, vec!["text is not valid UTF-8 (at payload byte 2)"]);
    // Close: code and reason, an invalid code, a 1-byte body, frames after a Close.
    let out = assemble(
        SERVER,
        None,
        ROOMY,
        &[0x88, 0x05, 0x03, 0xe8, b'b', b'y', b'e', 0x88, 0x02, 0x03, 0xee, 0x88, 0x01, 0x03],
    );
    let close = out[0].close.as_ref().unwrap();
    assert_eq!((close.code, close.reason.as_str(), out[0].notes.len()), (Some(1000), "bye", 0));
    assert_eq!(out[1].close.as_ref().unwrap().code, Some(1006));
    assert_eq!(out[1].notes, vec!["frame after this peer's Close", "close code 1006 must not be sent"]);
    assert_eq!(out[2].close.as_ref().unwrap().code, None);
    assert_eq!(out[2].notes[1], "close body of 1 byte (a status code needs 2)");
}

#[test]
fn huge_frames_stream_through_bounded() {
    // A binary frame announcing 2^62 bytes: 3 MiB of it arrives, the rest never does.
    let limits = Limits { max_kept: 1000, max_inflated: 4096 };
    let mut a = MessageAssembler::new(SERVER, TAKEOVER, limits);
    let mut out = Vec::new();
    a.feed(&[0x82, 0x7f, 0x40, 0, 0, 0, 0, 0, 0, 0], Timestamp(1), &mut out);
    let chunk = vec![0x55u8; 64 << 10];
    for _ in 0..48 {
        a.feed(&chunk, Timestamp(2), &mut out);
        assert!(a.buffered_bytes() <= limits.max_buffered());
    }
    assert!(out.is_empty());
    a.finish(&mut out);
    assert_eq!(a.buffered_bytes(), 0);
    let m = &out[0];
    // On the wire: the header and the 3 MiB that came, not the 2^62 bytes announced.
    assert_eq!((m.payload.len(), m.payload_len, m.truncated, m.wire_len), (1000, 3 << 20, true, (3 << 20) + 10));
    assert_eq!((m.start_offset, m.end_offset), (0, (3 << 20) + 10));
    assert_eq!((m.first_ts, m.last_ts), (Timestamp(1), Timestamp(2)));
    assert_eq!(m.notes, vec!["stream ended inside the frame"]);
}

#[test]
fn decompression_bomb_is_capped() {
    use flate2::write::DeflateEncoder;
    use std::io::Write;
    let mut enc = DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&vec![b'z'; 8 << 20]).unwrap();
    let mut body = enc.finish().unwrap();
    let mut stream = vec![0xc2, 0x7e];
    stream.extend((body.len() as u16).to_be_bytes());
    stream.append(&mut body);
    let limits = Limits { max_kept: 100, max_inflated: 1 << 20 };
    let mut a = MessageAssembler::new(SERVER, TAKEOVER, limits);
    let mut out = Vec::new();
    a.feed(&stream, Timestamp(1), &mut out);
    let m = &out[0];
    assert_eq!((m.payload.len(), m.payload_len, m.truncated), (100, 1 << 20, true));
    assert_eq!(m.notes, vec!["inflated size over the 1048576-byte limit"]);
    assert!(a.buffered_bytes() <= limits.max_buffered());
}

#[test]
fn gaps_inside_payloads_keep_the_framing() {
    let mut a = MessageAssembler::new(SERVER, None, ROOMY);
    let mut out = Vec::new();
    a.feed(&[0x82, 0x0a, 1, 2, 3], Timestamp(1), &mut out);
    a.gap(4, &mut out);
    a.feed(&[8, 9, 10, 0x89, 0x00], Timestamp(2), &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(summary(&out[0]), (Opcode::Binary, &[1u8, 2, 3][..], 1, true, vec!["4 payload bytes not captured"]));
    assert_eq!(out[0].payload_len, 10);
    assert_eq!(out[1].opcode, Opcode::Ping);
    assert!(a.desync().is_none());
    // A gap where a header was expected loses the framing for good.
    a.gap(3, &mut out);
    assert_eq!(a.desync(), Some(&Desync { offset: 14, reason: DesyncReason::Gap { len: 3 } }));
    a.feed(&[0x81, 0x00], Timestamp(3), &mut out);
    assert_eq!((out.len(), a.offset()), (2, 19));
}

#[test]
fn a_gap_in_a_compressed_message_loses_the_window() {
    let stream =
        [&[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00][..], &[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00]]
            .concat();
    let mut a = MessageAssembler::new(SERVER, TAKEOVER, ROOMY);
    let mut out = Vec::new();
    a.feed(&stream[..4], Timestamp(1), &mut out);
    a.gap(2, &mut out);
    a.feed(&stream[6..], Timestamp(1), &mut out);
    assert_eq!(out[0].notes, vec!["compressed data lost in a capture gap", "2 payload bytes not captured"]);
    assert_eq!(out[1].notes, vec![InflateError::MissingHistory.to_string()]);
}

#[test]
fn bad_length_loses_the_framing() {
    let mut a = MessageAssembler::new(SERVER, None, ROOMY);
    let mut out = Vec::new();
    a.feed(&[0x01, 0x01, b'a', 0x80, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x81, 0x00], Timestamp(1), &mut out);
    assert_eq!(out.len(), 1);
    assert!(out[0].truncated);
    assert!(out[0].notes[0].starts_with("framing lost at stream offset 3: 64-bit payload length"));
    assert!(matches!(
        a.desync(),
        Some(Desync { offset: 3, reason: DesyncReason::Frame(FrameError::LengthTooLarge(_)) })
    ));
    assert_eq!(a.offset(), 15);
}

/// Assembler throughput in MB/s of wire bytes; run with
/// `cargo test --release --lib dissect::websocket::tests::assembler_throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn assembler_throughput() {
    use flate2::{Compress, FlushCompress};
    fn measure(name: &str, dir: Direction, deflate: Option<InflateParams>, stream: &[u8], limits: Limits) {
        let rounds = 8;
        let start = std::time::Instant::now();
        let mut count = 0;
        for _ in 0..rounds {
            let mut a = MessageAssembler::new(dir, deflate, limits);
            let mut out = Vec::new();
            for chunk in stream.chunks(1460) {
                a.feed(chunk, Timestamp(0), &mut out);
            }
            count += out.len();
        }
        let secs = start.elapsed().as_secs_f64();
        println!("{name}: {:.0} MB/s ({count} messages)", (stream.len() * rounds) as f64 / 1e6 / secs);
    }
    let text: Vec<u8> = (0..64 << 10).map(|i| b"websocket payload "[i % 18]).collect();
    let key = [0x11, 0x22, 0x33, 0x44];
    let mut masked = Vec::new();
    for _ in 0..256 {
        masked.extend([0x81, 0xff, 0, 0, 0, 0, 0, 1, 0, 0]);
        masked.extend(key);
        let start = masked.len();
        masked.extend(&text);
        mask::apply_mask(&mut masked[start..], key, 0);
    }
    measure("masked 64 KiB text frames, all kept and validated", CLIENT, None, &masked, ROOMY);
    let small = Limits { max_kept: 256, ..ROOMY };
    let binary: Vec<u8> =
        masked.iter().enumerate().map(|(i, b)| if i % (text.len() + 14) == 0 { 0x82 } else { *b }).collect();
    measure("masked 64 KiB binary frames, 256 bytes kept", CLIENT, None, &binary, small);
    let mut c = Compress::new(flate2::Compression::default(), false);
    let mut compressed = Vec::new();
    let mut inflated = 0;
    for i in 0..256 {
        let msg: Vec<u8> = format!("{{\"seq\": {i}, \"items\": [")
            .into_bytes()
            .into_iter()
            .chain((0..2000).flat_map(|j| format!("{{\"id\": {}, \"v\": \"{}\"}},", j * i % 997, j % 13).into_bytes()))
            .collect();
        inflated += msg.len();
        let mut wire = Vec::with_capacity(msg.len() + 1024);
        c.compress_vec(&msg, &mut wire, FlushCompress::Sync).unwrap();
        wire.truncate(wire.len() - 4);
        compressed.extend([0xc1, 0x7f]);
        compressed.extend((wire.len() as u64).to_be_bytes());
        compressed.extend(wire);
    }
    println!("deflate stream: {} wire bytes for {} inflated", compressed.len(), inflated);
    measure("server permessage-deflate JSON (wire MB/s)", SERVER, TAKEOVER, &compressed, ROOMY);
}
