//! Engine tests with a toy line protocol ("REQ x" / "RES x"), so the engine's own logic — flow
//! orientation, probing, replay, gaps, closing — is tested apart from any real protocol.

use super::*;
use crate::dissect::*;
use crate::entry::Transport;
use crate::source::LinkType;
use etherparse::PacketBuilder;

struct LineDissector;
struct LineSession {
    pending: Vec<(Timestamp, String)>,
    partial: [Vec<u8>; 2],
    /// Capture time of the first byte of each direction's partial line.
    started: [Option<Timestamp>; 2],
}

impl StreamDissector for LineDissector {
    fn name(&self) -> &'static str {
        "line"
    }
    fn probe(&self, _: &FlowInfo, data: &[u8]) -> Probe {
        if data.len() < 4 {
            Probe::NeedMore
        } else if data.starts_with(b"REQ ") {
            Probe::Client
        } else if data.starts_with(b"RES ") {
            Probe::Server
        } else {
            Probe::No
        }
    }
    fn new_session(&self, _: &FlowInfo) -> Box<dyn StreamSession> {
        Box::new(LineSession { pending: Vec::new(), partial: [Vec::new(), Vec::new()], started: [None, None] })
    }
}

impl StreamSession for LineSession {
    fn on_data(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        let buf = &mut self.partial[dir.index()];
        let mut first_ts = *self.started[dir.index()].get_or_insert(ts);
        buf.extend_from_slice(data);
        while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=nl).collect();
            let ts = std::mem::replace(&mut first_ts, ts);
            let text = String::from_utf8_lossy(&line[..line.len() - 1]).to_string();
            match dir {
                Direction::ClientToServer => self.pending.push((ts, text)),
                Direction::ServerToClient => {
                    let (req_ts, req) =
                        if self.pending.is_empty() { (ts, String::new()) } else { self.pending.remove(0) };
                    out.emit(exchange(req_ts, req, Some((ts, text))));
                }
            }
        }
        self.started[dir.index()] = if buf.is_empty() { None } else { Some(first_ts) };
    }
    fn on_gap(&mut self, dir: Direction, _: u64, _: &mut dyn ExchangeSink) {
        self.partial[dir.index()].clear();
    }
    fn on_end(&mut self, _: Direction, _: Timestamp, _: &mut dyn ExchangeSink) {}
    fn on_close(&mut self, _: Timestamp, out: &mut dyn ExchangeSink) {
        for (ts, req) in self.pending.drain(..) {
            out.emit(exchange(ts, req, None));
        }
    }
}

fn exchange(ts: Timestamp, req: String, res: Option<(Timestamp, String)>) -> Exchange {
    Exchange {
        protocol: "line",
        ts,
        end_ts: res.as_ref().map(|r| r.0),
        summary: req.clone(),
        status: res.as_ref().map(|r| r.1.clone()),
        outcome: if res.is_some() { crate::entry::Outcome::Ok } else { crate::entry::Outcome::NoResponse },
        request_size: req.len() as u64,
        response_size: res.as_ref().map_or(0, |r| r.1.len() as u64),
        request: serde_json::json!({ "line": req }),
        response: res.map(|r| serde_json::json!({ "line": r.1 })),
        notes: Vec::new(),
    }
}

const CLIENT: ([u8; 4], u16) = ([10, 0, 0, 1], 40000);
const SERVER: ([u8; 4], u16) = ([10, 0, 0, 2], 7000);

#[derive(Clone, Copy)]
struct Flags {
    syn: bool,
    ack: bool,
    fin: bool,
    rst: bool,
}
const DATA: Flags = Flags { syn: false, ack: true, fin: false, rst: false };

fn tcp_frame(from_client: bool, seq: u32, flags: Flags, payload: &[u8]) -> Vec<u8> {
    let (src, dst) = if from_client { (CLIENT, SERVER) } else { (SERVER, CLIENT) };
    tcp_frame_between(src, dst, seq, flags, payload)
}

fn tcp_frame_between(src: ([u8; 4], u16), dst: ([u8; 4], u16), seq: u32, flags: Flags, payload: &[u8]) -> Vec<u8> {
    tcp_frame_acking(src, dst, seq, 0, flags, payload)
}

/// A frame whose ACK flag (when set) carries acknowledgement number `ack`.
fn tcp_frame_acking(
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    ack: u32,
    flags: Flags,
    payload: &[u8],
) -> Vec<u8> {
    let mut b = PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4(src.0, dst.0, 64).tcp(src.1, dst.1, seq, 65535);
    if flags.syn {
        b = b.syn();
    }
    if flags.ack {
        b = b.ack(ack);
    }
    if flags.fin {
        b = b.fin();
    }
    if flags.rst {
        b = b.rst();
    }
    let mut v = Vec::new();
    b.write(&mut v, payload).expect("building a test frame");
    v
}

fn run(frames: &[(u64, Vec<u8>)]) -> (Vec<Entry>, EngineStats) {
    run_with(vec![Box::new(LineDissector)], frames)
}

fn ip(a: [u8; 4]) -> std::net::IpAddr {
    std::net::IpAddr::from(a)
}

#[test]
fn full_connection_yields_exchanges_with_client_as_src() {
    let frames = vec![
        (1, tcp_frame(true, 100, Flags { syn: true, ack: false, fin: false, rst: false }, b"")),
        (2, tcp_frame(false, 500, Flags { syn: true, ack: true, fin: false, rst: false }, b"")),
        (3, tcp_frame(true, 101, DATA, b"REQ a\n")),
        (5, tcp_frame(false, 501, DATA, b"RES 1\n")),
        (6, tcp_frame(true, 107, DATA, b"REQ b\n")),
        (9, tcp_frame(false, 507, DATA, b"RES 2\n")),
        (10, tcp_frame(true, 113, Flags { fin: true, ..DATA }, b"")),
        (11, tcp_frame(false, 513, Flags { fin: true, ..DATA }, b"")),
    ];
    let (entries, stats) = run(&frames);
    let got: Vec<_> = entries.iter().map(|e| (e.summary.as_str(), e.status.as_deref(), e.elapsed_us)).collect();
    assert_eq!(got, vec![("REQ a", Some("RES 1"), Some(2000)), ("REQ b", Some("RES 2"), Some(3000))]);
    for e in &entries {
        assert_eq!((e.src.ip, e.src.port), (ip(CLIENT.0), CLIENT.1));
        assert_eq!((e.dst.ip, e.dst.port), (ip(SERVER.0), SERVER.1));
        assert_eq!(e.transport, Transport::Tcp);
    }
    assert_ne!(entries[0].id, entries[1].id);
    assert_eq!(stats.tcp_flows_total, 1);
    assert_eq!(stats.tcp_flows_active, 0, "both FINs close the flow");
}

#[test]
fn mid_stream_connection_is_oriented_by_content() {
    // No handshake, both ports ephemeral, and the server speaks first: the engine's first guess
    // (the first sender is the client) is wrong, and the probe must correct it.
    let server = ([10, 0, 0, 2], 50000);
    let frames = vec![
        (1, tcp_frame_between(server, CLIENT, 900, DATA, b"RES 0\n")),
        (2, tcp_frame_between(CLIENT, server, 300, DATA, b"REQ x\n")),
        (3, tcp_frame_between(server, CLIENT, 906, DATA, b"RES 1\n")),
    ];
    let (entries, _) = run(&frames);
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(entries.iter().all(|e| e.src.port == CLIENT.1 && e.dst.port == server.1), "{entries:?}");
    assert_eq!(entries[1].summary, "REQ x");
    assert_eq!(entries[1].status.as_deref(), Some("RES 1"));
}

#[test]
fn well_known_port_is_taken_as_server_without_handshake() {
    let frames = vec![
        (1, tcp_frame(false, 900, DATA, b"RES 0\n")),
        (2, tcp_frame(true, 300, DATA, b"REQ x\n")),
        (3, tcp_frame(false, 906, DATA, b"RES 1\n")),
    ];
    let (entries, _) = run(&frames);
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(entries.iter().all(|e| e.src.port == CLIENT.1 && e.dst.port == SERVER.1), "{entries:?}");
}

#[test]
fn unknown_protocol_yields_nothing_and_is_counted() {
    let frames = vec![
        (1, tcp_frame(true, 100, Flags { syn: true, ack: false, fin: false, rst: false }, b"")),
        (2, tcp_frame(true, 101, DATA, b"HELLO there\n")),
        (3, tcp_frame(false, 501, DATA, b"WORLD\n")),
    ];
    let (entries, stats) = run(&frames);
    assert!(entries.is_empty());
    assert_eq!(stats.tcp_flows_unrecognised, 1);
}

#[test]
fn request_split_over_segments_and_reordered() {
    let frames = vec![
        (1, tcp_frame(true, 100, Flags { syn: true, ack: false, fin: false, rst: false }, b"")),
        (2, tcp_frame(true, 104, DATA, b" a\n")),
        (3, tcp_frame(true, 101, DATA, b"REQ")),
        (4, tcp_frame(false, 501, DATA, b"RES 1\n")),
    ];
    let (entries, _) = run(&frames);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].summary, "REQ a");
    assert_eq!(entries[0].ts, Timestamp(3_000_000), "ts is the first request byte's segment");
}

#[test]
fn pending_request_is_reported_at_end_of_capture() {
    let frames = vec![(1, tcp_frame(true, 101, DATA, b"REQ lonely\n"))];
    let (entries, _) = run(&frames);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].status, None);
    assert_eq!(entries[0].elapsed_us, None);
}

/// A server that answers and closes (FIN), and a client that, having acknowledged the FIN, sends
/// one more request, which the server's stack refuses with a RST (dnsmasq 2.90 over TCP, dig
/// +keepopen), in capture order: SYN, SYN-ACK, request, answer, FIN, then `last` (the request and
/// the RST, in either order), then `extra`. The entries it gives, as (summary, status).
fn answered_closed_then_reset(last: [Vec<u8>; 2], extra: Vec<Vec<u8>>) -> Vec<(String, Option<String>)> {
    let syn = Flags { syn: true, ack: false, fin: false, rst: false };
    let mut frames = vec![
        (1, tcp_frame_acking(CLIENT, SERVER, 100, 0, syn, b"")),
        (2, tcp_frame_acking(SERVER, CLIENT, 500, 101, Flags { ack: true, ..syn }, b"")),
        (3, tcp_frame_acking(CLIENT, SERVER, 101, 501, DATA, b"REQ a\n")),
        (4, tcp_frame_acking(SERVER, CLIENT, 501, 107, DATA, b"RES 1\n")),
        (5, tcp_frame_acking(SERVER, CLIENT, 507, 107, Flags { fin: true, ..DATA }, b"")),
    ];
    frames.extend(last.into_iter().chain(extra).zip(6..).map(|(frame, t)| (t, frame)));
    let (entries, _) = run(&frames);
    entries.iter().map(|e| (e.summary.clone(), e.status.clone())).collect()
}

/// The client's last request: it acknowledges the server's FIN (ack 508).
fn request_after_fin() -> Vec<u8> {
    tcp_frame_acking(CLIENT, SERVER, 107, 508, DATA, b"REQ b\n")
}

/// The server's stack refusing it.
fn server_reset() -> Vec<u8> {
    tcp_frame_acking(SERVER, CLIENT, 508, 0, Flags { syn: false, ack: false, fin: false, rst: true }, b"")
}

fn answered_then_unanswered() -> Vec<(String, Option<String>)> {
    vec![("REQ a".into(), Some("RES 1".into())), ("REQ b".into(), None)]
}

/// The request waits in the ack order (its ACK is beyond the server's next byte); the RST must not
/// discard it: it goes to the session before the RST ends the connection, and is reported
/// unanswered, as tshark shows it.
#[test]
fn a_request_sent_after_acknowledging_the_servers_fin_is_reported() {
    let got = answered_closed_then_reset([request_after_fin(), server_reset()], vec![]);
    assert_eq!(got, answered_then_unanswered());
}

/// The same connection as a capture can reorder it: the RST captured before the client's last
/// request (which the client sent before its stack saw the RST). The request continues the
/// client's stream exactly, so it is new: reported unanswered. A retransmission of the first
/// request after the reset is a copy: not reported again.
#[test]
fn a_request_captured_after_the_reset_that_continues_the_stream_is_reported() {
    let copy = tcp_frame_acking(CLIENT, SERVER, 101, 501, DATA, b"REQ a\n");
    let got = answered_closed_then_reset([server_reset(), request_after_fin()], vec![copy]);
    assert_eq!(got, answered_then_unanswered());
}

/// A copy of the request captured after the server's RST (a retransmission, or a capture that
/// reordered packets) belongs to the connection that was reset: it must not start a connection of
/// its own and report the request a second time.
#[test]
fn a_segment_captured_after_the_reset_does_not_start_a_new_connection() {
    let syn = Flags { syn: true, ack: false, fin: false, rst: false };
    let rst = Flags { syn: false, ack: true, fin: false, rst: true };
    let frames = vec![
        (1, tcp_frame(true, 100, syn, b"")),
        (2, tcp_frame(false, 500, Flags { ack: true, ..syn }, b"")),
        (3, tcp_frame(true, 101, DATA, b"REQ a\nREQ b\n")),
        (4, tcp_frame(false, 501, DATA, b"RES 1\n")),
        (5, tcp_frame(false, 507, rst, b"")),
        (6, tcp_frame(true, 101, DATA, b"REQ a\nREQ b\n")),
    ];
    let (entries, stats) = run(&frames);
    let got: Vec<_> = entries.iter().map(|e| (e.summary.as_str(), e.status.as_deref())).collect();
    assert_eq!(got, vec![("REQ a", Some("RES 1")), ("REQ b", None)]);
    assert_eq!(stats.tcp_flows_total, 1);
}

#[test]
fn malformed_frames_are_counted_not_fatal() {
    let mut frames = vec![(1, vec![0u8; 7]), (2, tcp_frame(true, 101, DATA, b"REQ a\n"))];
    frames.push((3, tcp_frame(false, 501, DATA, b"RES 1\n")));
    let (entries, stats) = run(&frames);
    assert_eq!(entries.len(), 1);
    assert_eq!(stats.malformed_packets, 1);
}

#[test]
fn request_tail_captured_before_the_syn_and_its_head() {
    // Capture order: the request's second half, the SYN, the SYN-ACK, the first half, the response.
    let syn = Flags { syn: true, ack: false, fin: false, rst: false };
    let frames = vec![
        (1, tcp_frame(true, 104, DATA, b" a\n")),
        (2, tcp_frame(true, 100, syn, b"")),
        (3, tcp_frame(false, 500, Flags { syn: true, ..DATA }, b"")),
        (4, tcp_frame(true, 101, DATA, b"REQ")),
        (5, tcp_frame(false, 501, DATA, b"RES 1\n")),
    ];
    let (entries, stats) = run(&frames);
    let got: Vec<_> = entries.iter().map(|e| (e.summary.as_str(), e.status.as_deref())).collect();
    assert_eq!(got, vec![("REQ a", Some("RES 1"))]);
    assert_eq!(stats.tcp_flows_total, 1, "the late SYN belongs to the same connection");
    assert_eq!(stats.reassembly.gaps, 0);
}

#[test]
fn response_captured_before_its_request_is_paired_with_it() {
    // The server's answer (acknowledging the request) is captured before the request.
    let syn = Flags { syn: true, ack: false, fin: false, rst: false };
    let mut response = tcp_frame(false, 501, DATA, b"RES 1\n");
    // Acknowledge the 6 request bytes: ack = 101 + 6 (TCP header at 14 + 20, ack field at +8).
    response[42..46].copy_from_slice(&107u32.to_be_bytes());
    let frames = vec![
        (1, tcp_frame(true, 100, syn, b"")),
        (2, tcp_frame(false, 500, Flags { syn: true, ..DATA }, b"")),
        (3, response),
        (4, tcp_frame(true, 101, DATA, b"REQ a\n")),
    ];
    let (entries, stats) = run(&frames);
    let got: Vec<_> = entries.iter().map(|e| (e.summary.as_str(), e.status.as_deref())).collect();
    assert_eq!(got, vec![("REQ a", Some("RES 1"))]);
    assert_eq!(stats.segments_held_for_ack_order, 1);
}

/// A toy protocol that ends by handing the connection to "line": the client sends "UPGRADE\n",
/// the server answers "OK\n", and whatever follows either line is the next protocol's.
struct SwitchDissector;
struct SwitchSession {
    bufs: [Vec<u8>; 2],
    asked: Option<Timestamp>,
    handoff: Option<Handoff>,
}

impl StreamDissector for SwitchDissector {
    fn name(&self) -> &'static str {
        "switch"
    }
    fn probe(&self, _: &FlowInfo, data: &[u8]) -> Probe {
        if b"UPGRADE\n".starts_with(data) {
            Probe::NeedMore
        } else if data.starts_with(b"UPGRADE\n") {
            Probe::Client
        } else {
            Probe::No
        }
    }
    fn new_session(&self, _: &FlowInfo) -> Box<dyn StreamSession> {
        Box::new(SwitchSession { bufs: [Vec::new(), Vec::new()], asked: None, handoff: None })
    }
}

impl StreamSession for SwitchSession {
    fn on_data(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut dyn ExchangeSink) {
        self.bufs[dir.index()].extend_from_slice(data);
        let client_line = self.bufs[0].starts_with(b"UPGRADE\n");
        if client_line && self.asked.is_none() {
            self.asked = Some(ts);
        }
        if let (Some(asked), true) = (self.asked, self.bufs[1].starts_with(b"OK\n")) {
            let mut x = exchange(asked, "UPGRADE".into(), Some((ts, "OK".into())));
            x.protocol = "switch";
            let id = out.emit_with_id(x);
            let pending = [self.bufs[0].split_off(8), self.bufs[1].split_off(3)];
            let upgrade = Upgrade { entry_id: id, ..Upgrade::default() };
            self.handoff = Some(Handoff { next: Continuation::Protocol("line"), pending, ts, upgrade });
        }
    }
    fn on_gap(&mut self, _: Direction, _: u64, _: &mut dyn ExchangeSink) {}
    fn on_end(&mut self, _: Direction, _: Timestamp, _: &mut dyn ExchangeSink) {}
    fn on_close(&mut self, _: Timestamp, _: &mut dyn ExchangeSink) {}
    fn take_handoff(&mut self) -> Option<Handoff> {
        self.handoff.take()
    }
}

fn run_with(dissectors: Vec<Box<dyn StreamDissector>>, frames: &[(u64, Vec<u8>)]) -> (Vec<Entry>, EngineStats) {
    let mut engine = Engine::with_dissectors(EngineConfig::default(), dissectors, vec![]);
    let mut entries = Vec::new();
    for (ms, frame) in frames {
        let raw = RawPacket {
            ts: Timestamp(ms * 1_000_000),
            link_type: LinkType::Ethernet,
            capture_point: 0,
            data: frame,
            orig_len: frame.len() as u32,
        };
        engine.process(&raw, &mut |e| entries.push(e));
    }
    engine.finish(&mut |e| entries.push(e));
    (entries, engine.stats())
}

#[test]
fn a_handoff_continues_the_connection_in_the_next_protocol_without_losing_a_byte() {
    let syn = Flags { syn: true, ack: false, fin: false, rst: false };
    let syn_ack = Flags { syn: true, ack: true, fin: false, rst: false };
    // The client sends its first line of the next protocol in the same segment as the upgrade;
    // the server's answer and its first line of the next protocol share a segment too.
    let frames = vec![
        (1, tcp_frame(true, 100, syn, b"")),
        (2, tcp_frame(false, 500, syn_ack, b"")),
        (3, tcp_frame(true, 101, DATA, b"UPGRADE\nREQ a\n")),
        (4, tcp_frame(false, 501, DATA, b"OK\nRES 1\n")),
        (5, tcp_frame(true, 115, DATA, b"REQ b\n")),
        (6, tcp_frame(false, 510, DATA, b"RES 2\n")),
    ];
    let dissectors = || -> Vec<Box<dyn StreamDissector>> { vec![Box::new(SwitchDissector), Box::new(LineDissector)] };
    let (entries, stats) = run_with(dissectors(), &frames);
    let got: Vec<_> = entries.iter().map(|e| (e.protocol.as_str(), e.summary.as_str(), e.status.as_deref())).collect();
    assert_eq!(
        got,
        vec![("switch", "UPGRADE", Some("OK")), ("line", "REQ a", Some("RES 1")), ("line", "REQ b", Some("RES 2"))]
    );
    assert_eq!(stats.handoffs, 1);
    assert!(entries.iter().all(|e| e.src.port == CLIENT.1), "roles carry over: {entries:?}");
    // With the next protocol disabled, the connection is dropped after the switch.
    let (entries, _) = run_with(vec![Box::new(SwitchDissector)], &frames);
    assert_eq!(entries.len(), 1);
}

#[test]
fn byte_streams_feed_the_same_sessions_and_are_marked_tls() {
    let key = StreamKey { client: (ip(CLIENT.0), CLIENT.1), server: (ip(SERVER.0), SERVER.1), conn_id: 7 };
    let client = b"UPGRADE\nREQ a\nREQ b\n";
    let server = b"OK\nRES 1\nRES 2\n";
    let expected =
        vec![("switch", "UPGRADE", Some("OK")), ("line", "REQ a", Some("RES 1")), ("line", "REQ b", Some("RES 2"))];
    // Every way of cutting the client's bytes in two gives the same entries.
    for cut in 1..client.len() {
        let mut engine = Engine::with_dissectors(
            EngineConfig::default(),
            vec![Box::new(SwitchDissector), Box::new(LineDissector)],
            vec![],
        );
        let mut entries = Vec::new();
        let mut feed = |dir, data: &[u8], ms: u64, entries: &mut Vec<Entry>| {
            let input = StreamInput::Data { dir, data, ts: Timestamp(ms * 1_000_000) };
            engine.stream_input(&key, true, input, &mut |e| entries.push(e));
        };
        feed(Direction::ClientToServer, &client[..cut], 1, &mut entries);
        feed(Direction::ClientToServer, &client[cut..], 2, &mut entries);
        feed(Direction::ServerToClient, server, 3, &mut entries);
        engine.stream_close(&key, Timestamp(4_000_000), &mut |e| entries.push(e));
        let got: Vec<_> =
            entries.iter().map(|e| (e.protocol.as_str(), e.summary.as_str(), e.status.as_deref())).collect();
        assert_eq!(got, expected, "cut at {cut}");
        assert!(entries.iter().all(|e| e.tls && e.transport == Transport::Tcp && e.dst.port == SERVER.1));
        assert_eq!(engine.stats().tcp_flows_active, 0);
    }
}
