//! Tests against the RESP specification's examples and against conversations recorded from a real
//! redis-server 7 with redis-py (testdata/record.py): the oracle is the client's own record of
//! what it sent and got (testdata/<name>.oracle.json), never this dissector's output.

use super::resp::{Aggregate, Blob, Limits, Message, Reader, Value};
use super::*;
use crate::dissect::{Direction, Exchange, StreamSession};
use crate::time::Timestamp;
use serde_json::{json, Value as Json};
use std::io::Read;
use Direction::{ClientToServer as C2S, ServerToClient as S2C};

type Chunks = Vec<(Direction, Vec<u8>)>;

fn transcript(name: &str) -> Chunks {
    let path = format!("{}/src/dissect/redis/testdata/{name}.transcript.gz", env!("CARGO_MANIFEST_DIR"));
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap()).read_to_end(&mut raw).unwrap();
    let mut chunks = Vec::new();
    let mut at = 0;
    while at < raw.len() {
        let dir = if raw[at] == b'C' { C2S } else { S2C };
        let len = u32::from_be_bytes(raw[at + 1..at + 5].try_into().unwrap()) as usize;
        chunks.push((dir, raw[at + 5..at + 5 + len].to_vec()));
        at += 5 + len;
    }
    chunks
}

fn oracle(name: &str) -> Vec<Json> {
    let path = format!("{}/src/dissect/redis/testdata/{name}.oracle.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs a session over chunks (each fed with a later timestamp), then closes it.
fn run_with(mut session: RedisSession, chunks: &[(Direction, Vec<u8>)]) -> Vec<Exchange> {
    let mut out = Vec::new();
    for (i, (dir, data)) in chunks.iter().enumerate() {
        session.on_data(*dir, data, Timestamp(1_000 + i as u64 * 1_000), &mut out);
        assert!(session.buffered_bytes() < 8 << 20, "buffered {}", session.buffered_bytes());
    }
    session.on_close(Timestamp(u64::MAX / 2), &mut out);
    out
}

fn run(chunks: &[(Direction, Vec<u8>)]) -> Vec<Exchange> {
    run_with(RedisSession::new(false), chunks)
}

/// What must not depend on segmentation: everything but the timestamps.
fn shape(entries: &[Exchange]) -> Vec<Json> {
    entries
        .iter()
        .map(|e| {
            json!([
                e.summary,
                e.status,
                e.outcome.as_str(),
                e.request_size,
                e.response_size,
                e.request,
                e.response,
                e.notes
            ])
        })
        .collect()
}

/// Checks entries against the client's record: the command, its key, the status and (where the
/// client kept it) the reply's value; pushed messages by kind and channel.
fn check_against_oracle(entries: &[Exchange], oracle: &[Json]) {
    let got: Vec<&str> = entries.iter().map(|e| e.summary.as_str()).collect();
    assert_eq!(entries.len(), oracle.len(), "entries: {got:?}");
    for (e, o) in entries.iter().zip(oracle) {
        let ctx = format!("{} vs {o}", e.summary);
        if let Some(kind) = o.get("push") {
            assert_eq!(e.request, Json::Null, "{ctx}");
            let response = e.response.as_ref().unwrap();
            assert_eq!(response.get("kind"), Some(kind), "{ctx}");
            if let Some(channel) = o.get("channel").filter(|c| !c.is_null()) {
                assert_eq!(response.get("channel"), Some(channel), "{ctx}");
            }
            continue;
        }
        assert_eq!(e.request["command"], o["command"], "{ctx}");
        assert_eq!(e.request.get("key").unwrap_or(&Json::Null), &o["key"], "{ctx}");
        assert_eq!(e.status.as_deref(), o["status"].as_str(), "{ctx}");
        let expected_outcome =
            if o["status"] == "OK" { "ok" } else { error_outcome(o["status"].as_str().unwrap()).as_str() };
        assert_eq!(e.outcome.as_str(), expected_outcome, "{ctx}");
        if let Some(value) = o.get("value") {
            assert_eq!(&e.response.as_ref().unwrap()["value"], value, "{ctx}");
        }
        assert!(e.request_size > 0 && e.response_size > 0, "{ctx}");
    }
}

const RECORDED: [&str; 7] = ["resp2", "pipeline", "resp3", "attrib", "pubsub", "monitor", "inline"];

#[test]
fn recorded_conversations_match_the_clients_record() {
    for name in RECORDED {
        let entries = run(&transcript(name));
        check_against_oracle(&entries, &oracle(name));
    }
}

#[test]
fn sizes_are_the_bytes_on_the_wire() {
    for name in RECORDED {
        let chunks = transcript(name);
        let entries = run(&chunks);
        let sent: usize = chunks.iter().filter(|(d, _)| *d == C2S).map(|(_, b)| b.len()).sum();
        let received: usize = chunks.iter().filter(|(d, _)| *d == S2C).map(|(_, b)| b.len()).sum();
        // Every byte belongs to exactly one entry, but for the empty inline line (no command).
        let req: u64 = entries.iter().map(|e| e.request_size).sum();
        let resp: u64 = entries.iter().map(|e| e.response_size).sum();
        let ignored = if name == "inline" { 2 } else { 0 };
        assert_eq!(req as usize + ignored, sent, "{name}");
        assert_eq!(resp as usize, received, "{name}");
    }
}

#[test]
fn the_big_value_has_its_exact_size_and_a_bounded_text() {
    let entries = run(&transcript("resp2"));
    let set = entries.iter().find(|e| e.summary == "SET big").unwrap();
    assert_eq!(set.request["args"][1]["size"], 1 << 20);
    assert_eq!(set.request["args"][1]["truncated"], true);
    let get = entries.iter().find(|e| e.summary == "GET big").unwrap();
    let response = get.response.as_ref().unwrap();
    assert_eq!(response["size"], 1 << 20);
    assert_eq!(response["value"]["size"], 1 << 20);
    assert_eq!(response["value"]["text"].as_str().unwrap().len(), Limits::REPLY.max_string);
    assert_eq!(get.response_size, (1 << 20) + "$1048576\r\n\r\n".len() as u64);
    // Binary values: base64 of the exact bytes.
    let bin = entries.iter().find(|e| e.summary == "GET bin").unwrap();
    let all: Vec<u8> = (0..=255).collect();
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &all[..]);
    let value = &bin.response.as_ref().unwrap()["value"];
    assert_eq!(value["size"], 256);
    // The kept prefix is bounded for arguments, whole for the reply (256 < the reply limit).
    assert_eq!(value["base64"], b64);
}

#[test]
fn containers_keys_and_transactions() {
    let entries = run(&transcript("resp2"));
    let find = |s: &str| entries.iter().find(|e| e.summary == s).unwrap_or_else(|| panic!("no {s}"));
    assert_eq!(find("CLIENT SETNAME").request["subcommand"], "SETNAME");
    assert_eq!(find("CONFIG GET").request["subcommand"], "GET");
    assert_eq!(find("XINFO STREAM stream").request["key"], "stream");
    assert_eq!(find("EVAL k1").request["argc"], 3);
    let entries = run(&transcript("pipeline"));
    let exec: Vec<&Exchange> = entries.iter().filter(|e| e.request["command"] == "EXEC").collect();
    let results = &exec[0].response.as_ref().unwrap();
    assert_eq!(results["type"], "array");
    assert_eq!(results["len"], 3);
    assert_eq!(results["value"][0], "OK");
    assert_eq!(exec[1].status.as_deref(), Some("EXECABORT"));
    assert_eq!(exec[1].outcome, Outcome::ClientError);
}

#[test]
fn resp3_types_are_shown_by_type() {
    let entries = run(&transcript("resp3"));
    let types: Vec<&str> = entries
        .iter()
        .filter(|e| e.request["command"] == "DEBUG")
        .map(|e| e.response.as_ref().unwrap()["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["map", "set", "double", "big_number", "boolean", "boolean", "verbatim_string", "null"]);
    let hello = &entries[0];
    assert_eq!(hello.response.as_ref().unwrap()["type"], "map");
    let attrib = run(&transcript("attrib"));
    let response = attrib[1].response.as_ref().unwrap();
    assert!(response["attributes"].is_array(), "{response}");
}

#[test]
fn every_byte_boundary_gives_the_same_entries() {
    for name in ["resp2", "pipeline", "resp3", "attrib", "pubsub", "monitor", "inline"] {
        let chunks = transcript(name);
        let whole = shape(&run(&chunks));
        // One byte at a time.
        let bytes: Chunks = chunks.iter().flat_map(|(d, b)| b.iter().map(move |x| (*d, vec![*x]))).collect();
        assert_eq!(shape(&run(&bytes)), whole, "{name} byte by byte");
        if name == "resp2" {
            continue; // 2 MiB: every split point would be 2 million runs; byte by byte covers it.
        }
        // Each single split point too (every 11th in the long pipelined chunks: the byte-by-byte
        // run above already splits at all of them).
        let step = if name == "pipeline" { 11 } else { 1 };
        for (i, (dir, data)) in chunks.iter().enumerate() {
            for k in (1..data.len()).step_by(step) {
                let mut split = chunks.clone();
                split[i] = (*dir, data[..k].to_vec());
                split.insert(i + 1, (*dir, data[k..].to_vec()));
                assert_eq!(shape(&run(&split)), whole, "{name} chunk {i} split at {k}");
            }
        }
    }
}

// The RESP specification's examples (redis.io/docs/reference/protocol-spec), each parsed whole.
fn parse(bytes: &[u8], client: bool) -> Message {
    let mut reader = Reader::new(client, Limits::REPLY);
    let (used, message) = reader.read(bytes).unwrap();
    assert_eq!(used, bytes.len(), "{:?}", String::from_utf8_lossy(bytes));
    message.unwrap()
}

fn bulk(s: &str) -> Value {
    Value::Bulk(Blob::from_bytes(s.as_bytes()))
}

fn simple(s: &str) -> Value {
    Value::Simple(Blob::from_bytes(s.as_bytes()))
}

fn agg(items: Vec<Value>, len: u64) -> Aggregate {
    Aggregate { items, len }
}

#[test]
fn spec_examples_resp2() {
    assert_eq!(parse(b"+OK\r\n", false).value, simple("OK"));
    assert_eq!(parse(b"-Error message\r\n", false).value, Value::Error(Blob::from_bytes(b"Error message")));
    assert_eq!(parse(b":1000\r\n", false).value, Value::Integer(1000));
    assert_eq!(parse(b":-7\r\n", false).value, Value::Integer(-7));
    assert_eq!(parse(b"$5\r\nhello\r\n", false).value, bulk("hello"));
    assert_eq!(parse(b"$0\r\n\r\n", false).value, bulk(""));
    assert_eq!(parse(b"$-1\r\n", false).value, Value::Null);
    assert_eq!(parse(b"*-1\r\n", false).value, Value::Null);
    assert_eq!(parse(b"*0\r\n", false).value, Value::Array(agg(vec![], 0)));
    assert_eq!(
        parse(b"*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n", false).value,
        Value::Array(agg(vec![bulk("hello"), bulk("world")], 2))
    );
    assert_eq!(
        parse(b"*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+Hello\r\n-World\r\n", false).value,
        Value::Array(agg(
            vec![
                Value::Array(agg(vec![Value::Integer(1), Value::Integer(2), Value::Integer(3)], 3)),
                Value::Array(agg(vec![simple("Hello"), Value::Error(Blob::from_bytes(b"World"))], 2)),
            ],
            2
        ))
    );
    assert_eq!(
        parse(b"*3\r\n$5\r\nhello\r\n$-1\r\n$5\r\nworld\r\n", false).value,
        Value::Array(agg(vec![bulk("hello"), Value::Null, bulk("world")], 3))
    );
    // A client's command, and the same as an inline command.
    assert_eq!(
        parse(b"*2\r\n$4\r\nLLEN\r\n$6\r\nmylist\r\n", true).value,
        Value::Array(agg(vec![bulk("LLEN"), bulk("mylist")], 2))
    );
    let inline = parse(b"EXISTS somekey\r\n", true);
    assert!(inline.inline);
    assert_eq!(inline.value, Value::Array(agg(vec![bulk("EXISTS"), bulk("somekey")], 2)));
}

#[test]
fn spec_examples_resp3() {
    assert_eq!(parse(b"_\r\n", false).value, Value::Null);
    assert_eq!(parse(b"#t\r\n", false).value, Value::Boolean(true));
    assert_eq!(parse(b",1.23\r\n", false).value, Value::Double("1.23".into()));
    assert_eq!(parse(b",inf\r\n", false).value, Value::Double("inf".into()));
    assert_eq!(
        parse(b"(3492890328409238509324850943850943825024385\r\n", false).value,
        Value::BigNumber("3492890328409238509324850943850943825024385".into())
    );
    assert_eq!(
        parse(b"!21\r\nSYNTAX invalid syntax\r\n", false).value,
        Value::BlobError(Blob::from_bytes(b"SYNTAX invalid syntax"))
    );
    assert_eq!(
        parse(b"=15\r\ntxt:Some string\r\n", false).value,
        Value::Verbatim("txt".into(), Blob::from_bytes(b"Some string"))
    );
    assert_eq!(
        parse(b"%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", false).value,
        Value::Map(agg(vec![simple("first"), Value::Integer(1), simple("second"), Value::Integer(2)], 2))
    );
    assert_eq!(
        parse(b"~5\r\n+orange\r\n+apple\r\n#t\r\n:100\r\n:999\r\n", false).value,
        Value::Set(agg(
            vec![simple("orange"), simple("apple"), Value::Boolean(true), Value::Integer(100), Value::Integer(999)],
            5
        ))
    );
    let m = parse(
        b"|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n",
        false,
    );
    assert_eq!(m.value, Value::Array(agg(vec![Value::Integer(2039123), Value::Integer(9543892)], 2)));
    assert_eq!(m.attributes.unwrap().items[0], simple("key-popularity"));
    assert_eq!(
        parse(b">4\r\n+pubsub\r\n+message\r\n+somechannel\r\n+this is the message\r\n", false).value,
        Value::Push(agg(
            vec![simple("pubsub"), simple("message"), simple("somechannel"), simple("this is the message")],
            4
        ))
    );
    // An attribute nested in an aggregate describes an element; it is skipped, not counted.
    assert_eq!(
        parse(b"*2\r\n|1\r\n+ttl\r\n:3600\r\n:1\r\n:2\r\n", false).value,
        Value::Array(agg(vec![Value::Integer(1), Value::Integer(2)], 2))
    );
}

#[test]
fn malformed_input_is_refused_not_panicked_on() {
    for bad in [
        &b"?what\r\n"[..],
        b":12a\r\n",
        b"$5\r\nhelloXX",
        b"$-2\r\n",
        b"*-5\r\n",
        b"#x\r\n",
        b",\r\n",
        b"+OK\n",
        b"=2\r\nab\r\n",
        b":99999999999999999999999\r\n",
    ] {
        let mut reader = Reader::new(false, Limits::REPLY);
        assert!(reader.read(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
    let mut deep = Vec::new();
    for _ in 0..=resp::MAX_DEPTH {
        deep.extend_from_slice(b"*1\r\n");
    }
    assert!(Reader::new(false, Limits::REPLY).read(&deep).is_err());
}

#[test]
fn memory_is_bounded_whatever_the_sizes_on_the_wire() {
    // A huge array of huge strings is read through with bounded kept bytes and exact counts.
    let mut reader = Reader::new(false, Limits::REPLY);
    let mut wire = b"*100000\r\n".to_vec();
    let item = format!("$3000\r\n{}\r\n", "y".repeat(3000));
    for _ in 0..100_000 {
        wire.extend_from_slice(item.as_bytes());
    }
    let mut at = 0;
    let mut message = None;
    while at < wire.len() {
        let end = (at + 65536).min(wire.len());
        let (used, m) = reader.read(&wire[at..end]).unwrap();
        at += used;
        assert!(reader.buffered_bytes() < 200_000, "{}", reader.buffered_bytes());
        if m.is_some() {
            message = m;
        }
    }
    let message = message.unwrap();
    assert_eq!(message.size, wire.len() as u64);
    let Value::Array(a) = &message.value else { panic!() };
    assert_eq!(a.len, 100_000);
    assert_eq!(a.items.len(), Limits::REPLY.max_items);
    let kept: usize = a.items.iter().map(|v| v.as_bytes().unwrap().len()).sum();
    assert!(kept <= Limits::REPLY.max_kept);
}

#[test]
fn pending_commands_are_bounded_and_pairing_survives_the_overflow() {
    let n = MAX_PENDING + 50;
    let mut commands = Vec::new();
    let mut replies = Vec::new();
    for i in 0..n {
        let key = format!("k{i}");
        commands.extend_from_slice(format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).as_bytes());
        replies.extend_from_slice(format!("${}\r\nv{i}\r\n", format!("v{i}").len()).as_bytes());
    }
    let ping = b"*1\r\n$4\r\nPING\r\n".to_vec();
    let entries = run(&[(C2S, commands), (S2C, replies), (C2S, ping), (S2C, b"+PONG\r\n".to_vec())]);
    assert_eq!(entries.len(), MAX_PENDING + 1);
    for (i, e) in entries.iter().take(MAX_PENDING).enumerate() {
        assert_eq!(e.summary, format!("GET k{i}"));
        assert_eq!(e.response.as_ref().unwrap()["value"], format!("v{i}"));
    }
    let last = entries.last().unwrap();
    assert_eq!(last.summary, "PING");
    assert_eq!(last.response.as_ref().unwrap()["value"], "PONG");
    assert!(last.notes[0].contains("50 command(s)"), "{:?}", last.notes);
}

#[test]
fn a_server_gap_reports_the_waiting_commands_and_pairing_resumes() {
    let mut s = RedisSession::new(false);
    let mut out = Vec::new();
    s.on_data(C2S, b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n", Timestamp(1), &mut out);
    s.on_data(S2C, b"$3\r\nxy", Timestamp(2), &mut out);
    s.on_gap(S2C, 100, &mut out);
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|e| e.outcome == Outcome::NoResponse && e.response.is_none()));
    assert_eq!(out[0].notes, ["response lost to a capture gap"]);
    // The rest of the lost reply, then a clean one for the next command.
    s.on_data(C2S, b"*1\r\n$4\r\nPING\r\n", Timestamp(3), &mut out);
    s.on_data(S2C, b"zz\r\n+PONG\r\n", Timestamp(4), &mut out);
    s.on_close(Timestamp(5), &mut out);
    assert_eq!(out.len(), 3, "{:?}", out.iter().map(|e| &e.summary).collect::<Vec<_>>());
    assert_eq!(out[2].summary, "PING");
    assert_eq!(out[2].response.as_ref().unwrap()["value"], "PONG");
}

#[test]
fn a_client_gap_resynchronises_at_the_next_command() {
    let mut s = RedisSession::new(false);
    let mut out = Vec::new();
    s.on_data(C2S, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\n01234", Timestamp(1), &mut out);
    s.on_gap(C2S, 3, &mut out);
    s.on_data(C2S, b"89\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", Timestamp(2), &mut out);
    s.on_data(S2C, b"+OK\r\n", Timestamp(3), &mut out);
    s.on_close(Timestamp(4), &mut out);
    // The SET was lost: its reply has no command waiting... and cannot be told apart from the
    // GET's, which is why the GET's entry says it was paired across a gap.
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].summary, "GET k");
    assert!(out[0].notes[0].contains("capture gap"), "{:?}", out[0].notes);
}

#[test]
fn a_connection_picked_up_mid_way_starts_at_the_next_boundaries() {
    for name in ["resp2", "pipeline", "pubsub"] {
        let chunks = transcript(name);
        let oracle = oracle(name);
        // Drop the first client chunk's first bytes and the server's answer to it.
        let entries = run(&chunks);
        let whole = shape(&entries);
        for cut in [1usize, 3, 9] {
            let mut picked = chunks.clone();
            let first = picked.iter().position(|(d, _)| *d == C2S).unwrap();
            let data = picked[first].1.clone();
            if cut >= data.len() {
                continue;
            }
            picked[first].1 = data[cut..].to_vec();
            let got = run_with(RedisSession::new(true), &picked);
            assert!(got.len() <= oracle.len() + 1, "{name} cut {cut}: {} entries", got.len());
            // What comes after the first complete exchange is as in the whole conversation.
            let tail = shape(&got);
            let k = 3.min(tail.len());
            assert_eq!(tail[tail.len() - k..], whole[whole.len() - k..], "{name} cut {cut}");
            // Nothing invented: no entry claims the command that was cut.
            if got.len() == oracle.len() {
                assert_ne!(got[0].request, entries[0].request, "{name} cut {cut}");
            }
        }
    }
}

#[test]
fn garbage_in_either_direction_does_not_stop_dissection() {
    let mut s = RedisSession::new(false);
    let mut out = Vec::new();
    s.on_data(C2S, b"*1\r\n$4\r\nPING\r\n", Timestamp(1), &mut out);
    s.on_data(S2C, b"?garbage\r\n", Timestamp(2), &mut out);
    assert_eq!(out.len(), 1);
    assert!(out[0].notes[0].contains("unreadable server bytes"), "{:?}", out[0].notes);
    s.on_data(C2S, b"*1\r\n$4\r\nPING\r\n", Timestamp(3), &mut out);
    s.on_data(S2C, b"+PONG\r\n", Timestamp(4), &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].status.as_deref(), Some("OK"));
}

#[test]
fn redirects_and_error_statuses() {
    let mut out = Vec::new();
    let mut s = RedisSession::new(false);
    s.on_data(C2S, b"*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n*2\r\n$3\r\nGET\r\n$3\r\nbar\r\n", Timestamp(1), &mut out);
    s.on_data(
        S2C,
        b"-MOVED 12182 127.0.0.1:7002\r\n-LOADING Redis is loading the dataset in memory\r\n",
        Timestamp(2),
        &mut out,
    );
    assert_eq!(out[0].status.as_deref(), Some("MOVED"));
    assert_eq!(out[0].outcome, Outcome::ClientError);
    assert_eq!(
        out[0].response.as_ref().unwrap()["redirect"],
        json!({"kind": "MOVED", "slot": 12182, "address": "127.0.0.1:7002"})
    );
    assert_eq!(out[1].status.as_deref(), Some("LOADING"));
    assert_eq!(out[1].outcome, Outcome::ServerError);
    s.on_data(C2S, b"*1\r\n$4\r\nPING\r\n", Timestamp(3), &mut out);
    s.on_close(Timestamp(4), &mut out);
    assert_eq!(out[2].outcome, Outcome::NoResponse);
    assert_eq!(out[2].status, None);
}

#[test]
fn passwords_are_redacted() {
    let cases = [
        (json!({"command": "AUTH", "args": ["s3cret"]}), json!({"command": "AUTH", "args": ["[REDACTED]"]})),
        (
            json!({"command": "AUTH", "args": ["bob", "s3cret"]}),
            json!({"command": "AUTH", "args": ["bob", "[REDACTED]"]}),
        ),
        (
            json!({"command": "HELLO", "args": ["3", "auth", "bob", "s3cret", "SETNAME", "x"]}),
            json!({"command": "HELLO", "args": ["3", "auth", "bob", "[REDACTED]", "SETNAME", "x"]}),
        ),
        (
            json!({"command": "CONFIG", "subcommand": "SET", "args": ["SET", "requirepass", "s3cret"]}),
            json!({"command": "CONFIG", "subcommand": "SET", "args": ["SET", "requirepass", "[REDACTED]"]}),
        ),
        (
            json!({"command": "ACL", "subcommand": "SETUSER", "args": ["SETUSER", "bob", "on", ">s3cret"]}),
            json!({"command": "ACL", "subcommand": "SETUSER", "args": ["SETUSER", "bob", "on", "[REDACTED]"]}),
        ),
        (json!({"command": "GET", "args": ["AUTH"]}), json!({"command": "GET", "args": ["AUTH"]})),
        (json!({"command": "HELLO", "args": ["3", "AUTH"]}), json!({"command": "HELLO", "args": ["3", "AUTH"]})),
    ];
    for (mut request, expected) in cases {
        PROTOCOL.secrets.redact(&mut request);
        assert_eq!(request, expected);
    }
}

#[test]
fn probing_is_strict() {
    let fresh = FlowInfo { server_port: 6379, client_port: 40000, saw_handshake: true };
    let mid = FlowInfo { saw_handshake: false, ..fresh };
    let p = |flow: &FlowInfo, data: &[u8]| probe_bytes(flow, data);
    assert_eq!(p(&fresh, b"*1\r\n$4\r\nPING\r\n"), Probe::Client);
    assert_eq!(p(&fresh, b"*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n"), Probe::Client);
    assert_eq!(p(&fresh, b"*2\r\n$5\r\nHEL"), Probe::NeedMore);
    assert_eq!(p(&fresh, b"PING\r\n"), Probe::Client);
    assert_eq!(p(&fresh, b"*2\r\n$4\r\nNOPE\r\n"), Probe::No);
    // Replies count only on a connection picked up mid-way (a server never speaks first).
    assert_eq!(p(&fresh, b"+OK\r\n"), Probe::No);
    assert_eq!(p(&mid, b"+OK\r\n"), Probe::Server);
    assert_eq!(p(&mid, b"$5\r\nhello\r\n"), Probe::Server);
    assert_eq!(p(&mid, b"-ERR unknown command\r\n"), Probe::Server);
    assert_eq!(p(&mid, b"+OK POP3 server ready\r\n"), Probe::Server);
    // Other protocols' first bytes.
    for other in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"\x00\x00\x00\x08\x04\xd2\x16\x2f",
        b"\x00\x00\x00\x54\x00\x03\x00\x00user\x00postgres\x00",
        b"AMQP\x00\x00\x09\x01",
        b"\x4a\x00\x00\x00\x0a8.0.36\x00",
        b"\x00\x00\x00\x2a\x00\x12\x00\x07\x00\x00\x00\x01",
        b"\x3a\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xdd\x07\x00\x00",
        b"SSH-2.0-OpenSSH_9.2\r\n",
        b"220 mail.example.com ESMTP\r\n",
        b"QUIT\r\n",
    ] {
        assert_eq!(p(&fresh, other), Probe::No, "{:?}", String::from_utf8_lossy(other));
        assert_ne!(p(&mid, other), Probe::Server, "{:?}", String::from_utf8_lossy(other));
        assert_ne!(p(&mid, other), Probe::Client, "{:?}", String::from_utf8_lossy(other));
    }
}

#[test]
fn client_reply_off_and_skip_leave_commands_without_replies() {
    // Sent to redis-server 7.0.15 as one write; these were its replies.
    let sent = b"*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$4\r\nSKIP\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nOFF\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$2\r\nON\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n";
    let got = b"$1\r\n1\r\n+OK\r\n$1\r\n2\r\n";
    let entries = run(&[(C2S, sent.to_vec()), (S2C, got.to_vec())]);
    let view: Vec<(&str, Option<&str>, &str)> =
        entries.iter().map(|e| (e.summary.as_str(), e.status.as_deref(), e.outcome.as_str())).collect();
    assert_eq!(
        view,
        [
            ("CLIENT REPLY", None, "ok"),
            ("SET a", None, "ok"),
            ("GET a", Some("OK"), "ok"),
            ("CLIENT REPLY", None, "ok"),
            ("SET b", None, "ok"),
            ("CLIENT REPLY", Some("OK"), "ok"),
            ("GET b", Some("OK"), "ok"),
        ]
    );
    assert_eq!(entries[2].response.as_ref().unwrap()["value"], "1");
    assert_eq!(entries[6].response.as_ref().unwrap()["value"], "2");
}

#[test]
fn a_command_after_an_empty_inline_line_starts_with_the_data_that_carries_it() {
    // Found by the fuzz target: " " at 1 ms, then "\n" and "PING\n" at 2 ms. Fed in two
    // segments or byte by byte, the command starts at 2 ms (the blank line before it is no message).
    let whole = run(&[(C2S, b" ".to_vec()), (C2S, b"\nPING\n".to_vec())]);
    let mut session = RedisSession::new(false);
    let mut bytewise = Vec::new();
    session.on_data(C2S, b" ", Timestamp(1_000), &mut bytewise);
    for b in b"\nPING\n" {
        session.on_data(C2S, &[*b], Timestamp(2_000), &mut bytewise);
    }
    session.on_close(Timestamp(u64::MAX / 2), &mut bytewise);
    assert_eq!(whole.len(), 1);
    assert_eq!(whole[0].ts, Timestamp(2_000));
    assert_eq!(whole, bytewise);
}
