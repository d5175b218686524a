//! Exporting an entry's packets from the ring: the export holds exactly the packets tshark finds
//! for that connection in the original capture, and dissecting it yields the entry again.

use node_agent::engine::EngineConfig;
use node_agent::pipeline::run_files;
use node_agent::source::file::CaptureFile;
use node_agent::storage::{export_connection, ConnectionFilter, PcapRing};
use node_agent::{Entry, Timestamp};
use std::path::{Path, PathBuf};
use std::process::Command;

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/demo.pcapng")
}

fn entries_of(path: &Path) -> Vec<Entry> {
    let mut out = Vec::new();
    let run = run_files(&[path.to_path_buf()], EngineConfig::default(), &mut |e| out.push(e));
    assert!(run.error.is_none(), "{:?}", run.error);
    out
}

/// (epoch ns as text, frame length) of the packets tshark selects with `filter`.
fn tshark_frames(path: &Path, filter: &str) -> Vec<(String, String)> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-Y", filter, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len"])
        .output()
        .expect("tshark must be installed (tests/setup installs it)");
    assert!(out.status.success(), "tshark: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let mut f = l.split('\t');
            (f.next().unwrap_or("").to_string(), f.next().unwrap_or("").to_string())
        })
        .collect()
}

fn conversation_filter(e: &Entry) -> String {
    let t = e.transport_name();
    format!(
        "ip{v}.addr=={} && ip{v}.addr=={} && {t}.port=={} && {t}.port=={}",
        e.src.ip,
        e.dst.ip,
        e.src.port,
        e.dst.port,
        v = if e.src.ip.is_ipv6() { "v6" } else { "" }
    )
}

trait TransportName {
    fn transport_name(&self) -> &'static str;
}
impl TransportName for Entry {
    fn transport_name(&self) -> &'static str {
        match self.transport {
            node_agent::Transport::Tcp => "tcp",
            node_agent::Transport::Udp => "udp",
        }
    }
}

#[test]
fn an_entrys_connection_is_exported_from_the_ring() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ring = PcapRing::create(&dir.path().join("ring"), 50 << 20).expect("ring");
    let mut file = CaptureFile::open(&demo()).expect("demo capture");
    while let Some(p) = file.next_packet() {
        ring.write(&p.expect("demo capture reads cleanly")).expect("store");
    }
    ring.flush().expect("flush");

    let entries = entries_of(&demo());
    let http = entries.iter().find(|e| e.summary.starts_with("POST ")).expect("a POST in the demo");
    let dns = entries
        .iter()
        .find(|e| e.protocol == "dns" && e.transport == node_agent::Transport::Tcp)
        .expect("DNS over TCP");
    for entry in [http, dns] {
        let filter = ConnectionFilter {
            a: (entry.src.ip, entry.src.port),
            b: (entry.dst.ip, entry.dst.port),
            from: Timestamp::ZERO,
            to: Timestamp(u64::MAX),
        };
        let out_path = dir.path().join(format!("{}.pcapng", entry.id));
        let out = std::fs::File::create(&out_path).expect("create export");
        let written = export_connection(ring.files(), &filter, std::io::BufWriter::new(out)).expect("export");

        let expected = tshark_frames(&demo(), &conversation_filter(entry));
        assert!(!expected.is_empty());
        assert_eq!(written as usize, expected.len(), "{}", entry.summary);
        assert_eq!(tshark_frames(&out_path, "frame"), expected, "same packets, times and lengths");

        let again = entries_of(&out_path);
        assert!(
            again.iter().any(|e| e.summary == entry.summary && e.status == entry.status && e.src == entry.src),
            "dissecting the export yields the entry again: {:?} not in {:?}",
            entry.summary,
            again.iter().map(|e| &e.summary).collect::<Vec<_>>()
        );
    }
}
