#![no_main]
//! The whole pipeline from frames to entries. The input is read as a script of packets between two
//! fixed endpoints (so the fuzzer reaches reassembly and the dissectors instead of dying in the
//! checksum-free but structured headers), or, when the first byte is odd, as raw frames.

use etherparse::PacketBuilder;
use libfuzzer_sys::fuzz_target;
use node_agent::engine::{Engine, EngineConfig};
use node_agent::source::{LinkType, RawPacket};
use node_agent::Timestamp;

const CLIENT: ([u8; 4], u16) = ([10, 0, 0, 1], 40000);
const SERVER: ([u8; 4], u16) = ([10, 0, 0, 2], 80);

fn frame(from_client: bool, udp: bool, flags: u8, seq: u32, payload: &[u8]) -> Vec<u8> {
    let (s, d) = if from_client { (CLIENT, SERVER) } else { (SERVER, CLIENT) };
    let mut out = Vec::new();
    let ip = PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4(s.0, d.0, 64);
    let written = if udp {
        ip.udp(s.1, if from_client { 53 } else { d.1 }).write(&mut out, payload)
    } else {
        let mut b = ip.tcp(s.1, d.1, seq, 65535);
        if flags & 1 != 0 {
            b = b.syn();
        }
        if flags & 2 != 0 {
            b = b.ack(seq ^ 0x5a5a);
        }
        if flags & 4 != 0 {
            b = b.fin();
        }
        if flags & 8 != 0 {
            b = b.rst();
        }
        b.write(&mut out, payload)
    };
    if written.is_err() {
        out.clear();
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let mut config = EngineConfig::default();
    config.memory_limit = 1 << 20;
    config.reassembly.max_buffered_per_direction = 64 * 1024;
    let mut engine = Engine::new(config);
    let mut entries = 0usize;
    let mut sink = |_e: node_agent::Entry| entries += 1;
    let Some((&mode, mut rest)) = data.split_first() else { return };
    let mut ts = 1_000_000_000u64;
    let mut seqs = [1000u32, 50_000u32];
    while rest.len() >= 4 {
        let (head, tail) = rest.split_at(4);
        let len = (head[3] as usize).min(tail.len());
        let (payload, after) = tail.split_at(len);
        rest = after;
        ts += u64::from(head[1]) * 1_000_000;
        let frame = if mode & 1 == 1 {
            payload.to_vec()
        } else {
            let from_client = head[0] & 1 == 0;
            let i = usize::from(!from_client);
            // Mostly in order, sometimes jump backwards or forwards.
            let seq = seqs[i].wrapping_add((head[2] as i8 as i32 * 7) as u32);
            seqs[i] = seq.wrapping_add(len as u32);
            frame(from_client, head[0] & 0x80 != 0, head[0] >> 1, seq, payload)
        };
        let raw = RawPacket {
            ts: Timestamp(ts),
            link_type: if mode & 1 == 1 { LinkType::RawIp } else { LinkType::Ethernet },
            capture_point: u32::from(head[0] & 0x40 != 0),
            data: &frame,
            orig_len: frame.len() as u32,
        };
        engine.process(&raw, &mut sink);
        assert!(engine.stats().memory_buffered <= 1 << 20);
    }
    engine.tick(Timestamp(ts + 60_000_000_000), &mut sink);
    engine.finish(&mut sink);
});
