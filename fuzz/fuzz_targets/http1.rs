#![no_main]
//! Fuzzes an HTTP/1 session with input cut into operations on both directions (data, gaps, FINs)
//! under default and tiny limits. Checks: no panic; buffered bytes within `Limits::max_buffered`
//! after every call and zero after close; the same exchanges when every data operation is fed
//! one byte at a time (the result must not depend on segmentation); every entry JSON serialises.
//!
//! Input: byte 0 picks the limits; then operations, each a control byte `dkkllll l` —
//! d (bit 7): direction; kk (bits 5-6): 0-1 data, 2 gap, 3 end of direction; l (bits 0-4): size.

#[path = "common/stream_ops.rs"]
mod stream_ops;

use libfuzzer_sys::fuzz_target;
use node_agent::dissect::http1::{Http1Dissector, Limits};
use node_agent::dissect::{Exchange, FlowInfo, StreamDissector};
use stream_ops::{drive, ops, same_when_bytewise, Op};

fn run(d: &Http1Dissector, ops: &[Op<'_>], bytewise: bool) -> Vec<Exchange> {
    let flow = FlowInfo { server_port: 80, client_port: 40000, saw_handshake: true };
    let bound = d.limits().max_buffered();
    let mut s = d.new_session(&flow);
    drive(s.as_mut(), ops, bytewise, bound)
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let d = if cfg & 1 == 0 {
        Http1Dissector::default()
    } else {
        Http1Dissector::with_limits(Limits { body_limit: 16, max_head: 128, max_pending: 2 })
    };
    let flow = FlowInfo { server_port: 80, client_port: 40000, saw_handshake: true };
    let _ = d.probe(&flow, rest);
    let ops = ops(rest);
    same_when_bytewise(|bytewise| run(&d, &ops, bytewise));
});
