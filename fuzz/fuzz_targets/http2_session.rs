#![no_main]
//! Fuzzes the HTTP/2 session (with gRPC) with input cut into operations on both directions (data,
//! gaps, FINs), from the connection's start or mid-way, under default and tiny limits. Checks: no
//! panic; buffered bytes within `Limits::max_buffered` after every call and zero after close; the
//! same entries when every data operation is fed one byte at a time (the result must not depend
//! on segmentation); every entry's JSON serialises.
//!
//! Input: byte 0 picks the start and the limits; then operations, each a control byte
//! `dkkllll l` as in http1.rs — d (bit 7): direction; kk (bits 5-6): 0-1 data, 2 gap, 3 end of
//! direction; l (bits 0-4): size.

#[path = "common/stream_ops.rs"]
mod stream_ops;

use libfuzzer_sys::fuzz_target;
use node_agent::dissect::grpc::exchange::{CallLimits, GrpcContext};
use node_agent::dissect::http2::{Http2Dissector, Limits};
use node_agent::dissect::{Exchange, FlowInfo, StreamDissector};
use std::sync::Arc;
use stream_ops::{drive, ops, same_when_bytewise, Op};

fn run(d: &Http2Dissector, flow: &FlowInfo, ops: &[Op<'_>], bytewise: bool) -> Vec<Exchange> {
    let bound = d.limits().max_buffered();
    let mut s = d.new_session(flow);
    drive(s.as_mut(), ops, bytewise, bound)
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let limits =
        if cfg & 2 == 0 { Limits::default() } else { Limits { body_limit: 16, max_streams: 2, ..Limits::default() } };
    let grpc = GrpcContext::new(None, CallLimits::with_body_limit(limits.body_limit));
    let d = Http2Dissector::new(limits, Some(Arc::new(grpc)));
    let flow = FlowInfo { server_port: 80, client_port: 40000, saw_handshake: cfg & 1 == 0 };
    let _ = d.probe(&flow, rest);
    let ops = ops(rest);
    same_when_bytewise(|bytewise| run(&d, &flow, &ops, bytewise));
});
