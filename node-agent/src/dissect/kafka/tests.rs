//! Unit tests. Wire bytes come from kafka-python (testdata/gen.py writes testdata/vectors.json:
//! requests and responses encoded by that independent implementation from Apache Kafka's message
//! definitions, with the values it was given); expectations are those values.

use super::*;
use crate::dissect::{Direction, Exchange};
use crate::entry::Outcome;
use crate::time::Timestamp;
use serde_json::{json, Value};
use std::io::Write;
use Direction::{ClientToServer as C2S, ServerToClient as S2C};

struct Vector {
    name: String,
    request: Vec<u8>,
    response: Option<Vec<u8>>,
    expect: Value,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn vectors() -> Vec<Vector> {
    let all: Value = serde_json::from_str(include_str!("testdata/vectors.json")).unwrap();
    all.as_array()
        .unwrap()
        .iter()
        .map(|v| Vector {
            name: v["name"].as_str().unwrap().to_owned(),
            request: unhex(v["request"].as_str().unwrap()),
            response: v["response"].as_str().map(unhex),
            expect: v["expect"].clone(),
        })
        .collect()
}

fn vector(name: &str) -> Vector {
    vectors().into_iter().find(|v| v.name == name).unwrap()
}

fn session(mid_stream: bool) -> KafkaSession {
    KafkaSession::new(&ProtocolSettings::default(), mid_stream)
}

fn flow(saw_handshake: bool) -> FlowInfo {
    FlowInfo { server_port: 9092, client_port: 40000, saw_handshake }
}

/// Feeds the chunks in order (each at its own time), then closes.
fn run(s: &mut KafkaSession, chunks: &[(Direction, &[u8])]) -> Vec<Exchange> {
    let mut out = Vec::new();
    for (i, (dir, bytes)) in chunks.iter().enumerate() {
        s.on_data(*dir, bytes, Timestamp(1_000 + i as u64), &mut out);
    }
    s.on_close(Timestamp(1_000_000), &mut out);
    out
}

fn exchange_of(v: &Vector) -> Exchange {
    let mut chunks = vec![(C2S, v.request.as_slice())];
    if let Some(r) = &v.response {
        chunks.push((S2C, r.as_slice()));
    }
    let mut got = run(&mut session(false), &chunks);
    assert_eq!(got.len(), 1, "{}: {got:?}", v.name);
    got.remove(0)
}

/// `[key, value, headers]` of every record, from wherever the records are in the message.
fn records_of(msg: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for t in msg["topic_data"].as_array().into_iter().flatten() {
        for p in t["partitions"].as_array().into_iter().flatten() {
            for b in p["records"]["batches"].as_array().into_iter().flatten() {
                for r in b["records"].as_array().unwrap() {
                    out.push(json!([r["key"], r["value"], r["headers"]]));
                }
            }
        }
    }
    out
}

fn batches_of(msg: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for t in msg["topic_data"].as_array().into_iter().flatten() {
        for p in t["partitions"].as_array().into_iter().flatten() {
            out.extend(p["records"]["batches"].as_array().into_iter().flatten().cloned());
        }
    }
    out
}

#[test]
fn every_vector_decodes_as_kafka_python_encoded_it() {
    let vs = vectors();
    assert!(vs.len() > 60);
    for v in &vs {
        let e = exchange_of(v);
        let x = &v.expect;
        let name = &v.name;
        assert_eq!(e.protocol, "kafka");
        assert_eq!(e.request["api"], x["api"], "{name}");
        assert_eq!(e.request["api_version"], x["api_version"], "{name}");
        assert_eq!(e.request["correlation_id"], x["correlation_id"], "{name}");
        assert_eq!(e.request["client_id"], x["client_id"], "{name}");
        assert_eq!(e.request["topics"], x["topics"], "{name}");
        assert_eq!(e.status.as_deref(), x["status"].as_str(), "{name}: {:?}", e.notes);
        let outcome = x["outcome"].as_str().unwrap_or("ok");
        assert_eq!(e.outcome.as_str(), outcome, "{name}");
        if x.get("record_count").is_none() {
            assert!(e.notes.iter().all(|n| n.starts_with("acks=0")), "{name}: {:?}", e.notes);
        }
        assert_eq!(e.request_size, v.request.len() as u64, "{name}");
        assert_eq!(e.response_size, v.response.as_ref().map_or(0, |r| r.len() as u64), "{name}");
        if let Some(expected) = x.get("records") {
            let msg = if x["api"] == "Produce" { &e.request } else { e.response.as_ref().unwrap() };
            assert_eq!(&Value::Array(records_of(msg)), expected, "{name}");
        }
        if let Some(codec) = x.get("compression") {
            let msg = if x["api"] == "Produce" { &e.request } else { e.response.as_ref().unwrap() };
            let batches = batches_of(msg);
            assert_eq!(batches.len(), 1, "{name}");
            // kafka-python sends a batch uncompressed when compression does not pay; these
            // values are chosen so that it always does.
            assert_eq!(&batches[0]["compression"], codec, "{name}");
            if let Some(first) = x.get("first_offset") {
                assert_eq!(&batches[0]["base_offset"], first, "{name}");
                assert_eq!(records_of(msg).len(), 2);
            }
        }
        if let Some(Value::String(secret)) = x.get("secret") {
            use base64::Engine as _;
            let bytes =
                base64::engine::general_purpose::STANDARD.decode(e.request["auth_bytes"].as_str().unwrap()).unwrap();
            assert!(bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{name}");
            let mut redacted = e.request.clone();
            assert_eq!(PROTOCOL.secrets.redact(&mut redacted), 1);
            assert_eq!(redacted["auth_bytes"], crate::redact::REDACTED);
        }
    }
}

#[test]
fn records_shown_are_capped_and_all_are_counted() {
    let v = vector("produce 3x150 records");
    let e = exchange_of(&v);
    let batches = batches_of(&e.request);
    let counted: u64 = batches.iter().map(|b| b["record_count"].as_u64().unwrap()).sum();
    assert_eq!(counted, v.expect["record_count"].as_u64().unwrap());
    assert_eq!(Value::Array(records_of(&e.request)), v.expect["first_records"]);
    assert_eq!(records_of(&e.request).len(), MAX_RECORDS_SHOWN);
    assert!(
        e.notes.iter().any(|n| n.contains(&format!("only the first {MAX_RECORDS_SHOWN} records"))),
        "{:?}",
        e.notes
    );
}

#[test]
fn the_records_of_a_message_share_the_body_limit() {
    let v = vector("produce v9 none");
    let settings = ProtocolSettings { body_limit: 100, ..ProtocolSettings::default() };
    let mut s = KafkaSession::new(&settings, false);
    let got = run(&mut s, &[(C2S, &v.request), (S2C, v.response.as_ref().unwrap())]);
    let records = records_of(&got[0].request);
    let want = v.expect["records"].as_array().unwrap();
    assert_eq!(records.len(), want.len());
    // The first key (5 bytes) and 95 bytes of the first value; nothing of the rest.
    assert_eq!(records[0][0], want[0][0]);
    let first = want[0][1].as_str().unwrap();
    assert_eq!(records[0][1].as_str().unwrap(), &first[..95]);
    assert_eq!(records[1][0], "");
    assert_eq!(records[1][1], "");
    let b = &batches_of(&got[0].request)[0]["records"][0];
    assert_eq!(b["value_size"], first.len());
    assert!(got[0].notes.iter().any(|n| n.contains("up to 100 bytes")), "{:?}", got[0].notes);
}

#[test]
fn error_codes_are_named_where_they_are() {
    let e = exchange_of(&vector("produce v9 unknown topic"));
    let p = &e.response.unwrap()["topic_data"][0]["partitions"][0];
    assert_eq!(p["error_code"], 3);
    assert_eq!(p["error"], "UNKNOWN_TOPIC_OR_PARTITION");
    assert_eq!(p["partition"], 0);
    assert_eq!(p["base_offset"], -1);
    assert_eq!(e.summary, "Produce nope");
}

#[test]
fn split_at_every_byte_boundary_gives_the_same_exchanges() {
    for v in vectors() {
        let whole = exchange_of(&v);
        for cut in 1..v.request.len() {
            let (a, b) = v.request.split_at(cut);
            let mut chunks = vec![(C2S, a), (C2S, b)];
            if let Some(r) = &v.response {
                let rc = cut % r.len().max(1);
                let (c, d) = r.split_at(rc);
                chunks.push((S2C, c));
                chunks.push((S2C, d));
            }
            let got = run(&mut session(false), &chunks);
            assert_eq!(got.len(), 1, "{} cut {cut}", v.name);
            let g = &got[0];
            assert_eq!(g.request, whole.request, "{} cut {cut}", v.name);
            assert_eq!(g.response, whole.response, "{} cut {cut}", v.name);
            assert_eq!((&g.status, g.outcome, &g.notes), (&whole.status, whole.outcome, &whole.notes));
        }
    }
}

#[test]
fn one_byte_at_a_time_gives_the_same_exchanges() {
    let vs = vectors();
    let mut chunks = Vec::new();
    for v in &vs {
        for b in v.request.chunks(1) {
            chunks.push((C2S, b));
        }
        if let Some(r) = &v.response {
            for b in r.chunks(1) {
                chunks.push((S2C, b));
            }
        }
    }
    let got = run(&mut session(false), &chunks);
    assert_eq!(got.len(), vs.len());
    for (g, v) in got.iter().zip(&vs) {
        let w = exchange_of(v);
        assert_eq!((&g.request, &g.response, &g.status), (&w.request, &w.response, &w.status), "{}", v.name);
    }
}

/// Requests `ids` of the metadata vector, re-encoded with other correlation ids.
fn with_correlation(frame: &[u8], id: i32, request: bool) -> Vec<u8> {
    let mut f = frame.to_vec();
    let at = if request { 8 } else { 4 };
    f[at..at + 4].copy_from_slice(&id.to_be_bytes());
    f
}

#[test]
fn pipelined_requests_pair_in_order_and_a_lost_response_is_no_response() {
    let v = vector("metadata v12");
    let reqs: Vec<Vec<u8>> = (1..=4).map(|i| with_correlation(&v.request, i, true)).collect();
    let resp = v.response.unwrap();
    let resps: Vec<Vec<u8>> = [1, 3, 4].iter().map(|&i| with_correlation(&resp, i, false)).collect();
    let mut all_reqs = Vec::new();
    for r in &reqs {
        all_reqs.extend_from_slice(r);
    }
    let mut all_resps = Vec::new();
    for r in &resps {
        all_resps.extend_from_slice(r);
    }
    let got = run(&mut session(false), &[(C2S, &all_reqs), (S2C, &all_resps)]);
    let ids: Vec<_> = got.iter().map(|e| e.request["correlation_id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![1, 2, 3, 4]);
    let outcomes: Vec<_> = got.iter().map(|e| e.outcome).collect();
    assert_eq!(outcomes, vec![Outcome::ServerError, Outcome::NoResponse, Outcome::ServerError, Outcome::ServerError]);
    assert_eq!(got[1].response, None);
    assert!(got[1].notes.iter().any(|n| n.contains("capture gap")));
}

#[test]
fn unanswered_requests_are_reported_when_the_connection_closes() {
    let v = vector("heartbeat v4");
    let got = run(&mut session(false), &[(C2S, &v.request)]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].outcome, Outcome::NoResponse);
    assert_eq!(got[0].status, None);
}

#[test]
fn acks_zero_produce_is_reported_at_once_without_response() {
    let v = vector("produce acks=0");
    let mut out = Vec::new();
    let mut s = session(false);
    s.on_data(C2S, &v.request, Timestamp(1), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].outcome, Outcome::Ok);
    assert_eq!(out[0].request["acks"], 0);
}

#[test]
fn a_gap_inside_a_request_drops_it_and_framing_continues() {
    let a = vector("heartbeat v4");
    let b = vector("metadata v9");
    let b_req = with_correlation(&b.request, 8, true);
    let b_resp = with_correlation(b.response.as_ref().unwrap(), 8, false);
    let mut s = session(false);
    let mut out = Vec::new();
    s.on_data(C2S, &a.request[..30], Timestamp(1), &mut out);
    s.on_gap(C2S, (a.request.len() - 30) as u64, &mut out);
    s.on_data(C2S, &b_req, Timestamp(2), &mut out);
    s.on_data(S2C, a.response.as_ref().unwrap(), Timestamp(3), &mut out);
    s.on_data(S2C, &b_resp, Timestamp(4), &mut out);
    s.on_close(Timestamp(5), &mut out);
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out[0].request["api"], "Heartbeat");
    assert!(out[0].notes.iter().any(|n| n.contains("not captured whole")));
    assert_eq!(out[1].request["api"], "Metadata");
    assert_eq!(out[1].status.as_deref(), Some("LEADER_NOT_AVAILABLE"));
}

#[test]
fn a_gap_that_cannot_be_placed_resynchronises_at_the_next_request() {
    let a = vector("fetch v11");
    let b = vector("listoffsets v4");
    let b_req = with_correlation(&b.request, 9, true);
    let b_resp = with_correlation(b.response.as_ref().unwrap(), 9, false);
    let mut s = session(false);
    let mut out = Vec::new();
    // Only the middle of a fetch request, then a whole request; answers to both.
    s.on_gap(C2S, 20, &mut out);
    s.on_data(C2S, &a.request[20..], Timestamp(1), &mut out);
    s.on_data(C2S, &b_req, Timestamp(2), &mut out);
    s.on_data(S2C, a.response.as_ref().unwrap(), Timestamp(3), &mut out);
    s.on_data(S2C, &b_resp, Timestamp(4), &mut out);
    s.on_close(Timestamp(5), &mut out);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].request["api"], "ListOffsets");
    assert_eq!(out[0].status.as_deref(), Some("NONE"));
    assert!(out[0].notes.iter().any(|n| n.contains("not captured")), "{:?}", out[0].notes);
}

#[test]
fn a_connection_picked_up_mid_way_starts_at_the_next_boundaries() {
    let a = vector("produce v9 gzip");
    let b = vector("joingroup v6");
    let b_req = with_correlation(&b.request, 11, true);
    let b_resp = with_correlation(b.response.as_ref().unwrap(), 11, false);
    let a_resp = a.response.unwrap();
    for cut in [1, 5, 30, a.request.len() - 1] {
        let mut client = a.request[cut..].to_vec();
        client.extend_from_slice(&b_req);
        let mut server = a_resp[cut.min(a_resp.len() - 1)..].to_vec();
        server.extend_from_slice(&b_resp);
        let d = KafkaDissector { settings: ProtocolSettings::default() };
        assert_eq!(d.probe(&flow(false), &client), Probe::Client, "cut {cut}");
        let got = run(&mut session(true), &[(C2S, &client), (S2C, &server)]);
        assert_eq!(got.len(), 1, "cut {cut}: {got:?}");
        assert_eq!(got[0].request["api"], "JoinGroup");
        assert_eq!(got[0].status.as_deref(), Some("MEMBER_ID_REQUIRED"));
    }
}

#[test]
fn probe_claims_requests_and_refuses_other_protocols() {
    let d = KafkaDissector { settings: ProtocolSettings::default() };
    let f = flow(true);
    for v in vectors() {
        assert_eq!(d.probe(&f, &v.request), Probe::Client, "{}", v.name);
        assert_eq!(d.probe(&f, &v.request[..6]), Probe::NeedMore, "{}", v.name);
        if let Some(r) = &v.response {
            assert_eq!(d.probe(&f, r), Probe::No, "{}: a response alone", v.name);
        }
    }
    let others: [&[u8]; 9] = [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        &[0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03],
        b"*1\r\n$4\r\nPING\r\n",
        // PostgreSQL StartupMessage (protocol 3.0) and SSLRequest.
        b"\x00\x00\x00\x25\x00\x03\x00\x00user\x00alice\x00database\x00db\x00\x00",
        b"\x00\x00\x00\x08\x04\xd2\x16\x2f",
        b"AMQP\x00\x00\x09\x01",
        // MongoDB OP_MSG (little-endian length).
        b"\x3a\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xdd\x07\x00\x00\x00\x00\x00\x00\x00",
        // A DNS-over-TCP query.
        b"\x00\x1d\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01",
    ];
    for o in others {
        assert_eq!(d.probe(&f, o), Probe::No, "{o:?}");
    }
    // A near miss: an ApiVersions header whose client id is not text.
    let mut bad = vector("apiversions v3").request;
    bad[14] = 0x01;
    assert_eq!(d.probe(&f, &bad), Probe::No);
    // A known key with a version no Kafka has.
    let mut bad = vector("apiversions v3").request;
    bad[7] = 40;
    assert_eq!(d.probe(&f, &bad), Probe::No);
}

#[test]
fn malformed_and_truncated_messages_never_panic() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for v in vectors() {
        for len in 0..v.request.len() {
            let mut s = session(false);
            let mut out = Vec::new();
            let mut msg = v.request[..len].to_vec();
            if len >= 4 {
                msg[..4].copy_from_slice(&((len - 4) as i32).to_be_bytes());
            }
            s.on_data(C2S, &msg, Timestamp(1), &mut out);
            if let Some(r) = &v.response {
                s.on_data(S2C, &r[..len.min(r.len())], Timestamp(2), &mut out);
            }
            s.on_close(Timestamp(3), &mut out);
        }
        for _ in 0..50 {
            let mut req = v.request.clone();
            let mut resp = v.response.clone().unwrap_or_default();
            for _ in 0..3 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let i = (seed % req.len() as u64) as usize;
                req[i] = (seed >> 32) as u8;
                if !resp.is_empty() {
                    let j = ((seed >> 16) % resp.len() as u64) as usize;
                    resp[j] ^= (seed >> 40) as u8;
                }
            }
            let _ = run(&mut session(false), &[(C2S, &req), (S2C, &resp)]);
            let _ = run(&mut session(true), &[(C2S, &req), (S2C, &resp)]);
        }
    }
}

#[test]
fn decompression_is_capped() {
    // 64 MiB of zeros gzip to ~64 KiB: a bomb against the 16 MiB cap.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&zeros).unwrap();
    }
    let bomb = gz.finish().unwrap();
    let err = records::decompress(1, &bomb, MAX_DECOMPRESSED).unwrap_err();
    assert!(matches!(err, records::DecompressError::TooLarge { .. }), "{err}");
    assert!(records::decompress(9, &bomb, 10).is_err());
}

#[test]
fn messages_over_the_frame_limit_are_reported_from_their_header() {
    let v = vector("produce v9 none");
    // The same request claiming a body far longer than MAX_FRAME, streamed through.
    let mut big = v.request.clone();
    let size = (MAX_FRAME + 100) as i32;
    big[..4].copy_from_slice(&size.to_be_bytes());
    big.resize(MAX_FRAME + 104, 0);
    let resp = v.response.unwrap();
    let mut s = session(false);
    let mut out = Vec::new();
    for piece in big.chunks(64 * 1024) {
        s.on_data(C2S, piece, Timestamp(1), &mut out);
        assert!(s.buffered_bytes() <= MAX_FRAME);
    }
    s.on_data(S2C, &resp, Timestamp(2), &mut out);
    s.on_close(Timestamp(3), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].request["api"], "Produce");
    assert_eq!(out[0].request_size, (MAX_FRAME + 104) as u64);
    assert_eq!(out[0].status.as_deref(), Some("NONE"));
}

#[test]
fn role_tells_producers_from_consumers() {
    assert_eq!(role(&exchange_of(&vector("produce v9 none")).request), Some("produce"));
    assert_eq!(role(&exchange_of(&vector("fetch v12")).request), Some("consume"));
    assert_eq!(role(&exchange_of(&vector("metadata v12")).request), None);
    assert_eq!(role(&json!({"api_key": 1, "replica_id": 2})), None, "a follower replicating");
}

#[test]
fn documented_filter_examples_select_the_golden_entries() {
    use crate::entry::Entry;
    use crate::filter::Filter;
    let entries: Vec<Entry> = include_str!("../../../tests/golden/kafka/calls.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let count = |f: &str| entries.iter().filter(|e| Filter::parse(f).unwrap().matches(e)).count();
    // The golden client produced one batch per codec (4) to topic "golden".
    assert_eq!(count(r#"kafka and request.api == "Produce" and request.topics contains "golden""#), 4);
    assert_eq!(count(r#"kafka and request.api == "Produce" and request.topics contains "other""#), 0);
    assert_eq!(count(r#"kafka and status == "TOPIC_ALREADY_EXISTS""#), 1);
    assert_eq!(count(r#"kafka and request.api == "Fetch" and request.topics contains "golden""#), 1);
}
