//! Oracle test: real DNS traffic, dissected by us and by tshark, must agree.
//!
//! Generates the traffic at test time: dnsmasq (zone in tests/data/dns/dnsmasq.conf) on a
//! 127.x.y.z address chosen per run, queried with dig over UDP and over TCP (one connection
//! with several queries, `+keepopen`), plus one query to a closed port that gets no answer,
//! all captured by tcpdump on lo. tshark then extracts the UDP/TCP payloads, which feed our
//! sessions, and its own DNS fields, which the exchanges are compared with: ids, names, types,
//! rcodes, section counts, every record's owner, type and TTL, and the data of A, AAAA, CNAME,
//! NS, PTR, MX, SRV, SOA, TXT, CAA and HTTPS records.
//!
//! Needs root (port 53, capturing), tshark, tcpdump, dnsmasq and dig; fails when any is missing.
//! DNS_TSHARK_KEEP=1 keeps the capture and the dnsmasq log (the path is printed).

use node_agent::dissect::dns::{DnsTcpDissector, DnsUdpDissector};
use node_agent::dissect::{
    DatagramDissector, DatagramSession, Direction, Exchange, FlowInfo, Probe, StreamDissector, StreamSession,
};
use node_agent::time::Timestamp;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOOLS: [(&str, &str); 4] =
    [("tshark", "tshark"), ("tcpdump", "tcpdump"), ("dnsmasq", "dnsmasq-base"), ("dig", "dnsutils")];

fn require_environment() {
    for (tool, package) in TOOLS {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
            .unwrap_or(false);
        assert!(found, "dns_tshark needs `{tool}` in PATH (apt-get install {package}); refusing to pass without it");
    }
    let uid = run("id", &["-u"]);
    assert_eq!(uid.trim(), "0", "dns_tshark needs root (dnsmasq on port 53, tcpdump on lo)");
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    assert!(out.status.success(), "{cmd} {args:?} failed: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Kills a child we started (by its pid) when dropped, even on panic.
struct Guard(Option<Child>);
impl Guard {
    /// SIGINT, so tcpdump flushes and closes its file, then waits.
    fn interrupt(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = Command::new("kill").args(["-INT", &c.id().to_string()]).status();
            let _ = c.wait();
        }
    }
}
impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < Duration::from_secs(10), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn dig(server: &str, args: &[&str]) {
    let mut all = vec![format!("@{server}"), "+tries=1".into(), "+time=2".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    let out = Command::new("dig").args(&all).output().expect("run dig");
    // dig exits 9 when no server answers: expected for the query to the closed port.
    assert!(
        out.status.success() || out.status.code() == Some(9),
        "dig {all:?}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Captures the test traffic, again if the kernel dropped packets (a busy machine can make
/// tcpdump fall behind; the comparison wants every packet). Returns the pcap path.
fn generate(dir: &Path, ip: &str) -> std::path::PathBuf {
    for attempt in 1..=4 {
        let (pcap, dropped) = generate_once(dir, ip);
        // dnsmasq has been seen answering only the first query of a TCP connection and then
        // closing it (always on its first connection, hence the warm-up query; sometimes on a
        // busy machine), so check that a keep-open connection really carried several answers.
        let streams = tshark_fields(&pcap, "tcp && dns.flags.response == 1", &["tcp.stream"]);
        let mut answers: HashMap<String, usize> = HashMap::new();
        for r in streams {
            *answers.entry(r[0].clone()).or_default() += 1;
        }
        let most = answers.values().copied().max().unwrap_or(0);
        if dropped == 0 && most >= 3 {
            return pcap;
        }
        eprintln!(
            "dns_tshark: attempt {attempt}: {dropped} packets dropped by the kernel, \
             at most {most} answers on one TCP connection; capturing again"
        );
    }
    panic!("no complete capture with a multi-query TCP connection in 4 attempts (machine too busy?)");
}

/// One capture; returns the pcap path and the packets tcpdump says the kernel dropped.
fn generate_once(dir: &Path, ip: &str) -> (std::path::PathBuf, u64) {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dns/dnsmasq.conf");
    let log = std::fs::File::create(dir.join("dnsmasq.log")).unwrap();
    let _dnsmasq = Guard(Some(
        Command::new("dnsmasq")
            .arg("--keep-in-foreground")
            .arg(format!("--conf-file={}", conf.display()))
            .arg(format!("--listen-address={ip}"))
            .arg(format!("--auth-server=ns1.shark.test,{ip}"))
            .arg(format!("--pid-file={}", dir.join("dnsmasq.pid").display()))
            .arg("--log-facility=-")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start dnsmasq"),
    ));
    wait_for("dnsmasq to answer", || {
        Command::new("dig")
            .args([&format!("@{ip}"), "+short", "+tries=1", "+time=1", "host.shark.test"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("192.0.2.10"))
    });

    // dnsmasq answers one query only on its first TCP connection: use that one up uncaptured.
    dig(ip, &["+tcp", "host.shark.test", "A"]);

    let pcap = dir.join("dns.pcap");
    let err_path = dir.join("tcpdump.err");
    let mut tcpdump = Guard(Some(
        Command::new("tcpdump")
            // A small snap length keeps many packets in the ring (DNS here is < 1 KB), so a
            // descheduled tcpdump loses nothing; the 16 MiB buffer helps the same way.
            .args(["-i", "lo", "-s", "4096", "-B", "16384", "-U", "--immediate-mode"])
            .args(["-Z", "root", "-w"])
            .arg(&pcap)
            .args(["host", ip])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .expect("start tcpdump"),
    ));
    wait_for("tcpdump to listen", || std::fs::read_to_string(&err_path).is_ok_and(|s| s.contains("listening on")));

    // UDP: every type, a mixed-case name (0x20 style), an NXDOMAIN in and out of the zone.
    dig(
        ip,
        &[
            "host.shark.test",
            "A",
            "host.shark.test",
            "AAAA",
            "alias.shark.test",
            "A",
            "txt.shark.test",
            "TXT",
            "shark.test",
            "MX",
            "_http._tcp.shark.test",
            "SRV",
            "10.2.0.192.in-addr.arpa",
            "PTR",
            "shark.test",
            "NS",
            "shark.test",
            "SOA",
            "caa.shark.test",
            "CAA",
            "svc.shark.test",
            "TYPE65",
            "HoSt.ShArK.tEsT",
            "A",
            "nothere.shark.test",
            "A",
            "x.nx.other",
            "A",
        ],
    );
    dig(ip, &["+noedns", "mail.shark.test", "A"]);
    // TCP: several queries on one connection, then one more connection with an NXDOMAIN.
    dig(
        ip,
        &[
            "+tcp",
            "+keepopen",
            "host.shark.test",
            "A",
            "alias.shark.test",
            "AAAA",
            "txt.shark.test",
            "TXT",
            "shark.test",
            "SOA",
            "_http._tcp.shark.test",
            "SRV",
            "caa.shark.test",
            "CAA",
        ],
    );
    dig(ip, &["+tcp", "nothere.shark.test", "MX"]);
    // No answer: a closed port (the ICMP error is filtered out below).
    dig(ip, &["-p", "5399", "+time=1", "lost.shark.test", "A"]);

    std::thread::sleep(Duration::from_millis(200));
    tcpdump.interrupt();
    let report = std::fs::read_to_string(&err_path).unwrap_or_default();
    let dropped = report
        .lines()
        .find_map(|l| l.strip_suffix(" packets dropped by kernel"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no drop count in tcpdump's report: {report}"));
    (pcap, dropped)
}

fn tshark_fields(pcap: &Path, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut args: Vec<String> = vec![
        "-n".into(),
        "-r".into(),
        pcap.display().to_string(),
        "-Y".into(),
        filter.into(),
        "-T".into(),
        "fields".into(),
        "-E".into(),
        "separator=/t".into(),
        "-E".into(),
        "aggregator=|".into(),
        "-E".into(),
        "occurrence=a".into(),
    ];
    for f in fields {
        args.push("-e".into());
        args.push(f.to_string());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run("tshark", &refs).lines().map(|l| l.split('\t').map(str::to_string).collect()).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex from tshark")).collect()
}

fn epoch_ns(s: &str) -> Timestamp {
    let (secs, frac) = s.split_once('.').unwrap_or((s, "0"));
    let frac = format!("{frac:0<9}");
    Timestamp::from_secs_nanos(secs.parse().unwrap(), frac[..9].parse().unwrap())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Transport {
    Udp,
    Tcp,
}

enum Session {
    Udp(Box<dyn DatagramSession>),
    Tcp { session: Box<dyn StreamSession>, probe_buf: Vec<u8>, probed: bool },
}

/// Our side: payloads from tshark into sessions (one per client port), the harness playing the
/// engine. Returns exchanges keyed by transport and client port.
fn dissect(pcap: &Path, ip: &str) -> Vec<(Transport, u16, Exchange)> {
    let rows = tshark_fields(
        pcap,
        "!icmp",
        &[
            "frame.time_epoch",
            "ip.dst",
            "udp.srcport",
            "udp.dstport",
            "udp.payload",
            "tcp.srcport",
            "tcp.dstport",
            "tcp.payload",
            "tcp.flags.syn",
            "tcp.flags.fin",
        ],
    );
    let mut sessions: BTreeMap<(Transport, u16), Session> = BTreeMap::new();
    let mut out: Vec<(Transport, u16, Exchange)> = Vec::new();
    let mut last = Timestamp::ZERO;
    for r in rows {
        let ts = epoch_ns(&r[0]);
        last = last.max(ts);
        let to_server = r[1] == ip;
        let dir = if to_server { Direction::ClientToServer } else { Direction::ServerToClient };
        let (transport, sport, dport, payload) = if !r[2].is_empty() {
            (Transport::Udp, &r[2], &r[3], &r[4])
        } else {
            (Transport::Tcp, &r[5], &r[6], &r[7])
        };
        let client_port: u16 = if to_server { sport } else { dport }.parse().unwrap();
        let server_port: u16 = if to_server { dport } else { sport }.parse().unwrap();
        let flow = FlowInfo { server_port, client_port, saw_handshake: true };
        let payload = unhex(payload);
        let mut sink: Vec<Exchange> = Vec::new();
        match transport {
            Transport::Udp => {
                let s = sessions.entry((transport, client_port)).or_insert_with(|| {
                    let d = DnsUdpDissector::default();
                    // The first captured datagram is normally the query.
                    let expected = if to_server { Probe::Client } else { Probe::Server };
                    assert_eq!(d.probe(&flow, &payload), expected, "first datagram of {client_port}");
                    Session::Udp(d.new_session(&flow))
                });
                if let Session::Udp(s) = s {
                    s.on_datagram(dir, &payload, ts, &mut sink);
                }
            }
            Transport::Tcp => {
                let s = sessions.entry((transport, client_port)).or_insert_with(|| {
                    assert_eq!(r[8], "1", "TCP flows start with their SYN here");
                    Session::Tcp { session: DnsTcpDissector.new_session(&flow), probe_buf: Vec::new(), probed: false }
                });
                if let Session::Tcp { session, probe_buf, probed } = s {
                    if !payload.is_empty() {
                        if !*probed && to_server {
                            probe_buf.extend_from_slice(&payload);
                            match DnsTcpDissector.probe(&flow, probe_buf) {
                                Probe::NeedMore => {}
                                v => {
                                    assert_eq!(v, Probe::Client, "TCP client stream {client_port}");
                                    *probed = true;
                                }
                            }
                        }
                        session.on_data(dir, &payload, ts, &mut sink);
                    }
                    if r[9] == "1" {
                        session.on_end(dir, ts, &mut sink);
                    }
                }
            }
        }
        out.extend(sink.into_iter().map(|e| (transport, client_port, e)));
    }
    // End of capture: let unanswered UDP queries time out, then close everything.
    let end = last.saturating_add_nanos(6_000_000_000);
    for ((transport, port), s) in sessions.iter_mut() {
        let mut sink = Vec::new();
        match s {
            Session::Udp(s) => {
                s.on_tick(end, &mut sink);
                s.on_close(end, &mut sink);
            }
            Session::Tcp { session, probed, .. } => {
                assert!(*probed, "TCP flow {port} was never recognised");
                session.on_close(end, &mut sink);
            }
        }
        out.extend(sink.into_iter().map(|e| (*transport, *port, e)));
    }
    out
}

/// Record type and rcode numbers, typed in from the IANA registries (independent of our tables).
fn type_name(n: &str) -> &'static str {
    match n {
        "1" => "A",
        "2" => "NS",
        "5" => "CNAME",
        "6" => "SOA",
        "12" => "PTR",
        "15" => "MX",
        "16" => "TXT",
        "28" => "AAAA",
        "33" => "SRV",
        "41" => "OPT",
        "65" => "HTTPS",
        "257" => "CAA",
        other => panic!("type {other} seen by tshark: extend the test's table"),
    }
}

fn rcode_name(n: &str) -> &'static str {
    match n {
        "0" => "NOERROR",
        "2" => "SERVFAIL",
        "3" => "NXDOMAIN",
        "5" => "REFUSED",
        other => panic!("rcode {other} seen by tshark: extend the test's table"),
    }
}

/// The strings of a TXT presentation (`"a" "b"`), unescaped, to compare with tshark's dns.txt.
fn txt_strings(data: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = data.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut s = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => s.push(chars.next().expect("escape at end")),
                c => s.push(c),
            }
        }
        out.push(s);
    }
    out
}

/// One DNS message as tshark sees it: field name to the list of occurrences.
struct Row(HashMap<&'static str, Vec<String>>);

impl Row {
    fn all(&self, f: &str) -> Vec<String> {
        self.0.get(f).cloned().unwrap_or_else(|| panic!("field {f} was not asked of tshark"))
    }
    fn one(&self, f: &str) -> String {
        let v = self.all(f);
        assert_eq!(v.len(), 1, "field {f}: {v:?}");
        v[0].clone()
    }
}

const DNS_FIELDS: [&str; 40] = [
    "frame.number",
    "udp.srcport",
    "udp.dstport",
    "tcp.srcport",
    "tcp.dstport",
    "dns.flags.response",
    "dns.id",
    "dns.qry.name",
    "dns.qry.type",
    "dns.flags.rcode",
    "dns.count.answers",
    "dns.count.auth_rr",
    "dns.count.add_rr",
    "dns.resp.name",
    "dns.resp.type",
    "dns.resp.ttl",
    "dns.a",
    "dns.aaaa",
    "dns.cname",
    "dns.ns",
    "dns.ptr.domain_name",
    "dns.mx.preference",
    "dns.mx.mail_exchange",
    "dns.srv.priority",
    "dns.srv.weight",
    "dns.srv.port",
    "dns.srv.target",
    "dns.soa.mname",
    "dns.soa.rname",
    "dns.soa.serial_number",
    "dns.soa.refresh_interval",
    "dns.soa.retry_interval",
    "dns.soa.expire_limit",
    "dns.soa.minimum_ttl",
    "dns.txt",
    "dns.caa.flags",
    "dns.caa.tag",
    "dns.caa.value",
    "dns.svcb.svcpriority",
    "dns.svcb.targetname",
];
const DNS_FIELDS_2: [&str; 8] = [
    "dns.srv.service",
    "dns.srv.proto",
    "dns.srv.name",
    "dns.svcb.svcparam.alpn",
    "dns.svcb.svcparam.port",
    "dns.flags.authoritative",
    "dns.flags.recdesired",
    "dns.flags.recavail",
];

fn tshark_messages(pcap: &Path) -> Vec<Row> {
    let fields: Vec<&'static str> = DNS_FIELDS.iter().chain(&DNS_FIELDS_2).copied().collect();
    tshark_fields(pcap, "dns && !icmp", &fields)
        .into_iter()
        .map(|cols| {
            let mut m = HashMap::new();
            for (f, v) in fields.iter().zip(cols) {
                let list = if v.is_empty() { vec![] } else { v.split('|').map(str::to_string).collect() };
                m.insert(*f, list);
            }
            let row = Row(m);
            assert_eq!(
                row.all("dns.id").len(),
                1,
                "frame {} holds several DNS messages; the comparison assumes one per frame",
                row.one("frame.number")
            );
            row
        })
        .collect()
}

/// Records of all sections in order.
fn records(v: &Value) -> Vec<&Value> {
    ["answers", "authorities", "additionals"]
        .iter()
        .flat_map(|k| v.get(*k).and_then(Value::as_array).into_iter().flatten())
        .collect()
}

/// The `data` of our records of type `t`, in order.
fn data_of(recs: &[&Value], t: &str) -> Vec<String> {
    recs.iter().filter(|r| r["type"] == t).map(|r| r["data"].as_str().unwrap().to_string()).collect()
}

/// tshark's per-type fields zipped into our presentation.
fn zipped(row: &Row, fields: &[&str], sep: &str) -> Vec<String> {
    let cols: Vec<Vec<String>> = fields.iter().map(|f| row.all(f)).collect();
    let n = cols[0].len();
    assert!(cols.iter().all(|c| c.len() == n), "{fields:?}: {cols:?}");
    (0..n).map(|i| cols.iter().map(|c| c[i].clone()).collect::<Vec<_>>().join(sep)).collect()
}

/// Compares the records of one message (a response, or a query's OPT) with tshark's view.
fn compare_records(row: &Row, ours: &Value, what: &str) {
    let recs = records(ours);
    let types: Vec<&str> = recs.iter().map(|r| r["type"].as_str().unwrap()).collect();
    let theirs: Vec<&str> = row.all("dns.resp.type").iter().map(|t| type_name(t)).collect();
    assert_eq!(types, theirs, "{what}: types");
    // tshark 4.0 gives an SRV owner as service, proto and name fields instead of dns.resp.name.
    let (mut plain, mut srv) = (row.all("dns.resp.name").into_iter(), {
        zipped(row, &["dns.srv.service", "dns.srv.proto", "dns.srv.name"], ".").into_iter()
    });
    let their_names: Vec<String> = theirs
        .iter()
        .map(|t| {
            if *t == "SRV" { srv.next() } else { plain.next() }
                .unwrap_or_else(|| panic!("{what}: tshark owner names run out"))
        })
        .collect();
    let names: Vec<&str> = recs.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, their_names, "{what}: owner names");
    let ttls: Vec<String> = recs.iter().filter(|r| r["type"] != "OPT").map(|r| r["ttl"].to_string()).collect();
    assert_eq!(ttls, row.all("dns.resp.ttl"), "{what}: TTLs");
    let cases: [(&str, Vec<String>); 11] = [
        ("A", row.all("dns.a")),
        ("AAAA", row.all("dns.aaaa")),
        ("CNAME", row.all("dns.cname")),
        ("NS", row.all("dns.ns")),
        ("PTR", row.all("dns.ptr.domain_name")),
        ("MX", zipped(row, &["dns.mx.preference", "dns.mx.mail_exchange"], " ")),
        ("SRV", zipped(row, &["dns.srv.priority", "dns.srv.weight", "dns.srv.port", "dns.srv.target"], " ")),
        (
            "SOA",
            zipped(
                row,
                &[
                    "dns.soa.mname",
                    "dns.soa.rname",
                    "dns.soa.serial_number",
                    "dns.soa.refresh_interval",
                    "dns.soa.retry_interval",
                    "dns.soa.expire_limit",
                    "dns.soa.minimum_ttl",
                ],
                " ",
            ),
        ),
        (
            "CAA",
            zipped(row, &["dns.caa.flags", "dns.caa.tag", "dns.caa.value"], " ")
                .into_iter()
                .map(|s| {
                    // tshark shows the flags in hex; our form is decimal and quotes the value.
                    let mut parts = s.splitn(3, ' ');
                    let (flags, tag, value) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
                    let flags = u8::from_str_radix(flags.trim_start_matches("0x"), 16).unwrap();
                    format!("{flags} {tag} \"{value}\"")
                })
                .collect(),
        ),
        (
            "HTTPS",
            zipped(row, &["dns.svcb.svcpriority", "dns.svcb.targetname"], " ")
                .into_iter()
                .map(|s| {
                    format!(
                        "{s} alpn={} port={}",
                        row.all("dns.svcb.svcparam.alpn").join(","),
                        row.one("dns.svcb.svcparam.port")
                    )
                })
                .collect(),
        ),
        ("TXT", vec![]),
    ];
    for (t, expected) in cases {
        if t == "TXT" {
            let ours: Vec<String> = data_of(&recs, "TXT").iter().flat_map(|d| txt_strings(d)).collect();
            assert_eq!(ours, row.all("dns.txt"), "{what}: TXT strings");
        } else {
            assert_eq!(data_of(&recs, t), expected, "{what}: {t} data");
        }
    }
}

fn flag(row: &Row, field: &str) -> bool {
    matches!(row.all(field).first().map(String::as_str), Some("1" | "True"))
}

#[test]
fn exchanges_agree_with_tshark() {
    require_environment();
    let pid = std::process::id();
    let ip = format!("127.53.{}.{}", (pid >> 8) & 0xff, 1 + pid % 254);
    let dir = tempfile::Builder::new().prefix("dns_tshark").tempdir().unwrap();
    let dir_path = if std::env::var_os("DNS_TSHARK_KEEP").is_some() {
        // Keep the capture and logs for a look after the run.
        let p = dir.keep();
        eprintln!("dns_tshark: capture kept in {}", p.display());
        p
    } else {
        dir.path().to_path_buf()
    };
    let pcap = generate(&dir_path, &ip);

    let exchanges = dissect(&pcap, &ip);
    let messages = tshark_messages(&pcap);
    assert!(messages.len() > 20, "capture too small: {} DNS messages", messages.len());

    // Index our exchanges by (transport, client port, id, lowercased name, type).
    let mut by_key: HashMap<(Transport, u16, u16, String, String), &Exchange> = HashMap::new();
    for (t, port, e) in &exchanges {
        let q = &e.request["questions"][0];
        let key = (
            *t,
            *port,
            e.request["id"].as_u64().unwrap() as u16,
            q["name"].as_str().unwrap().to_ascii_lowercase(),
            q["type"].as_str().unwrap().to_string(),
        );
        assert!(by_key.insert(key.clone(), e).is_none(), "two exchanges for {key:?}");
    }

    let mut queries = 0;
    let mut types_seen = std::collections::BTreeSet::new();
    let mut nxdomain_over = std::collections::BTreeSet::new();
    let mut tcp_per_port: HashMap<u16, usize> = HashMap::new();
    let mut answered_by_tshark: BTreeMap<(Transport, u16, u16, String, String), bool> = BTreeMap::new();
    for row in &messages {
        let response = flag(row, "dns.flags.response");
        let (transport, sport, dport) = if row.all("udp.srcport").is_empty() {
            (Transport::Tcp, row.one("tcp.srcport"), row.one("tcp.dstport"))
        } else {
            (Transport::Udp, row.one("udp.srcport"), row.one("udp.dstport"))
        };
        let client_port: u16 = if response { dport } else { sport }.parse().unwrap();
        let id = u16::from_str_radix(row.one("dns.id").trim_start_matches("0x"), 16).unwrap();
        let name = row.one("dns.qry.name");
        let qtype = type_name(&row.one("dns.qry.type")).to_string();
        let key = (transport, client_port, id, name.to_ascii_lowercase(), qtype.clone());
        let what = format!("frame {} {key:?}", row.one("frame.number"));
        let e = by_key.get(&key).unwrap_or_else(|| panic!("{what}: no exchange of ours"));
        if !response {
            queries += 1;
            answered_by_tshark.entry(key.clone()).or_insert(false);
            if transport == Transport::Tcp {
                *tcp_per_port.entry(client_port).or_default() += 1;
            }
            assert_eq!(e.request["questions"][0]["name"], name.as_str(), "{what}: case kept");
            let rd = e.request["flags"].as_array().unwrap().contains(&"rd".into());
            assert_eq!(rd, flag(row, "dns.flags.recdesired"), "{what}: rd");
            compare_records(row, &e.request, &what);
            assert_eq!(e.summary, format!("{qtype} {name}"), "{what}: summary");
            continue;
        }
        answered_by_tshark.insert(key.clone(), true);
        let resp = e.response.as_ref().unwrap_or_else(|| panic!("{what}: tshark saw a response, we did not"));
        let rcode = rcode_name(&row.one("dns.flags.rcode"));
        assert_eq!(e.status.as_deref(), Some(rcode), "{what}: status");
        assert_eq!(resp["rcode"], rcode, "{what}: rcode");
        if rcode == "NXDOMAIN" {
            nxdomain_over.insert(transport);
        }
        for (section, count) in [
            ("answers", "dns.count.answers"),
            ("authorities", "dns.count.auth_rr"),
            ("additionals", "dns.count.add_rr"),
        ] {
            assert_eq!(resp[section].as_array().unwrap().len().to_string(), row.one(count), "{what}: {section}");
        }
        let flags = resp["flags"].as_array().unwrap();
        for (ours, field) in [("aa", "dns.flags.authoritative"), ("ra", "dns.flags.recavail")] {
            assert_eq!(flags.contains(&ours.into()), flag(row, field), "{what}: {ours}");
        }
        compare_records(row, resp, &what);
        for r in records(resp) {
            types_seen.insert(r["type"].as_str().unwrap().to_string());
        }
        assert!(e.notes.is_empty(), "{what}: {:?}", e.notes);
        assert!(e.end_ts.unwrap() >= e.ts, "{what}: times");
    }

    // Every exchange stands for one captured query, and exactly the queries tshark saw no
    // response to are unanswered: the one to the closed port, and any the server dropped (dnsmasq
    // may close a kept-open connection after its first answer, resetting the next query).
    assert_eq!(exchanges.len(), queries, "one exchange per query");
    let mut unanswered: Vec<&str> = exchanges
        .iter()
        .filter(|(_, _, e)| e.response.is_none())
        .map(|(_, _, e)| {
            assert_eq!(e.status, None);
            assert_eq!(e.end_ts, None);
            assert_eq!(e.notes.len(), 1, "{:?}", e.notes);
            e.summary.as_str()
        })
        .collect();
    unanswered.sort();
    let mut expected: Vec<&str> = answered_by_tshark
        .iter()
        .filter(|(_, answered)| !**answered)
        .map(|(k, _)| by_key[k].summary.as_str())
        .collect();
    expected.sort();
    assert_eq!(unanswered, expected, "unanswered queries");
    assert!(unanswered.contains(&"A lost.shark.test"), "{unanswered:?}");

    // The traffic covered what it was meant to.
    for t in ["A", "AAAA", "CNAME", "TXT", "MX", "SRV", "PTR", "NS", "SOA", "CAA", "HTTPS", "OPT"] {
        assert!(types_seen.contains(t), "no {t} record in the capture: {types_seen:?}");
    }
    assert!(nxdomain_over.contains(&Transport::Udp) && nxdomain_over.contains(&Transport::Tcp));
    assert!(tcp_per_port.values().any(|&n| n >= 3), "a TCP connection with several queries: {tcp_per_port:?}");
}
