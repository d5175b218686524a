//! The capture scope in front of the engine: packets between addresses outside the scope are left
//! out (not dissected, counted). Offline against the bundled capture, with the unscoped run and
//! etherparse as oracles; live on loopback with a real TCP exchange from 127.0.0.2 (in scope) and
//! one from 127.0.0.1 (out of scope). The live test needs root (CAP_NET_RAW); it fails without.

use etherparse::{NetSlice, SlicedPacket};
use node_agent::engine::EngineConfig;
use node_agent::pipeline::{run_files, run_files_scoped};
use node_agent::scope::{CaptureScope, PacketScope, Scope};
use node_agent::source::file::CaptureFile;
use node_agent::Entry;
use std::collections::HashSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/demo.pcapng")
}

/// An entry as JSON without its id (ids number entries in order, so they differ between runs that
/// leave out different entries).
fn without_id(e: &Entry) -> String {
    serde_json::to_string(&Entry { id: String::new(), ..e.clone() }).unwrap()
}

/// The packets of the file with neither address in `scope`, read with etherparse.
fn packets_outside(path: &Path, scope: &HashSet<IpAddr>) -> u64 {
    let mut file = CaptureFile::open(path).unwrap();
    let mut outside = 0;
    while let Some(p) = file.next_packet() {
        let p = p.unwrap();
        let sliced = SlicedPacket::from_ethernet(p.data).expect("the demo capture is Ethernet");
        let (src, dst): (IpAddr, IpAddr) = match sliced.net {
            Some(NetSlice::Ipv4(v4)) => (v4.header().source_addr().into(), v4.header().destination_addr().into()),
            Some(NetSlice::Ipv6(v6)) => (v6.header().source_addr().into(), v6.header().destination_addr().into()),
            _ => continue,
        };
        if !scope.contains(&src) && !scope.contains(&dst) {
            outside += 1;
        }
    }
    outside
}

#[test]
fn a_scoped_run_gives_the_entries_of_the_scope_and_counts_the_rest() {
    let mut all = Vec::new();
    let full = run_files(&[demo()], EngineConfig::default(), &mut |e| all.push(e));
    assert!(full.error.is_none());
    assert_eq!(full.summary.out_of_scope, 0);

    let addresses: HashSet<IpAddr> = ["10.77.248.4", "fd77:71aa::4"].iter().map(|a| a.parse().unwrap()).collect();
    let scope = Scope::only(addresses.iter().copied()).unwrap();
    let mut scoped = Vec::new();
    let run = run_files_scoped(&[demo()], EngineConfig::default(), Some(&scope), &mut |e| scoped.push(e));
    assert!(run.error.is_none());

    let mut want: Vec<String> =
        all.iter().filter(|e| addresses.contains(&e.src.ip) || addresses.contains(&e.dst.ip)).map(without_id).collect();
    let mut got: Vec<String> = scoped.iter().map(without_id).collect();
    want.sort();
    got.sort();
    assert!(!want.is_empty() && want.len() < all.len(), "the scope holds some of the demo's entries");
    assert_eq!(got, want, "exactly the entries with an end in scope, unchanged");
    let outside = packets_outside(&demo(), &addresses);
    assert!(outside > 0);
    assert_eq!(run.summary.out_of_scope, outside, "every packet outside the scope is counted, and only those");
    assert_eq!(run.summary.source.packets, full.summary.source.packets, "the source still read every packet");
    assert_eq!(run.summary.engine.packets + outside, full.summary.engine.packets, "the engine saw the rest");

    // An empty scope keeps nothing.
    let nothing = Scope::only([]).unwrap();
    let mut none = Vec::new();
    let run =
        run_files_scoped(&[demo()], EngineConfig::default(), Some(&nothing as &dyn PacketScope), &mut |e| none.push(e));
    assert!(none.is_empty());
    assert_eq!(run.summary.engine.packets, 0);
    assert_eq!(run.summary.out_of_scope, packets_outside(&demo(), &HashSet::new()));
}

#[cfg(target_os = "linux")]
mod live {
    use super::*;
    use node_agent::pipeline::{run_live, LiveOptions, LiveSink, LiveSummary};
    use node_agent::source::live::LiveConfig;
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{mpsc, Arc};
    use std::time::Duration;

    struct Channels {
        entries: mpsc::Sender<Entry>,
        started: Option<mpsc::Sender<()>>,
    }

    impl LiveSink for Channels {
        fn entry(&mut self, entry: Entry) {
            let _ = self.entries.send(entry);
        }
        fn progress(&mut self, _: &LiveSummary) {
            if let Some(s) = self.started.take() {
                let _ = s.send(());
            }
        }
    }

    /// One HTTP exchange from `from` (any port) to `server`; returns the client's address.
    fn exchange(from: IpAddr, server: SocketAddr, path: &str) -> SocketAddr {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let stream = runtime.block_on(async {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(SocketAddr::new(from, 0)).unwrap();
            socket.connect(server).await.unwrap().into_std().unwrap()
        });
        stream.set_nonblocking(false).unwrap();
        let mut stream: TcpStream = stream;
        let local = stream.local_addr().unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
        local
    }

    /// Answers `count` requests with 200 and closes each connection.
    fn serve(listener: TcpListener, count: usize) -> std::thread::JoinHandle<()> {
        std::thread::spawn(move || {
            for _ in 0..count {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = s.read(&mut chunk).unwrap();
                    assert!(n > 0, "the client closed before its request ended");
                    buf.extend_from_slice(&chunk[..n]);
                }
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok").unwrap();
            }
        })
    }

    #[test]
    fn live_capture_on_loopback_keeps_only_the_scope() {
        // SAFETY: geteuid has no preconditions.
        assert_eq!(unsafe { libc::geteuid() }, 0, "live capture needs root (CAP_NET_RAW): run the tests as root");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let server = listener.local_addr().unwrap();
        let server_thread = serve(listener, 2);

        let scope = Arc::new(CaptureScope::new());
        scope.set(Scope::only(["127.0.0.2".parse().unwrap()]).unwrap());
        let (entries_tx, entries) = mpsc::channel();
        let (started_tx, started) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let capture = {
            let (stop, scope) = (Arc::clone(&stop), Arc::clone(&scope));
            std::thread::spawn(move || {
                let options = LiveOptions {
                    capture: LiveConfig { interfaces: vec!["lo".into()], ..LiveConfig::default() },
                    engine: EngineConfig::default(),
                    storage: None,
                    duration: None,
                    progress_interval: Duration::from_millis(20),
                    scope: Some(scope as Arc<dyn PacketScope>),
                };
                let mut sink = Channels { entries: entries_tx, started: Some(started_tx) };
                run_live(options, &stop, &mut sink)
            })
        };
        started.recv_timeout(Duration::from_secs(60)).expect("the capture started");

        // Out of scope first, then in scope: once the second's entry is out, the first's packets
        // have been through the scope check.
        let outside = exchange("127.0.0.1".parse().unwrap(), server, "/out-of-scope");
        let inside = exchange("127.0.0.2".parse().unwrap(), server, "/in-scope");
        server_thread.join().unwrap();
        let mut got = Vec::new();
        while !got.iter().any(|e: &Entry| e.summary == "GET /in-scope") {
            got.push(entries.recv_timeout(Duration::from_secs(60)).expect("the in-scope entry"));
        }
        stop.store(true, Ordering::Relaxed);
        let summary = capture.join().unwrap().expect("the capture ran");
        got.extend(entries.try_iter());

        let ours: Vec<&Entry> = got.iter().filter(|e| e.dst.port == server.port()).collect();
        assert_eq!(ours.len(), 1, "{ours:?}");
        assert_eq!((ours[0].src.ip, ours[0].src.port), (inside.ip(), inside.port()));
        assert_eq!(ours[0].status.as_deref(), Some("200"));
        assert!(!got.iter().any(|e| e.src.port == outside.port()), "the out-of-scope exchange left no entry");
        let in_scope: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(got.iter().all(|e| e.src.ip == in_scope || e.dst.ip == in_scope), "{got:?}");
        // At least the handshake, request, response and closing of the other exchange.
        assert!(summary.out_of_scope >= 6, "{summary:?}");
    }
}
