#![no_main]
//! DNS over TCP: the probe on the raw input; then a split-invariance check (the same client and
//! server streams fed whole and cut into segments must give identical exchanges); then a run
//! with capture gaps, checking the buffer bound.
//!
//! Input layout: [cut seed][split point: u16 BE][client stream ... | server stream ...].

use libfuzzer_sys::fuzz_target;
use node_agent::dissect::dns::{DnsTcpDissector, MAX_TCP_BUFFER};
use node_agent::dissect::{Direction, Exchange, FlowInfo, StreamDissector, StreamSession};
use node_agent::time::Timestamp;

fn flow(saw_handshake: bool) -> FlowInfo {
    FlowInfo { server_port: 53, client_port: 40000, saw_handshake }
}

/// Feeds both streams in pieces whose sizes come from `seed` (0 = whole), all at one time
/// (message times then do not depend on the cuts).
fn run(handshake: bool, client: &[u8], server: &[u8], seed: u8) -> Vec<Exchange> {
    let mut s = DnsTcpDissector.new_session(&flow(handshake));
    let mut out = Vec::new();
    for (dir, mut bytes) in [(Direction::ClientToServer, client), (Direction::ServerToClient, server)] {
        let mut step = seed as usize;
        while !bytes.is_empty() {
            let n = if seed == 0 { bytes.len() } else { 1 + step % 97 };
            step = step.wrapping_mul(31).wrapping_add(7);
            let (piece, rest) = bytes.split_at(n.min(bytes.len()));
            s.on_data(dir, piece, Timestamp(1), &mut out);
            assert!(s.buffered_bytes() <= 2 * MAX_TCP_BUFFER);
            bytes = rest;
        }
    }
    s.on_close(Timestamp(2), &mut out);
    assert_eq!(s.buffered_bytes(), 0);
    out
}

fn with_gaps(data: &[u8]) {
    let mut s: Box<dyn StreamSession> = DnsTcpDissector.new_session(&flow(true));
    let mut out = Vec::new();
    // Repeated [control][length: u8][bytes]: bit 0 direction, bit 1 gap of `length * 7` bytes first.
    let mut rest = data;
    while rest.len() >= 2 {
        let (ctl, len) = (rest[0], rest[1] as usize);
        let dir = if ctl & 1 == 0 { Direction::ClientToServer } else { Direction::ServerToClient };
        if ctl & 2 != 0 {
            s.on_gap(dir, len as u64 * 7, &mut out);
        }
        let (piece, tail) = rest[2..].split_at(len.min(rest.len() - 2));
        s.on_data(dir, piece, Timestamp(ctl as u64), &mut out);
        assert!(s.buffered_bytes() <= 2 * MAX_TCP_BUFFER);
        rest = tail;
    }
    s.on_close(Timestamp(1000), &mut out);
}

fuzz_target!(|data: &[u8]| {
    let _ = DnsTcpDissector.probe(&flow(true), data);
    if data.len() < 3 {
        return;
    }
    let seed = data[0];
    let split = (u16::from_be_bytes([data[1], data[2]]) as usize).min(data.len() - 3);
    let (client, server) = data[3..].split_at(split);
    for handshake in [true, false] {
        let whole = run(handshake, client, server, 0);
        let cut = run(handshake, client, server, seed | 1);
        assert_eq!(whole, cut, "cutting the streams differently changed the exchanges");
    }
    with_gaps(data);
});
