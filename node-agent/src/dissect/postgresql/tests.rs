//! Session tests. Real traffic: `testdata/session.segments` holds the TCP payloads of the golden
//! capture (PostgreSQL 15 with psql and psycopg 3, recorded by tests/golden/postgresql/record),
//! and `testdata/session.record` the clients' own record of each statement and its outcome.
//! Hand-built messages follow the protocol documentation's message formats
//! (https://www.postgresql.org/docs/15/protocol-message-formats.html).

use super::*;
use crate::dissect::{Direction, Exchange, StreamSession};
use crate::entry::Outcome;
use crate::time::Timestamp;
use serde_json::{json, Value};

const C: Direction = Direction::ClientToServer;
const S: Direction = Direction::ServerToClient;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

/// The recorded connections: per TCP stream, its segments in capture order.
fn recorded() -> Vec<Vec<(Direction, Vec<u8>)>> {
    let mut streams: Vec<Vec<(Direction, Vec<u8>)>> = Vec::new();
    for line in include_str!("testdata/session.segments").lines() {
        let mut f = line.split(' ');
        let (stream, dir, hex) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
        let stream: usize = stream.parse().unwrap();
        while streams.len() <= stream {
            streams.push(Vec::new());
        }
        streams[stream].push((if dir == "c" { C } else { S }, unhex(hex)));
    }
    streams
}

/// The clients' record: (connection label, SQL as sent on the wire, status).
fn client_record() -> Vec<(String, String, Option<String>)> {
    include_str!("testdata/session.record")
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            // psycopg sends %s placeholders as $1, $2, ...
            let mut sql = String::new();
            let mut n = 0;
            for (i, part) in v["query"].as_str().unwrap().split("%s").enumerate() {
                if i > 0 {
                    n += 1;
                    sql.push_str(&format!("${n}"));
                }
                sql.push_str(part);
            }
            (v["conn"].as_str().unwrap().to_owned(), sql, v["status"].as_str().map(str::to_owned))
        })
        .collect()
}

fn run(segments: &[(Direction, Vec<u8>)], mid: bool) -> Vec<Exchange> {
    let mut s = PgSession::new(MAX_FRAME_LIMIT, mid);
    let mut out = Vec::new();
    for (i, (dir, data)) in segments.iter().enumerate() {
        s.on_data(*dir, data, Timestamp(i as u64), &mut out);
    }
    s.on_close(Timestamp(1_000_000), &mut out);
    out
}

/// Statement entries (not startup, notification) as (query, status).
fn statements(entries: &[Exchange]) -> Vec<(String, Option<String>)> {
    entries
        .iter()
        .filter(|e| e.request.get("query").is_some())
        .map(|e| (e.request["query"].as_str().unwrap_or("<none>").to_owned(), e.status.clone()))
        .collect()
}

#[test]
fn every_statement_the_clients_ran_appears_once_with_its_outcome_in_order() {
    let got: Vec<_> = recorded().iter().flat_map(|segs| statements(&run(segs, false))).collect();
    let want: Vec<_> = client_record().into_iter().map(|(_, q, s)| (q, s)).collect();
    assert_eq!(got, want);
}

#[test]
fn entries_carry_startup_results_errors_and_parameters() {
    let streams = recorded();
    let psql = run(&streams[0], false);
    let startup = &psql[0];
    assert_eq!(startup.summary, "STARTUP postgres@postgres");
    assert_eq!(startup.request["application_name"], "psql");
    assert_eq!(startup.request["encryption_refused"], "SSLRequest");
    assert_eq!(startup.response.as_ref().unwrap()["authentication"][0], "SASL SCRAM-SHA-256");
    // The SCRAM messages are kept only in the secret field, and the registration names it.
    assert!(startup.request.get("sasl_data").is_some());
    assert!(SECRETS.fields.contains(&"sasl_data") && SECRETS.fields.contains(&"password"));
    let select = psql.iter().find(|e| e.status.as_deref() == Some("SELECT 3")).unwrap();
    let resp = select.response.as_ref().unwrap();
    assert_eq!(resp["columns"], json!([{"name": "id", "type": "int4"}, {"name": "name", "type": "text"}]));
    assert_eq!(resp["rows"], json!([["1", "a"], ["2", "b"], ["3", "<script>alert(1)</script>"]]));
    assert_eq!(resp["row_count"], 3);
    assert_eq!(select.request["database"], "postgres");
    assert_eq!(select.request["user"], "postgres");
    let missing = psql.iter().find(|e| e.status.as_deref() == Some("42P01")).unwrap();
    let err = &missing.response.as_ref().unwrap()["error"];
    assert_eq!(err["severity"], "ERROR");
    assert_eq!(err["message"], "relation \"missing_table\" does not exist");
    assert_eq!(err["position"], 15);
    assert_eq!(missing.outcome, Outcome::ClientError);
    let copy = psql.iter().find(|e| e.status.as_deref() == Some("COPY 3")).unwrap();
    assert_eq!(copy.response.as_ref().unwrap()["copy"]["rows"], 3);
    assert_eq!(copy.response.as_ref().unwrap()["copy"]["first_rows"][0], "1\ta");

    let two = run(&streams[1], false);
    let multi: Vec<_> = two.iter().filter(|e| e.request.get("statement_count").is_some()).collect();
    assert_eq!(multi.len(), 2);
    assert_eq!(multi[1].response.as_ref().unwrap()["rows"], json!([["20"]]));

    let ext = run(&streams[2], false);
    let first = ext.iter().find(|e| e.summary.starts_with("SELECT $1::int4")).unwrap();
    // Binary parameters as psycopg sent them: int2 40 and 2, text "x", bool true.
    assert_eq!(first.request["params"], json!([40, 2, "x", true]));
    assert_eq!(first.response.as_ref().unwrap()["rows"], json!([[42, "x", true]]));
    let typed = ext.iter().find(|e| e.summary.starts_with("SELECT $1::numeric")).unwrap();
    assert_eq!(typed.response.as_ref().unwrap()["rows"], json!([["12.50", 1.5, "2024-02-29"]]));
    let prepared: Vec<_> = ext.iter().filter(|e| e.request.get("statement").is_some()).collect();
    assert_eq!(prepared.len(), 2);
    assert_eq!(prepared[1].request["params"], json!([3]));
    assert_eq!(prepared[1].response.as_ref().unwrap()["rows"], json!([["<script>alert(1)</script>"]]));
    let copy_in = ext.iter().find(|e| e.status.as_deref() == Some("COPY 2")).unwrap();
    assert_eq!(copy_in.response.as_ref().unwrap()["copy"]["rows"], 2);
    let notify = ext.iter().find(|e| e.summary == "NOTIFY ch").unwrap();
    assert_eq!(notify.response.as_ref().unwrap()["notification"]["payload"], "hello");

    let pipeline = run(&streams[3], false);
    let skipped = pipeline.iter().find(|e| e.summary == "SELECT $1::int AS c").unwrap();
    assert_eq!(skipped.outcome, Outcome::Error);
    assert!(skipped.response.is_none());
    let boom = pipeline.iter().find(|e| e.status.as_deref() == Some("22012")).unwrap();
    assert_eq!(boom.summary, "SELECT 1/$1::int AS boom");
    assert_eq!(boom.request["params"], json!([0]));
}

/// Each connection with one segment cut in two at every byte, and all of it byte by byte.
#[test]
fn every_split_gives_the_same_entries() {
    for segs in recorded() {
        let whole = run(&segs, false);
        for (i, (dir, data)) in segs.iter().enumerate() {
            for cut in 1..data.len() {
                let mut split = segs.clone();
                split[i] = (*dir, data[..cut].to_vec());
                split.insert(i + 1, (*dir, data[cut..].to_vec()));
                let got = run(&split, false);
                assert_eq!(strip_ts(&got), strip_ts(&whole), "segment {i} cut at {cut}");
            }
        }
        let bytes: Vec<_> = segs.iter().flat_map(|(d, data)| data.iter().map(|b| (*d, vec![*b]))).collect();
        assert_eq!(strip_ts(&run(&bytes, false)), strip_ts(&whole));
    }
}

/// Timestamps follow the segments (which the splits renumber); everything else must not move.
fn strip_ts(entries: &[Exchange]) -> Vec<Exchange> {
    entries.iter().cloned().map(|e| Exchange { ts: Timestamp::ZERO, end_ts: None, ..e }).collect()
}

/// The (query, status) pairs of `got` that have both must be a subsequence of the record's.
fn assert_honest(got: &[(String, Option<String>)], want: &[(String, Option<String>)], what: &str) {
    let mut at = 0;
    for pair in got.iter().filter(|(q, s)| q != "<none>" && s.is_some()) {
        match want[at..].iter().position(|w| w == pair) {
            Some(k) => at += k + 1,
            None => panic!("{what}: {pair:?} is not in the clients' record (in order)"),
        }
    }
}

#[test]
fn mid_connection_pickup_never_mispairs_or_invents_sql() {
    let record = client_record();
    let per_stream: Vec<Vec<_>> = ["psql", "psql-c", "psycopg", "pipeline"]
        .iter()
        .map(|label| record.iter().filter(|(c, ..)| c == label).map(|(_, q, s)| (q.clone(), s.clone())).collect())
        .collect();
    for (n, segs) in recorded().iter().enumerate() {
        for start in 0..segs.len() {
            let got = statements(&run(&segs[start..], true));
            assert_honest(&got, &per_stream[n], &format!("stream {n} from segment {start}"));
            // Inside a segment too: start 3 bytes in.
            let mut cut = segs[start..].to_vec();
            if cut[0].1.len() > 3 {
                cut[0].1.drain(..3);
                let got = statements(&run(&cut, true));
                assert_honest(&got, &per_stream[n], &format!("stream {n} from segment {start}+3"));
            }
        }
        // Dropping any one segment (a capture gap) never pairs a request with another's response.
        for lost in 0..segs.len() {
            let mut s = PgSession::new(MAX_FRAME_LIMIT, false);
            let mut out = Vec::new();
            for (i, (dir, data)) in segs.iter().enumerate() {
                if i == lost {
                    s.on_gap(*dir, data.len() as u64, &mut out);
                } else {
                    s.on_data(*dir, data, Timestamp(i as u64), &mut out);
                }
            }
            s.on_close(Timestamp(0), &mut out);
            assert_honest(&statements(&out), &per_stream[n], &format!("stream {n} without segment {lost}"));
        }
    }
}

// ---- hand-built messages (protocol-message-formats) ----

fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![tag];
    m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    m.extend_from_slice(body);
    m
}

fn startup(params: &[(&str, &str)]) -> Vec<u8> {
    let mut body = 196_608u32.to_be_bytes().to_vec();
    for (k, v) in params {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut m = (body.len() as u32 + 4).to_be_bytes().to_vec();
    m.extend_from_slice(&body);
    m
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

fn query(sql: &str) -> Vec<u8> {
    msg(b'Q', &cstr(sql))
}

fn complete(tag: &str) -> Vec<u8> {
    msg(b'C', &cstr(tag))
}

fn ready() -> Vec<u8> {
    msg(b'Z', b"I")
}

fn error(code: &str, message: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for (k, v) in [(b'S', "ERROR"), (b'V', "ERROR"), (b'C', code), (b'M', message)] {
        b.push(k);
        b.extend(cstr(v));
    }
    b.push(0);
    msg(b'E', &b)
}

fn feed(s: &mut PgSession, steps: &[(Direction, Vec<u8>)]) -> Vec<Exchange> {
    let mut out = Vec::new();
    for (i, (d, b)) in steps.iter().enumerate() {
        s.on_data(*d, b, Timestamp(i as u64), &mut out);
    }
    out
}

#[test]
fn ssl_accepted_gives_one_entry_and_stops() {
    let mut s = PgSession::new(MAX_FRAME_LIMIT, false);
    let ssl = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f].to_vec();
    let out = feed(&mut s, &[(C, ssl), (S, b"S".to_vec()), (C, vec![0x16, 3, 1, 0, 5, 1, 2, 3, 4, 5])]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].request["encryption_request"], "SSLRequest");
    assert!(s.is_done());
}

#[test]
fn several_statements_in_one_query_and_an_error_in_the_middle() {
    let mut s = PgSession::new(MAX_FRAME_LIMIT, false);
    let q = query("INSERT INTO a VALUES (1); SELECT * FROM nope; SELECT 'x;y'");
    let mut resp = complete("INSERT 0 1");
    resp.extend(error("42P01", "relation \"nope\" does not exist"));
    resp.extend(ready());
    let out = feed(&mut s, &[(C, q), (S, resp)]);
    let got: Vec<_> =
        out.iter().map(|e| (e.request["query"].as_str().unwrap(), e.status.as_deref(), e.outcome)).collect();
    assert_eq!(
        got,
        vec![
            ("INSERT INTO a VALUES (1)", Some("INSERT 0 1"), Outcome::Ok),
            ("SELECT * FROM nope", Some("42P01"), Outcome::ClientError),
            ("SELECT 'x;y'", None, Outcome::Error),
        ]
    );
}

#[test]
fn serialization_failure_is_a_server_error_and_a_closed_connection_no_response() {
    assert_eq!(sqlstate_outcome("40001"), Outcome::ServerError);
    assert_eq!(sqlstate_outcome("23505"), Outcome::ClientError);
    let mut s = PgSession::new(MAX_FRAME_LIMIT, false);
    let mut out = feed(&mut s, &[(C, query("SELECT pg_sleep(10)"))]);
    s.on_close(Timestamp(9), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].outcome, Outcome::NoResponse);
}

#[test]
fn a_large_result_streams_through_with_bounded_rows_and_memory() {
    let mut s = PgSession::new(64 * 1024, false);
    let mut out = feed(&mut s, &[(C, query("SELECT g FROM generate_series(1, 200000) g"))]);
    let mut desc = 1u16.to_be_bytes().to_vec();
    desc.extend(cstr("g"));
    desc.extend([0; 6]);
    desc.extend(23u32.to_be_bytes());
    desc.extend([0, 4, 255, 255, 255, 255, 0, 0]);
    s.on_data(S, &msg(b'T', &desc), Timestamp(1), &mut out);
    let mut chunk = Vec::new();
    let mut max_buffered = 0;
    for i in 1..=200_000u32 {
        let v = i.to_string();
        let mut row = 1u16.to_be_bytes().to_vec();
        row.extend((v.len() as u32).to_be_bytes());
        row.extend(v.as_bytes());
        chunk.extend(msg(b'D', &row));
        if chunk.len() > 1400 {
            // Cut mid-message, as TCP segments do.
            let rest = chunk.split_off(1000);
            s.on_data(S, &chunk, Timestamp(2), &mut out);
            chunk = rest;
            max_buffered = max_buffered.max(s.buffered_bytes());
        }
    }
    chunk.extend(complete("SELECT 200000"));
    chunk.extend(ready());
    s.on_data(S, &chunk, Timestamp(3), &mut out);
    assert_eq!(out.len(), 1);
    let resp = out[0].response.as_ref().unwrap();
    assert_eq!(resp["row_count"], 200_000);
    assert_eq!(resp["rows"].as_array().unwrap().len(), MAX_ROWS);
    assert_eq!(resp["rows"][0], json!(["1"]));
    assert!(max_buffered < 1500, "{max_buffered}");
}

#[test]
fn oversized_messages_are_cut_not_buffered() {
    let mut s = PgSession::new(16 * 1024, false);
    let sql = format!("SELECT '{}'", "x".repeat(100_000));
    let mut out = feed(&mut s, &[(C, query(&sql))]);
    assert!(s.buffered_bytes() <= 16 * 1024);
    let mut resp = complete("SELECT 1");
    resp.extend(ready());
    s.on_data(S, &resp, Timestamp(1), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].status.as_deref(), Some("SELECT 1"));
    assert_eq!(out[0].request_size, 1 + 4 + sql.len() as u64 + 1);
}

#[test]
fn cleartext_password_and_cancel_request() {
    let mut s = PgSession::new(MAX_FRAME_LIMIT, false);
    let out = feed(
        &mut s,
        &[
            (C, startup(&[("user", "alice"), ("database", "shop")])),
            (S, msg(b'R', &3u32.to_be_bytes())),
            (C, msg(b'p', &cstr("hunter2"))),
            (S, [msg(b'R', &0u32.to_be_bytes()), msg(b'K', &[0, 0, 0, 7, 1, 2, 3, 4]), ready()].concat()),
        ],
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].summary, "STARTUP alice@shop");
    assert_eq!(out[0].request["password"], "hunter2");
    assert_eq!(out[0].response.as_ref().unwrap()["backend_pid"], 7);
    let mut c = PgSession::new(MAX_FRAME_LIMIT, false);
    let cancel = [0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0, 7, 1, 2, 3, 4].to_vec();
    let out = feed(&mut c, &[(C, cancel)]);
    assert_eq!(out[0].request["cancel"]["backend_pid"], 7);
}

#[test]
fn probe_finds_postgresql_by_content_and_refuses_other_protocols() {
    assert_eq!(probe(&startup(&[("user", "u")])), Probe::Client);
    assert_eq!(probe(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]), Probe::Client);
    assert_eq!(probe(&startup(&[("user", "u")])[..6]), Probe::NeedMore);
    assert_eq!(probe(&query("SELECT 1")), Probe::Client);
    assert_eq!(probe(&[complete("SELECT 1"), ready()].concat()), Probe::Server);
    for other in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"POST /x HTTP/1.1\r\n",
        b"HTTP/1.1 200 OK\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"*1\r\n$4\r\nPING\r\n",
        b"+OK\r\n",
        b"AMQP\x00\x00\x09\x01",
        b"\x00\x00\x00\x14\x00\x12\x00\x03\x00\x00\x00\x01\x00\x06client",
        b"\x4a\x00\x00\x00\x0a\x38\x2e\x30\x2e\x33\x36\x00",
        b"\x3a\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xdd\x07\x00\x00",
        b"SSH-2.0-OpenSSH_9.2\r\n",
    ] {
        assert_eq!(probe(other), Probe::No, "{other:?}");
    }
}

#[test]
fn malformed_input_never_panics() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..300 {
        let mut s = PgSession::new(4096, seed % 2 == 0);
        let mut out = Vec::new();
        for step in 0..20 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 64) as usize;
            let mut data: Vec<u8> = (0..len).map(|i| (seed >> (i % 56)) as u8).collect();
            if step % 3 == 0 {
                data = [query("SELECT 1"), data].concat();
            }
            let dir = if seed % 3 == 0 { S } else { C };
            s.on_data(dir, &data, Timestamp(step), &mut out);
            if seed % 11 == 0 {
                s.on_gap(dir, seed % 100, &mut out);
            }
            assert!(s.buffered_bytes() <= 2 * 4096);
        }
        s.on_close(Timestamp(99), &mut out);
    }
}

#[test]
fn function_call_notice_and_copy_in() {
    let mut s = PgSession::new(MAX_FRAME_LIMIT, false);
    // FunctionCall: oid 1598, no format codes, one text argument "x"; answered V then Z.
    let mut f = 1598u32.to_be_bytes().to_vec();
    f.extend([0, 0, 0, 1, 0, 0, 0, 1, b'x', 0, 0]);
    let mut v = 2u32.to_be_bytes().to_vec();
    v.extend(b"ok");
    let mut notice = Vec::new();
    for (k, val) in [(b'S', "NOTICE"), (b'V', "NOTICE"), (b'C', "00000"), (b'M', "hello")] {
        notice.push(k);
        notice.extend(cstr(val));
    }
    notice.push(0);
    let out = feed(&mut s, &[(C, msg(b'F', &f)), (S, [msg(b'N', &notice), msg(b'V', &v), ready()].concat())]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].summary, "FunctionCall 1598");
    assert_eq!(out[0].request["arguments"], 1);
    assert_eq!(out[0].response.as_ref().unwrap()["notices"][0]["message"], "hello");
    assert_eq!(out[0].response.as_ref().unwrap()["rows"], json!([["ok"]]));
    // COPY FROM STDIN: CopyInResponse (text, 2 columns), rows sent as CopyData in pieces, CopyDone.
    let out = feed(
        &mut s,
        &[
            (C, query("COPY t FROM STDIN")),
            (S, msg(b'G', &[0, 0, 2, 0, 0, 0, 0])),
            (C, [msg(b'd', b"1\ta\n2\t"), msg(b'd', b"b\n3\tc\n"), msg(b'c', b"")].concat()),
            (S, [complete("COPY 3"), ready()].concat()),
        ],
    );
    let copy = &out[0].response.as_ref().unwrap()["copy"];
    assert_eq!((copy["direction"].as_str(), copy["rows"].as_u64()), (Some("in"), Some(3)));
    assert_eq!(copy["first_rows"], json!(["1\ta", "2\tb", "3\tc"]));
    assert_eq!(out[0].status.as_deref(), Some("COPY 3"));
}

#[test]
fn a_failed_parse_without_execute_is_its_own_entry_and_named_statements_resolve() {
    let mut s = PgSession::new(MAX_FRAME_LIMIT, false);
    let parse = |name: &str, sql: &str| msg(b'P', &[cstr(name), cstr(sql), vec![0, 0]].concat());
    let bind = |portal: &str, stmt: &str, v: &str| {
        let mut b = [cstr(portal), cstr(stmt)].concat();
        b.extend([0, 0, 0, 1]);
        b.extend((v.len() as u32).to_be_bytes());
        b.extend(v.as_bytes());
        b.extend([0, 0]);
        msg(b'B', &b)
    };
    let exec = |portal: &str| msg(b'E', &[cstr(portal), vec![0, 0, 0, 0]].concat());
    let sync = msg(b'S', b"");
    let out = feed(
        &mut s,
        &[
            (C, [parse("bad", "SELEC 1"), sync.clone()].concat()),
            (S, [error("42601", "syntax error at or near \"SELEC\""), ready()].concat()),
            (C, [parse("s1", "SELECT $1"), sync.clone()].concat()),
            (S, [msg(b'1', b""), ready()].concat()),
            (C, [bind("p", "s1", "7"), exec("p"), sync].concat()),
            (S, [msg(b'2', b""), msg(b'D', &[0, 1, 0, 0, 0, 1, b'7']), complete("SELECT 1"), ready()].concat()),
        ],
    );
    let got: Vec<_> = out.iter().map(|e| (e.request["query"].as_str(), e.status.as_deref())).collect();
    assert_eq!(got, vec![(Some("SELEC 1"), Some("42601")), (Some("SELECT $1"), Some("SELECT 1"))]);
    assert_eq!(out[1].request["params"], json!(["7"]));
    assert_eq!(out[1].request["statement"], "s1");
    assert_eq!(out[1].request["portal"], "p");
}
