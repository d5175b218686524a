//! Unit tests. Packets come from the MySQL protocol reference's examples (marked "reference"),
//! from conversations recorded off MariaDB with PyMySQL and mysql-connector-python
//! (`testdata/*.conv`, checked against the clients' own record in `testdata/*.expect.json`, see
//! `testdata/record.py`), and from small builders for the mechanics (splits, gaps, bounds).

use super::*;
use crate::dissect::{Direction, Exchange, StreamSession};
use crate::entry::Outcome;
use crate::time::Timestamp;
use serde_json::{json, Value};

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// One packet: header and payload.
fn pkt(seq: u8, payload: &[u8]) -> Vec<u8> {
    let n = payload.len();
    let mut v = vec![n as u8, (n >> 8) as u8, (n >> 16) as u8, seq];
    v.extend_from_slice(payload);
    v
}

fn lenenc_str(s: &[u8]) -> Vec<u8> {
    assert!(s.len() < 251);
    let mut v = vec![s.len() as u8];
    v.extend_from_slice(s);
    v
}

fn column(name: &str, type_code: u8, flags: u16) -> Vec<u8> {
    let mut v = Vec::new();
    for part in [&b"def"[..], b"test", b"t", b"t", name.as_bytes(), name.as_bytes()] {
        v.extend(lenenc_str(part));
    }
    v.extend([0x0c, 0x21, 0x00, 0x0b, 0, 0, 0, type_code]);
    v.extend(flags.to_le_bytes());
    v.extend([0, 0, 0]);
    v
}

fn ok(affected: u8, insert_id: u8, status: u16, warnings: u16) -> Vec<u8> {
    let mut v = vec![0x00, affected, insert_id];
    v.extend(status.to_le_bytes());
    v.extend(warnings.to_le_bytes());
    v
}

fn eof(status: u16) -> Vec<u8> {
    let mut v = vec![0xfe, 0, 0];
    v.extend(status.to_le_bytes());
    v
}

fn err(code: u16, state: &str, msg: &str) -> Vec<u8> {
    let mut v = vec![0xff];
    v.extend(code.to_le_bytes());
    v.push(b'#');
    v.extend(state.as_bytes());
    v.extend(msg.as_bytes());
    v
}

fn query(sql: &str) -> Vec<u8> {
    let mut p = vec![0x03];
    p.extend(sql.as_bytes());
    pkt(0, &p)
}

type Turns = Vec<(Direction, Vec<u8>)>;

/// Feeds the turns in order, each in the given pieces; checks the memory bound on the way.
fn run_with(saw_handshake: bool, turns: &[(Direction, Vec<Vec<u8>>)]) -> Vec<Exchange> {
    let mut s = MysqlSession::new(Limits::default(), saw_handshake);
    let mut out = Vec::new();
    for (i, (dir, pieces)) in turns.iter().enumerate() {
        for p in pieces {
            s.on_data(*dir, p, Timestamp(i as u64 + 1), &mut out);
            assert!(s.buffered_bytes() <= 2 * framing::MAX_FRAME + framing::KEPT_PAYLOAD + (1 << 18));
        }
    }
    s.on_close(Timestamp(1000), &mut out);
    out
}

fn run(saw_handshake: bool, turns: &Turns) -> Vec<Exchange> {
    let whole: Vec<_> = turns.iter().map(|(d, b)| (*d, vec![b.clone()])).collect();
    run_with(saw_handshake, &whole)
}

/// The exchanges of the turns fed whole, checked to be the same when any one turn is cut at any
/// byte boundary, and when every turn is fed byte by byte.
fn split_invariant(saw_handshake: bool, turns: &Turns) -> Vec<Exchange> {
    let whole = run(saw_handshake, turns);
    for t in 0..turns.len() {
        let bytes = &turns[t].1;
        for k in 0..=bytes.len() {
            let cut: Vec<_> = turns
                .iter()
                .enumerate()
                .map(
                    |(i, (d, b))| {
                        if i == t {
                            (*d, vec![b[..k].to_vec(), b[k..].to_vec()])
                        } else {
                            (*d, vec![b.clone()])
                        }
                    },
                )
                .collect();
            assert_eq!(run_with(saw_handshake, &cut), whole, "turn {t} cut at {k}");
        }
    }
    let bytewise: Vec<_> = turns.iter().map(|(d, b)| (*d, b.chunks(1).map(<[u8]>::to_vec).collect())).collect();
    assert_eq!(run_with(saw_handshake, &bytewise), whole, "byte by byte");
    whole
}

fn resp(e: &Exchange) -> &Value {
    e.response.as_ref().expect("a response")
}

// ------------------------------------------------------------------ reference examples

/// The reference's text result set example: `select @@version_comment limit 1` answered with one
/// VAR_STRING column and one row, EOF after the columns and the rows.
fn reference_result_set() -> Turns {
    let q = unhex("21000000 0373656c65637420404076657273696f6e5f636f6d6d656e74206c696d69742031");
    let r = unhex(
        "01000001 01
         27000002 0364656600000011404076657273696f6e5f636f6d6d656e74000c0800 1c000000 fd 0000 1f 0000
         05000003 fe00000200
         1d000004 1c4d7953514c20436f6d6d756e69747920536572766572202847504c29
         05000005 fe00000200",
    );
    vec![(C2S, q), (S2C, r)]
}

#[test]
fn reference_text_result_set() {
    let out = split_invariant(true, &reference_result_set());
    assert_eq!(out.len(), 1, "{out:#?}");
    let e = &out[0];
    assert_eq!(e.protocol, "mysql");
    assert_eq!(e.request["command"], "COM_QUERY");
    assert_eq!(e.request["query"], "select @@version_comment limit 1");
    assert_eq!(e.summary, "select @@version_comment limit 1");
    assert_eq!(e.status.as_deref(), Some("OK"));
    assert_eq!(e.outcome, Outcome::Ok);
    let r = resp(e);
    assert_eq!(r["columns"], json!([{"name": "@@version_comment", "type": "VAR_STRING"}]));
    assert_eq!(r["rows"], json!([["MySQL Community Server (GPL)"]]));
    assert_eq!(r["row_count"], 1);
    assert_eq!(e.request_size, 37);
    assert_eq!(e.response_size, 5 + 43 + 9 + 33 + 9);
    assert_eq!(e.ts, Timestamp(1));
    assert_eq!(e.end_ts, Some(Timestamp(2)));
}

/// The reference's ERR example (1096 "No tables used") and OK example.
#[test]
fn reference_err_and_ok() {
    let turns = vec![
        (C2S, query("select 1 from dual where x")),
        (S2C, unhex("17000001 ff 4804 23 4859303030 4e6f207461626c65732075736564")),
        (C2S, query("insert into t values (1)")),
        (S2C, unhex("07000001 00 01 00 0200 0000")),
    ];
    let out = split_invariant(true, &turns);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].status.as_deref(), Some("1096"));
    assert_eq!(out[0].outcome, Outcome::ServerError, "HY000 is the general (server) class");
    assert_eq!(resp(&out[0])["error"], json!({"code": 1096, "sqlstate": "HY000", "message": "No tables used"}));
    assert_eq!(out[1].status.as_deref(), Some("OK"));
    assert_eq!(resp(&out[1])["affected_rows"], 1);
    assert_eq!(resp(&out[1])["last_insert_id"], 0);
    assert_eq!(resp(&out[1])["warnings"], 0);
}

// ------------------------------------------------------------------ mechanics

#[test]
fn deprecate_eof_result_set_and_multiple_results() {
    // Two result sets, the first ending with an OK headed 0xFE carrying MORE_RESULTS, then an OK.
    let mut r = pkt(1, &[1]);
    r.extend(pkt(2, &column("a", 0x08, 0)));
    r.extend(pkt(3, &[1, b'1']));
    r.extend(pkt(4, &[0xfb]));
    let mut more = ok(0, 0, 0x0008 | 0x0002, 0);
    more[0] = 0xfe;
    r.extend(pkt(5, &more));
    r.extend(pkt(6, &ok(3, 7, 0x0002, 1)));
    let turns = vec![(C2S, query("select a from t; update t set a=1")), (S2C, r)];
    let out = split_invariant(true, &turns);
    assert_eq!(out.len(), 1);
    let r = resp(&out[0]);
    assert_eq!(r["columns"], json!([{"name": "a", "type": "LONGLONG"}]));
    assert_eq!(r["rows"], json!([["1"], [null]]));
    assert_eq!(r["row_count"], 2);
    assert_eq!(r["more_results"], json!([{"affected_rows": 3, "last_insert_id": 7, "warnings": 1}]));
    assert_eq!(r["result_count"], 2);
    assert_eq!(out[0].status.as_deref(), Some("OK"));
}

#[test]
fn an_error_in_a_later_statement_is_the_status() {
    let mut r = pkt(1, &ok(1, 0, 0x000A, 0));
    r.extend(pkt(2, &err(1146, "42S02", "Table 'test.nope' doesn't exist")));
    let out = split_invariant(true, &vec![(C2S, query("insert into t values(2); select * from nope")), (S2C, r)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].status.as_deref(), Some("1146"));
    assert_eq!(out[0].outcome, Outcome::ClientError);
    let r = resp(&out[0]);
    assert_eq!(r["affected_rows"], 1);
    assert_eq!(r["error"]["code"], 1146);
    assert!(r.get("more_results").is_none());
}

fn prepare_and_execute() -> Turns {
    let mut prep = vec![0x16];
    prep.extend(b"select a, b from t where a > ? and b = ?");
    // Prepare OK: id 7, 2 columns, 2 params; then param defs, EOF, column defs, EOF.
    let mut r = pkt(1, &[0, 7, 0, 0, 0, 2, 0, 2, 0, 0, 0, 0]);
    r.extend(pkt(2, &column("?", 0xfd, 0)));
    r.extend(pkt(3, &column("?", 0xfd, 0)));
    r.extend(pkt(4, &eof(2)));
    r.extend(pkt(5, &column("a", 0x03, 0)));
    r.extend(pkt(6, &column("b", 0xfd, 0)));
    r.extend(pkt(7, &eof(2)));
    // Execute id 7: flags 0, iterations 1, null bitmap 0, bound 1, types LONGLONG unsigned and
    // VAR_STRING, values 5 and "x".
    let mut ex = vec![0x17, 7, 0, 0, 0, 0, 1, 0, 0, 0, 0b00, 1, 0x08, 0x80, 0xfd, 0x00];
    ex.extend(5u64.to_le_bytes());
    ex.extend([1, b'x']);
    // Binary result: 2 columns, EOF, one row (a = -3, b NULL), EOF.
    let mut rows = pkt(1, &[2]);
    rows.extend(pkt(2, &column("a", 0x03, 0)));
    rows.extend(pkt(3, &column("b", 0xfd, 0)));
    rows.extend(pkt(4, &eof(2)));
    let mut row = vec![0x00, 0b0000_1000];
    row.extend((-3i32).to_le_bytes());
    rows.extend(pkt(5, &row));
    rows.extend(pkt(6, &eof(2)));
    // A second execution that does not send the types again: a NULL and "yz".
    let mut ex2 = vec![0x17, 7, 0, 0, 0, 0, 1, 0, 0, 0, 0b01, 0];
    ex2.extend([2, b'y', b'z']);
    let close = vec![0x19, 7, 0, 0, 0];
    vec![
        (C2S, pkt(0, &prep)),
        (S2C, r),
        (C2S, pkt(0, &ex)),
        (S2C, rows),
        (C2S, pkt(0, &ex2)),
        (S2C, pkt(1, &err(1064, "42000", "You have an error"))),
        (C2S, pkt(0, &close)),
    ]
}

#[test]
fn prepared_statements_map_ids_to_sql_and_decode_parameters() {
    let out = split_invariant(true, &prepare_and_execute());
    assert_eq!(out.len(), 4, "{out:#?}");
    assert_eq!(out[0].request["command"], "COM_STMT_PREPARE");
    assert_eq!(resp(&out[0])["statement_id"], 7);
    assert_eq!(resp(&out[0])["params"], 2);
    assert_eq!(out[1].request["command"], "COM_STMT_EXECUTE");
    assert_eq!(out[1].request["query"], "select a, b from t where a > ? and b = ?");
    assert_eq!(out[1].request["params"], json!([5, "x"]));
    assert_eq!(out[1].request["statement_id"], 7);
    assert_eq!(resp(&out[1])["rows"], json!([[-3, null]]));
    assert_eq!(resp(&out[1])["columns"], json!([{"name": "a", "type": "LONG"}, {"name": "b", "type": "VAR_STRING"}]));
    assert_eq!(out[2].request["params"], json!([null, "yz"]));
    assert_eq!(out[2].status.as_deref(), Some("1064"));
    assert_eq!(out[2].outcome, Outcome::ClientError);
    assert_eq!(out[3].request["command"], "COM_STMT_CLOSE");
    assert_eq!(out[3].summary, "STMT_CLOSE select a, b from t where a > ? and b = ?");
    assert!(out[3].response.is_none());
    assert_eq!(out[3].outcome, Outcome::Ok);
}

fn greeting() -> Vec<u8> {
    let mut g = vec![10];
    g.extend(b"10.11.6-MariaDB-0+deb12u1\0");
    g.extend(42u32.to_le_bytes());
    g.extend(b"abcdefgh\0");
    let caps: u32 = 0xF7FE | packet::CLIENT_PLUGIN_AUTH | packet::CLIENT_DEPRECATE_EOF | 0x000F_0000;
    g.extend((caps as u16).to_le_bytes());
    g.push(0x2d);
    g.extend(2u16.to_le_bytes());
    g.extend(((caps >> 16) as u16).to_le_bytes());
    g.push(21);
    g.extend([0; 10]);
    g.extend(b"ijklmnopqrst\0");
    g.extend(b"mysql_native_password\0");
    pkt(0, &g)
}

fn login(ssl_only: bool, compress: bool) -> Vec<u8> {
    let mut caps = packet::CLIENT_PROTOCOL_41
        | packet::CLIENT_SECURE_CONNECTION
        | packet::CLIENT_PLUGIN_AUTH
        | packet::CLIENT_CONNECT_WITH_DB;
    if ssl_only {
        caps |= packet::CLIENT_SSL;
    }
    if compress {
        caps |= packet::CLIENT_COMPRESS;
    }
    let mut l = Vec::new();
    l.extend(caps.to_le_bytes());
    l.extend((1u32 << 24).to_le_bytes());
    l.push(0x21);
    l.extend([0; 23]);
    if !ssl_only {
        l.extend(b"alice\0");
        l.push(20);
        l.extend([0xAA; 20]);
        l.extend(b"shop\0mysql_native_password\0");
    }
    pkt(1, &l)
}

#[test]
fn handshake_reports_user_database_and_server_and_never_the_auth_data() {
    let turns = vec![
        (S2C, greeting()),
        (C2S, login(false, false)),
        (S2C, pkt(2, &ok(0, 0, 2, 0))),
        (C2S, query("select 1")),
        (S2C, pkt(1, &ok(0, 0, 2, 0))),
    ];
    let out = split_invariant(true, &turns);
    assert_eq!(out.len(), 2, "{out:#?}");
    let h = &out[0];
    assert_eq!(h.request["command"], "handshake");
    assert_eq!(h.request["user"], "alice");
    assert_eq!(h.request["database"], "shop");
    assert_eq!(h.summary, "handshake alice@shop");
    assert_eq!(resp(h)["server_version"], "10.11.6-MariaDB-0+deb12u1");
    assert_eq!(resp(h)["connection_id"], 42);
    assert_eq!(h.status.as_deref(), Some("OK"));
    let text = serde_json::to_string(&(h.request.clone(), h.response.clone())).unwrap();
    assert!(!text.contains("abcdefgh") && !text.contains("ijklmnop"), "scramble shown: {text}");
    assert_eq!(out[1].request["query"], "select 1");
}

#[test]
fn failed_login_is_reported_with_its_error() {
    let turns = vec![
        (S2C, greeting()),
        (C2S, login(false, false)),
        (S2C, pkt(2, &err(1045, "28000", "Access denied for user 'alice'@'localhost' (using password: YES)"))),
    ];
    let out = split_invariant(true, &turns);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].status.as_deref(), Some("1045"));
    assert_eq!(out[0].outcome, Outcome::ClientError);
}

#[test]
fn tls_switch_is_one_entry_then_nothing() {
    let turns = vec![
        (S2C, greeting()),
        (C2S, login(true, false)),
        (C2S, unhex("160301020001000000")),
        (S2C, unhex("160303007a020000")),
    ];
    let out = split_invariant(true, &turns);
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(out[0].request["tls"], true);
    assert_eq!(resp(&out[0])["encrypted"], true);
    assert!(out[0].notes.iter().any(|n| n.contains("TLS")));
}

#[test]
fn compressed_protocol_is_reported_not_decoded() {
    let turns = vec![
        (S2C, greeting()),
        (C2S, login(false, true)),
        (S2C, pkt(2, &ok(0, 0, 2, 0))),
        (C2S, unhex("0d0000000d000078da636060606006000006")),
    ];
    let out = split_invariant(true, &turns);
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(resp(&out[0])["compressed"], true);
}

#[test]
fn ping_init_db_quit_and_no_response_at_close() {
    let turns = vec![
        (C2S, pkt(0, &[0x0e])),
        (S2C, pkt(1, &ok(0, 0, 2, 0))),
        (C2S, pkt(0, b"\x02shop")),
        (S2C, pkt(1, &err(1049, "42000", "Unknown database 'shop'"))),
        (C2S, query("select sleep(10)")),
    ];
    let out = split_invariant(true, &turns);
    let got: Vec<_> = out.iter().map(|e| (e.summary.as_str(), e.status.as_deref(), e.outcome)).collect();
    assert_eq!(
        got,
        vec![
            ("PING", Some("OK"), Outcome::Ok),
            ("INIT_DB shop", Some("1049"), Outcome::ClientError),
            ("select sleep(10)", None, Outcome::NoResponse)
        ]
    );
    assert_eq!(out[1].request["database"], "shop");
    let quit = run(true, &vec![(C2S, pkt(0, &[0x01]))]);
    assert_eq!((quit[0].request["command"].as_str(), quit[0].outcome), (Some("COM_QUIT"), Outcome::Ok));
}

#[test]
fn load_data_local_infile() {
    let mut file = pkt(2, b"1,a\n2,b\n");
    file.extend(pkt(3, b""));
    let turns = vec![
        (C2S, query("LOAD DATA LOCAL INFILE '/tmp/x.csv' INTO TABLE t")),
        (S2C, pkt(1, b"\xfb/tmp/x.csv")),
        (C2S, file),
        (S2C, pkt(4, &ok(2, 0, 2, 0))),
        (C2S, query("select 2")),
        (S2C, pkt(1, &ok(0, 0, 2, 0))),
    ];
    let out = split_invariant(true, &turns);
    assert_eq!(out.len(), 2, "{out:#?}");
    assert_eq!(resp(&out[0])["local_infile"], "/tmp/x.csv");
    assert_eq!(resp(&out[0])["affected_rows"], 2);
    assert_eq!(out[0].request_size, (4 + 49) + 12 + 4);
    assert_eq!(out[1].request["query"], "select 2");
}

#[test]
fn rows_are_bounded_and_counted_exactly() {
    let mut r = pkt(1, &[1]);
    r.extend(pkt(2, &column("n", 0xfd, 0)));
    let mut seq = 3u8;
    for i in 0..1000 {
        r.extend(pkt(seq, &lenenc_str(format!("{i}").as_bytes())));
        seq = seq.wrapping_add(1);
    }
    let mut end = ok(0, 0, 2, 0);
    end[0] = 0xfe;
    r.extend(pkt(seq, &end));
    let out = run(true, &vec![(C2S, query("select n from big")), (S2C, r)]);
    assert_eq!(out.len(), 1);
    let r = resp(&out[0]);
    assert_eq!(r["row_count"], 1000);
    assert_eq!(r["rows"].as_array().unwrap().len(), Limits::default().rows);
    assert_eq!(r["rows"][9], json!(["9"]));
}

/// A payload of 16 MiB and more comes as a 0xFFFFFF packet and a shorter one: joined, and only
/// its head kept.
#[test]
fn packets_over_16_mib_are_joined() {
    let sql_len = packet::MAX_PAYLOAD - 1 + 10;
    let mut sql = vec![b'x'; sql_len];
    sql[..7].copy_from_slice(b"select ");
    let mut payload = vec![0x03];
    payload.extend(&sql);
    let mut c = Vec::new();
    c.extend(pkt(0, &payload[..packet::MAX_PAYLOAD]));
    c.extend(pkt(1, &payload[packet::MAX_PAYLOAD..]));
    let turns = vec![(C2S, c.clone()), (S2C, pkt(1, &ok(0, 0, 2, 0)))];
    let whole = run(true, &turns);
    assert_eq!(whole.len(), 1, "{whole:#?}");
    assert_eq!(whole[0].request_size, c.len() as u64);
    assert_eq!(whole[0].request["query_truncated"], true);
    assert_eq!(whole[0].request["query"].as_str().unwrap().len(), Limits::default().query);
    assert_eq!(whole[0].status.as_deref(), Some("OK"));
    for k in [1, 4, 5, 1000, packet::MAX_PAYLOAD + 3, packet::MAX_PAYLOAD + 4, packet::MAX_PAYLOAD + 6, c.len() - 1] {
        let cut = vec![(C2S, vec![c[..k].to_vec(), c[k..].to_vec()]), (S2C, vec![pkt(1, &ok(0, 0, 2, 0))])];
        assert_eq!(run_with(true, &cut), whole, "cut at {k}");
    }
}

#[test]
fn mid_connection_pickup_resynchronises_and_invents_nothing() {
    // The capture starts inside a response's rows and inside a query: both are skipped; the
    // next command and its response are found.
    let (_, full) = reference_result_set().remove(1);
    let tail_of_response = full[20..].to_vec();
    let mut c = b"ere id = 3".to_vec();
    c.extend(query("select 2"));
    let turns = vec![(S2C, tail_of_response), (C2S, c), (S2C, pkt(1, &ok(0, 0, 2, 0)))];
    let out = split_invariant(false, &turns);
    assert_eq!(out.len(), 1, "{out:#?}");
    assert!(out[0].notes.is_empty(), "{out:#?}");
    assert_eq!(out[0].request["query"], "select 2");
    assert_eq!(out[0].status.as_deref(), Some("OK"));
}

#[test]
fn a_gap_in_a_response_reports_the_command_without_response_and_resyncs() {
    let (_, full) = reference_result_set().remove(1);
    let mut s = MysqlSession::new(Limits::default(), true);
    let mut out = Vec::new();
    s.on_data(C2S, &query("select @@version_comment limit 1"), Timestamp(1), &mut out);
    s.on_data(S2C, &full[..10], Timestamp(2), &mut out);
    s.on_gap(S2C, 30, &mut out);
    s.on_data(S2C, &full[40..], Timestamp(3), &mut out);
    s.on_data(C2S, &query("select 2"), Timestamp(4), &mut out);
    s.on_data(S2C, &pkt(1, &err(1146, "42S02", "Table 'test.t' doesn't exist")), Timestamp(5), &mut out);
    s.on_close(Timestamp(6), &mut out);
    let got: Vec<_> = out.iter().map(|e| (e.summary.as_str(), e.status.as_deref(), e.outcome)).collect();
    assert_eq!(
        got,
        vec![
            ("select @@version_comment limit 1", None, Outcome::NoResponse),
            ("select 2", Some("1146"), Outcome::ClientError)
        ]
    );
    assert!(out[0].notes.iter().any(|n| n.contains("gap")), "{:?}", out[0].notes);
}

#[test]
fn a_gap_in_a_command_reports_its_response_without_sql() {
    let mut s = MysqlSession::new(Limits::default(), true);
    let mut out = Vec::new();
    let q = query("select * from secret_table");
    s.on_data(C2S, &q[..6], Timestamp(1), &mut out);
    s.on_gap(C2S, (q.len() - 6) as u64, &mut out);
    s.on_data(S2C, &pkt(1, &ok(0, 0, 2, 0)), Timestamp(2), &mut out);
    s.on_close(Timestamp(3), &mut out);
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(out[0].request["command"], "unknown");
    assert!(out[0].request.get("query").is_none());
    assert!(out[0].notes.iter().any(|n| n.contains("command lost")));
}

#[test]
fn probe_recognises_greetings_and_commands_and_refuses_others() {
    assert_eq!(probe(&greeting()), Probe::Server);
    assert_eq!(probe(&greeting()[..3]), Probe::NeedMore);
    assert_eq!(probe(&query("SELECT 1")), Probe::Client);
    assert_eq!(probe(&pkt(0, &[0x0e])), Probe::Client);
    for other in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"*1\r\n$4\r\nPING\r\n",
        b"\x00\x00\x00\x08\x04\xd2\x16\x2f",
        b"\x00\x00\x00\x29\x00\x03\x00\x00user\x00postgres\x00",
        b"AMQP\x00\x00\x09\x01",
        b"\x3b\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\xdd\x07\x00\x00",
        b"\x00\x00\x00\x1e\x00\x12\x00\x03\x00\x00\x00\x01",
    ] {
        assert_eq!(probe(other), Probe::No, "{other:?}");
    }
}

#[test]
fn malformed_input_never_panics_and_stays_bounded() {
    // Every truncation and a byte flip at every position of a whole conversation.
    let turns = prepare_and_execute();
    let flat: Vec<(Direction, Vec<u8>)> = turns.clone();
    for t in 0..flat.len() {
        for k in 0..flat[t].1.len() {
            let mut bad = flat.clone();
            bad[t].1[k] ^= 0xA5;
            let _ = run(true, &bad);
            let mut cut = flat.clone();
            cut[t].1.truncate(k);
            let _ = run(false, &cut);
        }
    }
}

#[test]
fn binary_values_of_every_type() {
    use values::binary_value;
    let cases: Vec<(u8, bool, Vec<u8>, Value)> = vec![
        (0x01, false, vec![0xff], json!(-1)),
        (0x01, true, vec![0xff], json!(255)),
        (0x02, false, vec![0xfe, 0xff], json!(-2)),
        (0x0d, false, vec![0xe8, 0x07], json!(2024)),
        (0x03, true, vec![0xff, 0xff, 0xff, 0xff], json!(4294967295u32)),
        (0x08, false, (-5i64).to_le_bytes().to_vec(), json!(-5)),
        (0x04, false, 1.5f32.to_le_bytes().to_vec(), json!(1.5)),
        (0x05, false, 0.25f64.to_le_bytes().to_vec(), json!(0.25)),
        (0x0a, false, vec![4, 0xe8, 0x07, 1, 31], json!("2024-01-31")),
        (0x0c, false, vec![7, 0xe8, 0x07, 1, 31, 12, 5, 9], json!("2024-01-31 12:05:09")),
        (0x0c, false, vec![11, 0xe8, 0x07, 1, 31, 12, 5, 9, 1, 0, 0, 0], json!("2024-01-31 12:05:09.000001")),
        (0x0c, false, vec![0], json!("0000-00-00 00:00:00")),
        (0x0b, false, vec![8, 1, 1, 0, 0, 0, 2, 3, 4], json!("-26:03:04")),
        (0xf6, false, vec![4, b'1', b'.', b'2', b'5'], json!("1.25")),
        (0xfc, false, vec![0xfb], Value::Null),
    ];
    for (code, unsigned, bytes, want) in cases {
        let mut r = packet::Reader::new(&bytes, "test");
        assert_eq!(binary_value(&mut r, code, unsigned, 64).unwrap(), want, "type {code:#x}");
        assert!(r.is_empty(), "type {code:#x} left bytes");
    }
}

/// A cursor (COM_STMT_EXECUTE with CURSOR_TYPE_READ_ONLY): the execution answers with the columns
/// and an EOF carrying SERVER_STATUS_CURSOR_EXISTS; COM_STMT_FETCH answers with rows and an EOF.
#[test]
fn cursor_execute_and_fetch() {
    let mut prep = vec![0x16];
    prep.extend(b"select a from t");
    let mut r = pkt(1, &[0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    r.extend(pkt(2, &column("a", 0x03, 0)));
    r.extend(pkt(3, &eof(2)));
    let ex = vec![0x17, 9, 0, 0, 0, 1, 1, 0, 0, 0];
    let mut cols = pkt(1, &[1]);
    cols.extend(pkt(2, &column("a", 0x03, 0)));
    cols.extend(pkt(3, &eof(0x0042)));
    let fetch = vec![0x1c, 9, 0, 0, 0, 2, 0, 0, 0];
    let mut rows = Vec::new();
    for (i, v) in [5i32, 6].iter().enumerate() {
        let mut row = vec![0x00, 0x00];
        row.extend(v.to_le_bytes());
        rows.extend(pkt(1 + i as u8, &row));
    }
    rows.extend(pkt(3, &eof(0x0042 | 0x0080)));
    let turns = vec![
        (C2S, pkt(0, &prep)),
        (S2C, r),
        (C2S, pkt(0, &ex)),
        (S2C, cols),
        (C2S, pkt(0, &fetch)),
        (S2C, rows),
        (C2S, query("select 1")),
        (S2C, pkt(1, &ok(0, 0, 2, 0))),
    ];
    let out = split_invariant(true, &turns);
    let got: Vec<_> = out.iter().map(|e| (e.summary.as_str(), e.status.as_deref())).collect();
    assert_eq!(
        got,
        vec![
            ("STMT_PREPARE select a from t", Some("OK")),
            ("STMT_EXECUTE select a from t", Some("OK")),
            ("STMT_FETCH select a from t", Some("OK")),
            ("select 1", Some("OK"))
        ]
    );
    assert_eq!(resp(&out[1])["row_count"], 0);
    assert_eq!(resp(&out[2])["row_count"], 2);
}

/// Fuzzer find: a COM_QUERY whose SQL is empty had an empty summary.
#[test]
fn an_empty_query_is_summarised_by_its_command() {
    let out = run(true, &vec![(C2S, pkt(0, b"\x03")), (S2C, pkt(1, &err(1065, "42000", "Query was empty")))]);
    assert_eq!(out[0].summary, "QUERY");
    let out = run(true, &vec![(C2S, pkt(0, b"\x03  \n")), (S2C, pkt(1, &ok(0, 0, 2, 0)))]);
    assert_eq!(out[0].summary, "QUERY");
}

// ------------------------------------------------------------------ real client bytes

/// The TCP payloads of the golden capture (tests/golden/mysql/queries.pcap: MariaDB, PyMySQL and
/// mysql-connector-python, recorded on loopback by its `record` script), per connection in capture
/// order, as turns (consecutive segments of one direction joined). A minimal reader: classic pcap,
/// Ethernet, IPv4, TCP.
fn golden_connections() -> Vec<Turns> {
    connections_of(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/mysql/queries.pcap"))
}

fn connections_of(path: &str) -> Vec<Turns> {
    let data = std::fs::read(path).unwrap();
    assert_eq!(&data[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "little-endian microsecond pcap");
    let mut at = 24;
    let mut server_port = None;
    let mut conns: Vec<(u16, Turns)> = Vec::new();
    while at + 16 <= data.len() {
        let caplen = u32::from_le_bytes(data[at + 8..at + 12].try_into().unwrap()) as usize;
        let frame = &data[at + 16..at + 16 + caplen];
        at += 16 + caplen;
        let ip = &frame[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        let tcp = &ip[ihl..total];
        let (sport, dport) = (u16::from_be_bytes([tcp[0], tcp[1]]), u16::from_be_bytes([tcp[2], tcp[3]]));
        let flags = tcp[13];
        if flags & 0x12 == 0x12 {
            server_port = Some(sport);
        }
        let payload = &tcp[usize::from(tcp[12] >> 4) * 4..];
        if payload.is_empty() {
            continue;
        }
        let server = server_port.expect("a SYN-ACK first");
        let (dir, client) = if dport == server { (C2S, sport) } else { (S2C, dport) };
        let i = match conns.iter().position(|(c, _)| *c == client) {
            Some(i) => i,
            None => {
                conns.push((client, Vec::new()));
                conns.len() - 1
            }
        };
        let turns = &mut conns[i].1;
        match turns.last_mut() {
            Some((d, bytes)) if *d == dir => bytes.extend_from_slice(payload),
            _ => turns.push((dir, payload.to_vec())),
        }
    }
    conns.into_iter().map(|(_, t)| t).collect()
}

#[test]
fn real_clients_conversations_split_at_every_byte() {
    let conns = golden_connections();
    assert_eq!(conns.len(), 2, "PyMySQL's and mysql-connector's connections");
    let mut total = 0;
    for turns in &conns {
        let out = split_invariant(true, turns);
        assert_eq!(out[0].request["command"], "handshake");
        assert_eq!(out[0].request["user"], "shark");
        for e in &out {
            assert!(e.notes.is_empty(), "{e:#?}");
            let no_response = ["COM_QUIT", "COM_STMT_CLOSE"].contains(&e.request["command"].as_str().unwrap());
            assert_eq!(e.status.is_none(), no_response, "{e:#?}");
        }
        total += out.len();
        // Picked up mid-way, after the login: the same commands, found by resynchronising.
        let after_login = turns.iter().position(|(d, b)| *d == C2S && b.get(4) == Some(&0x03)).unwrap();
        let mid = run(false, &turns[after_login..].to_vec());
        let want: Vec<_> = out.iter().skip(1).map(|e| (e.summary.clone(), e.status.clone())).collect();
        let got: Vec<_> = mid.iter().map(|e| (e.summary.clone(), e.status.clone())).collect();
        assert_eq!(got, want);
    }
    assert_eq!(total, 30, "the golden capture's 30 entries");
}

/// MariaDB's cached metadata (MARIADB_CLIENT_CACHE_METADATA): an execution's column count packet
/// carries a 0 byte after the count and no column definitions follow; the rows are decoded with
/// the columns the prepare described. A 1 byte means they follow as usual.
#[test]
fn executions_without_column_definitions_use_the_prepared_columns() {
    let mut prep = vec![0x16];
    prep.extend(b"select a, b from t");
    let mut r = pkt(1, &[0, 4, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0]);
    r.extend(pkt(2, &column("a", 0x08, packet::UNSIGNED_FLAG)));
    r.extend(pkt(3, &column("b", 0xfd, 0)));
    let ex = vec![0x17, 4, 0, 0, 0, 0, 1, 0, 0, 0];
    let mut row = vec![0x00, 0x00];
    row.extend(u64::MAX.to_le_bytes());
    row.extend([2, b'h', b'i']);
    let mut end = ok(0, 0, 2, 0);
    end[0] = 0xfe;
    let mut cached = pkt(1, &[2, 0]);
    cached.extend(pkt(2, &row));
    cached.extend(pkt(3, &end));
    let mut full = pkt(1, &[2, 1]);
    full.extend(pkt(2, &column("a", 0x08, packet::UNSIGNED_FLAG)));
    full.extend(pkt(3, &column("b", 0xfd, 0)));
    full.extend(pkt(4, &row));
    full.extend(pkt(5, &end));
    let turns =
        vec![(C2S, pkt(0, &prep)), (S2C, r), (C2S, pkt(0, &ex)), (S2C, cached), (C2S, pkt(0, &ex)), (S2C, full)];
    let out = split_invariant(true, &turns);
    assert_eq!(out.len(), 3, "{out:#?}");
    for e in &out[1..] {
        let r = resp(e);
        assert_eq!(r["columns"], json!([{"name": "a", "type": "LONGLONG"}, {"name": "b", "type": "VAR_STRING"}]));
        assert_eq!(r["rows"], json!([[u64::MAX, "hi"]]));
        assert_eq!(r["row_count"], 1);
    }
}

/// MariaDB Connector/C (testdata/connector-c.pcap, see testdata/record-connector-c): parameterised
/// INSERTs sent as execute-direct (prepare and execute with id 0xFFFFFFFF in one segment), and text
/// result sets with extended column metadata. The values are the ones the recording script used
/// and printed: rows (1, 'one') and (2, 'two'); `id INT`, `name VARCHAR(20)`.
#[test]
fn mariadb_connector_c_execute_direct_and_extended_metadata() {
    let conns = connections_of(concat!(env!("CARGO_MANIFEST_DIR"), "/src/dissect/mysql/testdata/connector-c.pcap"));
    assert_eq!(conns.len(), 1);
    let out = split_invariant(true, &conns[0]);
    let executes: Vec<_> = out.iter().filter(|e| e.request["command"] == "COM_STMT_EXECUTE").collect();
    assert_eq!(executes.len(), 2, "{out:#?}");
    for (e, params) in executes.iter().zip([json!([1, "one"]), json!([2, "two"])]) {
        assert_eq!(e.request["query"], "INSERT INTO t VALUES (?, ?)");
        assert_eq!(e.request["params"], params);
        assert_eq!(resp(e)["affected_rows"], 1);
        assert!(e.notes.is_empty(), "{e:#?}");
    }
    let select = out.iter().find(|e| e.request["query"] == "SELECT id, name FROM t WHERE id >= 1").unwrap();
    assert_eq!(
        resp(select)["columns"],
        json!([{"name": "id", "type": "LONG"}, {"name": "name", "type": "VAR_STRING"}])
    );
    assert_eq!(resp(select)["rows"], json!([["1", "one"], ["2", "two"]]));
}
