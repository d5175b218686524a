#![no_main]
//! Fuzzes the AMQP 0-9-1 session with input cut into operations on both directions (data, gaps,
//! FINs; see common/stream_ops.rs), from the connection's start or mid-way, under default and
//! tiny limits. Checks: no panic; buffered bytes within two frames and the body limit after every
//! call and zero after close; the same entries when every data operation is fed one byte at a
//! time (the result must not depend on segmentation); every entry's JSON serialises.
//!
//! Input: byte 0 picks the start and the limits; bit 2 prefixes the client's protocol header and a
//! publish so that the interesting states are reached quickly.

#[path = "common/stream_ops.rs"]
mod stream_ops;

use libfuzzer_sys::fuzz_target;
use node_agent::dissect::amqp::{AmqpDissector, Limits, MAX_FRAME};
use node_agent::dissect::{Exchange, FlowInfo, StreamDissector};
use stream_ops::{drive, ops, same_when_bytewise, Op};

fn run(d: &AmqpDissector, flow: &FlowInfo, ops: &[Op<'_>], bytewise: bool) -> Vec<Exchange> {
    let bound = 2 * MAX_FRAME + d.limits.body_limit;
    let mut s = d.new_session(flow);
    drive(s.as_mut(), ops, bytewise, bound)
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let limits = if cfg & 2 == 0 {
        Limits { body_limit: 1 << 20, max_pending: 256 }
    } else {
        Limits { body_limit: 16, max_pending: 2 }
    };
    let d = AmqpDissector { limits };
    let flow = FlowInfo { server_port: 5672, client_port: 40000, saw_handshake: cfg & 1 == 0 };
    let _ = d.probe(&flow, rest);
    let mut input = Vec::new();
    if cfg & 4 != 0 {
        // The protocol header, a publish and its content header (5-byte body), one byte per op.
        let mut start: Vec<u8> = b"AMQP\x00\x00\x09\x01".to_vec();
        start.extend_from_slice(b"\x01\x00\x01\x00\x00\x00\x0b\x00\x3c\x00\x28\x00\x00\x01x\x01k\x00\xce");
        start.extend_from_slice(&[2, 0, 1, 0, 0, 0, 14, 0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0xce]);
        for b in start {
            input.extend_from_slice(&[0x00, b]);
        }
    }
    input.extend_from_slice(rest);
    let ops = ops(&input);
    same_when_bytewise(|bytewise| run(&d, &flow, &ops, bytewise));
});
