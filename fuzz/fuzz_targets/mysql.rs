#![no_main]
//! Fuzzes the MySQL session with input cut into operations on both directions (data, gaps, FINs),
//! from the connection's start or mid-way, under default and tiny limits. Checks: no panic;
//! buffered bytes within `Limits::max_buffered` after every call and zero after close; the same
//! entries when every data operation is fed one byte at a time (the result must not depend on
//! segmentation); every entry's JSON serialises.
//!
//! Input: byte 0 picks the start and the limits; then operations as in common/stream_ops.rs.

#[path = "common/stream_ops.rs"]
mod stream_ops;

use libfuzzer_sys::fuzz_target;
use node_agent::dissect::mysql::{Limits, MysqlDissector};
use node_agent::dissect::{Exchange, FlowInfo, StreamDissector};
use stream_ops::{drive, ops, same_when_bytewise, Op};

fn run(d: &MysqlDissector, flow: &FlowInfo, ops: &[Op<'_>], bytewise: bool) -> Vec<Exchange> {
    let bound = d.limits.max_buffered();
    let mut s = d.new_session(flow);
    drive(s.as_mut(), ops, bytewise, bound)
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let limits = if cfg & 2 == 0 {
        Limits::default()
    } else {
        Limits { query: 8, cell: 4, rows: 2, columns: 2, params: 2, results: 1, max_pending: 2 }
    };
    let d = MysqlDissector { limits };
    let flow = FlowInfo { server_port: 3306, client_port: 40000, saw_handshake: cfg & 1 == 0 };
    let _ = node_agent::dissect::mysql::probe(rest);
    let ops = ops(rest);
    same_when_bytewise(|bytewise| run(&d, &flow, &ops, bytewise));
});
