//! Oracle test: real PostgreSQL traffic, dissected by us and by tshark's pgsql dissector, must agree.
//!
//! Generates the traffic at test time: a throw-away PostgreSQL 15 cluster (Debian's postgresql;
//! tests/golden/postgresql/pg-cluster.sh, stopped on every exit path) on 127.0.0.1 at a free port,
//! pgbench select-only over the simple, extended and prepared query modes, and psql with a Query of
//! two statements where the second fails, captured by tcpdump on lo. tshark then extracts the TCP
//! payloads, which feed our sessions, and its own pgsql fields: per connection, the SQL each
//! statement ran (each statement of a simple Query; for an Execute, the Parse its portal was bound
//! from) and each CommandComplete tag or ErrorResponse SQLSTATE, in order. Our entries must give the
//! same two sequences per connection.
//!
//! Needs root (tcpdump, runuser), tshark, tcpdump, pgbench and psql; fails when any is missing.

use node_agent::dissect::postgresql::{PgSession, MAX_FRAME_LIMIT};
use node_agent::dissect::{Direction, Exchange, StreamSession};
use node_agent::time::Timestamp;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

fn require_environment() {
    for tool in ["tshark", "tcpdump", "pgbench", "psql", "runuser"] {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
            .unwrap_or(false);
        assert!(found, "postgresql_tshark needs `{tool}` in PATH; refusing to pass without it");
    }
    assert!(Path::new(PG_BIN).join("initdb").is_file(), "apt-get install postgresql (15)");
    assert_eq!(run("id", &["-u"]).trim(), "0", "postgresql_tshark needs root (tcpdump on lo, runuser)");
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    assert!(out.status.success(), "{cmd} {args:?} failed: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The cluster directory; stops the server and removes it when dropped, even on panic.
struct Cluster(String);
impl Drop for Cluster {
    fn drop(&mut self) {
        let data = format!("{}/data", self.0);
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--", &format!("{PG_BIN}/pg_ctl"), "-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Kills tcpdump (SIGINT, so it closes its file) when dropped.
struct Guard(Option<Child>);
impl Guard {
    fn interrupt(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = Command::new("kill").args(["-INT", &c.id().to_string()]).status();
            let _ = c.wait();
        }
    }
}
impl Drop for Guard {
    fn drop(&mut self) {
        self.interrupt();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn capture(dir: &Path, port: u16) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/postgresql/pg-cluster.sh");
    let out = run("bash", &["-c", &format!("source {} && pg_cluster_start {port} && echo $PG_DIR", script.display())]);
    let _cluster = Cluster(out.lines().last().unwrap_or_default().to_owned());
    let port_s = port.to_string();
    let pgbench = |extra: &[&str]| {
        let mut args = vec!["-h", "127.0.0.1", "-p", &port_s, "-U", "postgres"];
        args.extend_from_slice(extra);
        args.push("postgres");
        let out = Command::new("pgbench").args(&args).env("PGPASSWORD", "golden-secret").output().unwrap();
        assert!(out.status.success(), "pgbench {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    pgbench(&["-i", "-q", "-s", "1"]);
    let pcap = dir.join("pg.pcap");
    let err = dir.join("tcpdump.err");
    let mut tcpdump = Guard(Some(
        Command::new("tcpdump")
            .args(["-i", "lo", "-s", "0", "-U", "--immediate-mode", "-w"])
            .arg(&pcap)
            .arg(format!("tcp port {port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("start tcpdump"),
    ));
    let start = Instant::now();
    while !std::fs::read_to_string(&err).unwrap_or_default().contains("listening on") {
        assert!(start.elapsed() < Duration::from_secs(10), "tcpdump did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    pgbench(&["-n", "-S", "-c", "2", "-t", "50"]);
    pgbench(&["-n", "-S", "-M", "extended", "-t", "30"]);
    pgbench(&["-n", "-S", "-M", "prepared", "-t", "30"]);
    let out = Command::new("psql")
        .args([
            "-X",
            "-h",
            "127.0.0.1",
            "-p",
            &port_s,
            "-U",
            "postgres",
            "-c",
            "SELECT 1 AS one; SELECT * FROM nope",
            "postgres",
        ])
        .env("PGPASSWORD", "golden-secret")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"), "psql's error");
    std::thread::sleep(Duration::from_millis(1500));
    tcpdump.interrupt();
    pcap
}

fn tshark(pcap: &Path, port: u16, args: &[&str]) -> String {
    let mut all = vec!["-o", "tcp.reassemble_out_of_order:TRUE", "-r"];
    let p = pcap.to_str().unwrap();
    all.push(p);
    let decode = format!("tcp.port=={port},pgsql");
    all.extend(["-d", &decode]);
    all.extend_from_slice(args);
    run("tshark", &all)
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

type Seqs = BTreeMap<u64, (Vec<String>, Vec<String>)>;

/// Ours: per TCP stream, the SQL of each statement entry and each status, in order.
fn ours(pcap: &Path, port: u16) -> Seqs {
    let text = tshark(
        pcap,
        port,
        &["-Y", "tcp.len > 0", "-T", "fields", "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.payload"],
    );
    let mut sessions: BTreeMap<u64, (PgSession, Vec<Exchange>)> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        let stream: u64 = f[0].parse().unwrap();
        let dir = if f[1] == port.to_string() { Direction::ServerToClient } else { Direction::ClientToServer };
        let (s, out) = sessions.entry(stream).or_insert_with(|| (PgSession::new(MAX_FRAME_LIMIT, false), Vec::new()));
        s.on_data(dir, &unhex(f[2]), Timestamp(i as u64), out);
    }
    sessions
        .into_iter()
        .map(|(k, (mut s, mut out))| {
            s.on_close(Timestamp(u64::MAX), &mut out);
            let sql = out.iter().filter_map(|e| e.request.get("query")?.as_str().map(str::to_owned)).collect();
            let status =
                out.iter().filter(|e| !e.summary.starts_with("STARTUP")).filter_map(|e| e.status.clone()).collect();
            (k, (sql, status))
        })
        .collect()
}

/// tshark's: per TCP stream, each statement's SQL and each CommandComplete tag / Error SQLSTATE.
fn theirs(pcap: &Path, port: u16) -> Seqs {
    let json = tshark(pcap, port, &["-T", "json", "--no-duplicate-keys", "-J", "tcp pgsql"]);
    let packets: Vec<Value> = serde_json::from_str(&json).unwrap();
    let mut seqs = Seqs::new();
    let mut maps: BTreeMap<u64, (BTreeMap<String, String>, BTreeMap<String, String>)> = BTreeMap::new();
    let s = |m: &Value, k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    for p in packets {
        let layers = &p["_source"]["layers"];
        let Some(pg) = layers.get("pgsql") else { continue };
        let stream: u64 = layers["tcp"]["tcp.stream"].as_str().unwrap().parse().unwrap();
        let (sql, status) = seqs.entry(stream).or_default();
        let (statements, portals) = maps.entry(stream).or_default();
        let msgs = match pg {
            Value::Array(a) => a.clone(),
            one => vec![one.clone()],
        };
        for m in msgs {
            match s(&m, "pgsql.type").as_str() {
                "Simple query" => {
                    for stmt in s(&m, "pgsql.query").split(';').map(str::trim).filter(|x| !x.is_empty()) {
                        sql.push(stmt.to_owned());
                    }
                }
                "Parse" => {
                    statements.insert(s(&m, "pgsql.statement"), s(&m, "pgsql.query"));
                }
                "Bind" => {
                    let q = statements.get(&s(&m, "pgsql.statement")).cloned().unwrap_or_default();
                    portals.insert(s(&m, "pgsql.portal"), q);
                }
                "Execute" => sql.push(portals.get(&s(&m, "pgsql.portal")).cloned().unwrap_or_default()),
                "Command completion" => status.push(s(&m, "pgsql.tag")),
                "Error" => {
                    let code = m
                        .as_object()
                        .into_iter()
                        .flat_map(|o| o.values())
                        .find_map(|v| v.get("pgsql.code").and_then(Value::as_str).map(str::to_owned));
                    status.push(code.unwrap_or_else(|| s(&m, "pgsql.code")));
                }
                _ => {}
            }
        }
    }
    seqs
}

#[test]
fn pgbench_and_psql_agree_with_tshark() {
    require_environment();
    let dir = tempfile_dir();
    let port = free_port();
    let pcap = capture(&dir, port);
    let (ours, theirs) = (ours(&pcap, port), theirs(&pcap, port));
    let statements: usize = theirs.values().map(|(q, _)| q.len()).sum();
    assert!(statements >= 2 * 50 + 30 + 30 + 2, "tshark saw {statements} statements");
    assert_eq!(ours.keys().collect::<Vec<_>>(), theirs.keys().collect::<Vec<_>>());
    for (stream, (sql, status)) in &theirs {
        assert_eq!(&ours[stream].0, sql, "SQL of stream {stream}");
        assert_eq!(&ours[stream].1, status, "statuses of stream {stream}");
    }
    assert!(theirs.values().any(|(_, st)| st.iter().any(|s| s == "42P01")), "psql's error is in the capture");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pg-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // tcpdump drops privileges to its own user: it must be able to write here.
    let _ = Command::new("chmod").arg("777").arg(&dir).status();
    dir
}
