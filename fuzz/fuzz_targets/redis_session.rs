#![no_main]
//! Fuzzes the Redis session with input cut into operations on both directions (data, gaps, FINs),
//! from the connection's start or picked up mid-way. Checks: no panic; buffered bytes within
//! `MAX_BUFFERED` after every call and zero after close; the same entries when every data
//! operation is fed one byte at a time (the result must not depend on segmentation); every
//! entry is a "redis" one whose JSON serialises, with a summary, and whose sizes add up to no more
//! than what was fed.
//!
//! Input: byte 0 bit 0 picks a mid-connection session; the next bytes are operations, each a
//! control byte `dkklllll` as in common/stream_ops.rs — d (bit 7): direction; kk (bits 5-6): 0-1
//! data, 2 gap, 3 end of direction; l (bits 0-4): size.

#[path = "common/stream_ops.rs"]
mod stream_ops;

use libfuzzer_sys::fuzz_target;
use node_agent::dissect::redis::{RedisDissector, MAX_BUFFERED};
use node_agent::dissect::{Direction, Exchange, FlowInfo, StreamDissector};
use stream_ops::{drive, ops, Op};

fn run(flow: &FlowInfo, ops: &[Op<'_>], bytewise: bool) -> Vec<Exchange> {
    let mut s = RedisDissector.new_session(flow);
    drive(s.as_mut(), ops, bytewise, MAX_BUFFERED)
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let flow = FlowInfo { server_port: 6379, client_port: 40000, saw_handshake: cfg & 1 == 0 };
    let _ = RedisDissector.probe(&flow, rest);
    let ops = ops(rest);
    let whole = run(&flow, &ops, false);
    let fed = |d: Direction| {
        ops.iter()
            .map(|op| match op {
                Op::Data(dir, bytes) if *dir == d => bytes.len() as u64,
                _ => 0,
            })
            .sum::<u64>()
    };
    let requests: u64 = whole.iter().map(|x| x.request_size).sum();
    let responses: u64 = whole.iter().map(|x| x.response_size).sum();
    assert!(requests <= fed(Direction::ClientToServer), "request sizes beyond what was fed");
    assert!(responses <= fed(Direction::ServerToClient), "response sizes beyond what was fed");
    for x in &whole {
        assert_eq!(x.protocol, "redis");
        assert!(!x.summary.is_empty());
        let _ = x.request.to_string();
        let _ = x.response.as_ref().map(|r| r.to_string());
    }
    let bytewise = run(&flow, &ops, true);
    assert_eq!(whole, bytewise, "segmentation changed the result");
});
