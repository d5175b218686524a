#![no_main]
//! Fuzzes the MongoDB session (framing, OP_MSG/OP_QUERY/OP_REPLY/OP_COMPRESSED decoding, BSON to
//! JSON, pairing) with input cut into operations on both directions (data, gaps, FINs), from the
//! connection's start or mid-way, with the default and a tiny message limit. Checks: no panic;
//! buffered bytes within two messages after every call and zero after close; the same entries when
//! every data operation is fed one byte at a time; every entry's JSON serialises.
//!
//! Input: byte 0 picks the start and the limit; then operations as in common/stream_ops.rs.

#[path = "common/stream_ops.rs"]
mod stream_ops;

use libfuzzer_sys::fuzz_target;
use node_agent::dissect::mongodb::MongoDissector;
use node_agent::dissect::{Exchange, FlowInfo, StreamDissector};
use stream_ops::{drive, ops, same_when_bytewise, Op};

fn run(d: &MongoDissector, flow: &FlowInfo, ops: &[Op<'_>], bytewise: bool) -> Vec<Exchange> {
    let mut s = d.new_session(flow);
    drive(s.as_mut(), ops, bytewise, 2 * d.max_frame)
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let d = MongoDissector { max_frame: if cfg & 2 == 0 { 1 << 20 } else { 256 } };
    let flow = FlowInfo { server_port: 27017, client_port: 40000, saw_handshake: cfg & 1 == 0 };
    let _ = d.probe(&flow, rest);
    let ops = ops(rest);
    same_when_bytewise(|bytewise| run(&d, &flow, &ops, bytewise));
});
