//! Oracle test for the HTTP/1 dissector: real curl ↔ nginx traffic (keep-alive, chunked, gzip,
//! HEAD, 304, 204, POST with length and chunked bodies, 100-continue, pipelining, HTTP/1.0 with a
//! body ending at close) is captured on `lo` with tcpdump, each TCP stream is replayed segment
//! by segment through an `Http1Session`, and the exchanges are compared with tshark's HTTP
//! dissection of the same capture, with the served files, and with the bytes on the wire.
//!
//! Needs root, tcpdump, tshark, nginx and curl: it fails (it does not skip) when one is missing.

use node_agent::dissect::http1::Http1Dissector;
use node_agent::dissect::{Direction, Exchange, FlowInfo, StreamDissector};
use node_agent::Timestamp;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills what it holds when the test ends, passing or not.
struct Guard(Vec<Child>);
impl Drop for Guard {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn require_tools() {
    for tool in ["tshark", "tcpdump", "nginx", "curl"] {
        let found = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "{tool} is required by this test (apt-get install tshark tcpdump nginx curl)"
        );
    }
    let uid = Command::new("id").arg("-u").output().expect("run id -u");
    assert_eq!(String::from_utf8_lossy(&uid.stdout).trim(), "0", "capturing on lo needs root");
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local address").port()
}

fn signal(child: &Child, sig: &str) {
    let _ = Command::new("kill").args([sig, &child.id().to_string()]).status();
}

fn start_nginx(dir: &Path, port: u16) -> Child {
    let p = dir.display();
    let conf = format!(
        r#"user root;
worker_processes 1;
daemon off;
pid {p}/nginx.pid;
error_log {p}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {p}/body;
  proxy_temp_path {p}/proxy;
  fastcgi_temp_path {p}/fastcgi;
  uwsgi_temp_path {p}/uwsgi;
  scgi_temp_path {p}/scgi;
  default_type text/plain;
  types {{ text/html html; text/plain txt; }}
  gzip on;
  gzip_types text/plain;
  gzip_min_length 1;
  gzip_http_version 1.0;
  if_modified_since before;
  server {{
    listen 127.0.0.1:{port};
    root {p}/www;
    location = /nocontent {{ return 204; }}
    location = /post {{ return 201 "created\n"; }}
  }}
}}
"#
    );
    std::fs::write(dir.join("nginx.conf"), conf).expect("write nginx.conf");
    let child = Command::new("nginx")
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-p")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nginx did not listen on {port}: see {p}/error.log");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn start_tcpdump(pcap: &Path, port: u16) -> Child {
    let mut child = Command::new("tcpdump")
        .args(["-i", "lo", "-U", "--immediate-mode", "-s", "0", "-w"])
        .arg(pcap)
        .arg(format!("tcp port {port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tcpdump");
    // Keep reading stderr until tcpdump exits: with the pipe closed, its final report would
    // kill it (SIGPIPE) before it wrote the last packets.
    let stderr = child.stderr.take().expect("tcpdump stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
    assert!(line.contains("listening on"), "tcpdump did not start: {line:?}");
    child
}

fn curl(args: &[&str]) {
    let st = Command::new("curl").args(["-s", "-S", "--max-time", "20"]).args(args).status().expect("run curl");
    assert!(st.success(), "curl {args:?} failed");
}

/// Two requests in one write, then both responses read: HTTP pipelining, which curl no longer does.
fn pipelined(port: u16) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.write_all(
        b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\nGET /missing HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .expect("send two requests");
    let mut all = Vec::new();
    s.read_to_end(&mut all).expect("read both responses");
    assert!(all.windows(12).filter(|w| w.starts_with(b"HTTP/1.1 ")).count() >= 2);
}

fn tshark(pcap: &Path, port: u16, args: &[&str]) -> Vec<Vec<String>> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-d", &format!("tcp.port=={port},http"), "-T", "fields", "-E", "separator=/t", "-E", "aggregator=|"])
        .args(args)
        .stderr(Stdio::null())
        .output()
        .expect("run tshark");
    assert!(out.status.success(), "tshark {args:?} failed");
    String::from_utf8_lossy(&out.stdout).lines().map(|l| l.split('\t').map(str::to_owned).collect()).collect()
}

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap_or("0"), 16).unwrap_or(0)).collect()
}

fn epoch(s: &str) -> Timestamp {
    let (secs, frac) = s.split_once('.').unwrap_or((s, "0"));
    let nanos = format!("{frac:0<9}");
    Timestamp::from_secs_nanos(secs.parse().unwrap_or(0), nanos[..9].parse().unwrap_or(0))
}

struct Replayed {
    exchanges: BTreeMap<u32, Vec<Exchange>>,
    /// Payload bytes per stream: (client to server, server to client).
    bytes: BTreeMap<u32, (u64, u64)>,
}

/// Feeds each TCP stream's segments, in capture order, to its own session.
fn replay(pcap: &Path, port: u16) -> Replayed {
    let rows = tshark(
        pcap,
        port,
        &[
            "-Y",
            "not tcp.analysis.retransmission",
            "-e",
            "tcp.stream",
            "-e",
            "tcp.srcport",
            "-e",
            "frame.time_epoch",
            "-e",
            "tcp.flags.fin",
            "-e",
            "tcp.payload",
        ],
    );
    let d = Http1Dissector::default();
    let flow = FlowInfo { server_port: port, client_port: 0, saw_handshake: true };
    let mut sessions = BTreeMap::new();
    let mut exchanges: BTreeMap<u32, Vec<Exchange>> = BTreeMap::new();
    let mut bytes: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    let mut last = Timestamp::ZERO;
    for row in rows {
        let [stream, src, time, fin, payload] = &row[..] else { panic!("unexpected tshark row {row:?}") };
        let stream: u32 = stream.parse().expect("stream number");
        let dir =
            if src.parse::<u16>().ok() == Some(port) { Direction::ServerToClient } else { Direction::ClientToServer };
        let ts = epoch(time);
        last = last.max(ts);
        let s = sessions.entry(stream).or_insert_with(|| d.new_session(&flow));
        let out = exchanges.entry(stream).or_default();
        let data = hex(payload);
        let counts = bytes.entry(stream).or_default();
        match dir {
            Direction::ClientToServer => counts.0 += data.len() as u64,
            Direction::ServerToClient => counts.1 += data.len() as u64,
        }
        if !data.is_empty() {
            s.on_data(dir, &data, ts, out);
        }
        if fin == "1" || fin == "True" {
            s.on_end(dir, ts, out);
        }
    }
    for (stream, s) in &mut sessions {
        s.on_close(last, exchanges.entry(*stream).or_default());
    }
    Replayed { exchanges, bytes }
}

/// tshark's view per stream: (method, target, final status) in order; interim 1xx left out.
fn tshark_exchanges(pcap: &Path, port: u16) -> BTreeMap<u32, Vec<(String, String, Option<u16>)>> {
    let reqs = tshark(
        pcap,
        port,
        &["-Y", "http.request", "-e", "tcp.stream", "-e", "http.request.method", "-e", "http.request.uri"],
    );
    let resps = tshark(pcap, port, &["-Y", "http.response", "-e", "tcp.stream", "-e", "http.response.code"]);
    // Several messages in one frame come as one row, their values joined by '|'.
    let mut codes: BTreeMap<u32, Vec<u16>> = BTreeMap::new();
    for r in resps {
        for code in r[1].split('|') {
            let code: u16 = code.parse().expect("status code");
            if !(100..200).contains(&code) || code == 101 {
                codes.entry(r[0].parse().expect("stream")).or_default().push(code);
            }
        }
    }
    let mut out: BTreeMap<u32, Vec<(String, String, Option<u16>)>> = BTreeMap::new();
    for r in reqs {
        let stream: u32 = r[0].parse().expect("stream");
        let list = out.entry(stream).or_default();
        for (method, uri) in r[1].split('|').zip(r[2].split('|')) {
            let code = codes.get(&stream).and_then(|c| c.get(list.len()).copied());
            list.push((method.to_owned(), uri.to_owned(), code));
        }
    }
    out
}

fn outline(xs: &[Exchange]) -> Vec<(String, String, Option<u16>)> {
    xs.iter()
        .map(|x| {
            let s = |v: &Value| v.as_str().unwrap_or("?").to_owned();
            let status = x.response.as_ref().and_then(|r| r["status"].as_u64()).and_then(|c| u16::try_from(c).ok());
            (s(&x.request["method"]), s(&x.request["path"]), status)
        })
        .collect()
}

#[test]
fn http1_matches_tshark_on_real_traffic() {
    require_tools();
    let dir = tempfile::tempdir().expect("temporary directory");
    let www = dir.path().join("www");
    std::fs::create_dir(&www).expect("mkdir www");
    let index = "<html><body>hello kubectl-shark</body></html>\n".to_string();
    let big: String = (0..3000).map(|i| format!("line {i} of a big text file that compresses well\n")).collect();
    std::fs::write(www.join("index.html"), &index).expect("write index.html");
    std::fs::write(www.join("big.txt"), &big).expect("write big.txt");

    let port = free_port();
    let pcap = dir.path().join("http1.pcap");
    let mut guard = Guard(Vec::new());
    guard.0.push(start_nginx(dir.path(), port));
    guard.0.push(start_tcpdump(&pcap, port));

    let u = |p: &str| format!("http://127.0.0.1:{port}{p}");
    let (index_url, missing_url, big_url) = (u("/index.html"), u("/missing"), u("/big.txt"));
    let posted = www.join("index.html").display().to_string();
    let post_data = format!("@{posted}");
    let null = "/dev/null";
    // Keep-alive: three exchanges on one connection.
    curl(&["-o", null, "-o", null, "-o", null, &index_url, &missing_url, &index_url]);
    // gzip, chunked (nginx drops the length when compressing).
    curl(&["-o", null, "-H", "Accept-Encoding: gzip", &big_url]);
    curl(&["-o", null, "-I", &index_url]);
    curl(&["-o", null, "-z", "Fri, 01 Jan 2100 00:00:00 GMT", &index_url]);
    curl(&["-o", null, &u("/nocontent")]);
    curl(&["-o", null, "--data-binary", &post_data, &u("/post")]);
    curl(&["-o", null, "-H", "Transfer-Encoding: chunked", "--data-binary", &post_data, &u("/post")]);
    curl(&["-o", null, "-H", "Expect: 100-continue", "--data-binary", &post_data, &u("/post")]);
    // HTTP/1.0 + gzip: no length, no chunking: the body ends when the server closes.
    curl(&["-o", null, "--http1.0", "-H", "Accept-Encoding: gzip", &big_url]);
    pipelined(port);

    std::thread::sleep(Duration::from_millis(500));
    for c in &guard.0 {
        signal(c, "-TERM");
    }
    for c in &mut guard.0 {
        let _ = c.wait();
    }

    eprintln!("capture: {} bytes", std::fs::metadata(&pcap).map(|m| m.len()).unwrap_or(0));
    let ours = replay(&pcap, port);
    let theirs = tshark_exchanges(&pcap, port);
    let our_outline: BTreeMap<u32, _> = ours.exchanges.iter().map(|(s, xs)| (*s, outline(xs))).collect();
    assert_eq!(our_outline, theirs, "ours (left) and tshark's (right) exchanges per TCP stream");
    let all: Vec<&Exchange> = ours.exchanges.values().flatten().collect();
    assert_eq!(all.len(), 13, "every exchange made above");

    for x in &all {
        assert!(x.notes.is_empty(), "{}: {:?}", x.summary, x.notes);
        assert!(x.end_ts.is_some_and(|e| e >= x.ts), "{}", x.summary);
    }
    // Every byte on the wire belongs to exactly one message.
    for (stream, xs) in &ours.exchanges {
        let sizes = xs.iter().fold((0, 0), |a, x| (a.0 + x.request_size, a.1 + x.response_size));
        assert_eq!(sizes, ours.bytes[stream], "stream {stream}: message sizes vs payload bytes");
    }

    let body = |v: &Value| v["body"].clone();
    let text = |v: &Value| v["body"]["text"].as_str().map(str::to_owned);
    let by = |method: &str, path: &str, status: u64| -> Vec<&Exchange> {
        all.iter()
            .copied()
            .filter(|x| {
                x.request["method"] == method
                    && x.request["path"] == path
                    && x.response.as_ref().is_some_and(|r| r["status"] == status)
            })
            .collect()
    };
    let index_gets = by("GET", "/index.html", 200);
    assert_eq!(index_gets.len(), 3);
    for x in index_gets {
        assert_eq!(x.response.as_ref().and_then(text), Some(index.clone()));
    }
    let big_gets = by("GET", "/big.txt", 200);
    assert_eq!(big_gets.len(), 2);
    for x in &big_gets {
        let r = x.response.as_ref().expect("response");
        assert_eq!((text(r), r["body"]["encoding"].as_str()), (Some(big.clone()), Some("gzip")), "{}", x.summary);
        assert!(r["body"]["size"].as_u64().is_some_and(|n| n > 0 && (n as usize) < big.len()));
    }
    assert_eq!(big_gets[1].request["version"], "HTTP/1.0");
    let chunked = big_gets[0].response.as_ref().expect("response");
    assert!(chunked["headers"].as_array().is_some_and(|h| h.contains(&json!(["Transfer-Encoding", "chunked"]))));

    let head = by("HEAD", "/index.html", 200);
    assert_eq!(head.len(), 1);
    assert_eq!(head[0].response.as_ref().map(body).map(|b| b["size"].clone()), Some(json!(0)));
    let posts = by("POST", "/post", 201);
    assert_eq!(posts.len(), 3);
    for x in &posts {
        assert_eq!(text(&x.request), Some(index.clone()), "{:?}", x.request["headers"]);
        assert_eq!(x.response.as_ref().and_then(text).as_deref(), Some("created\n"));
    }
    let interim: Vec<Value> = posts.iter().filter_map(|x| x.response.as_ref()?.get("interim").cloned()).collect();
    assert_eq!(interim, [json!([{"status": 100, "reason": "Continue"}])]);
}
