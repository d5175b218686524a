#![no_main]
//! Fuzzes the Kafka session with input cut into operations on both directions (data, gaps, FINs),
//! from the connection's start or mid-way, under default and tiny limits. Checks: no panic;
//! buffered bytes within two frames after every call and zero after close; the same entries (times
//! aside, see `untimed`) when every data operation is fed one byte at a time;
//! every entry's JSON serialises. The probe runs on each direction's bytes too.
//!
//! Input: byte 0 picks the start and the limits; then operations as in common/stream_ops.rs.

#[path = "common/stream_ops.rs"]
mod stream_ops;

use libfuzzer_sys::fuzz_target;
use node_agent::dissect::kafka::{self, MAX_FRAME};
use node_agent::dissect::settings::ProtocolSettings;
use node_agent::dissect::{Exchange, FlowInfo};
use stream_ops::{drive, ops, Op};

fn run(settings: &ProtocolSettings, mid_stream: bool, ops: &[Op<'_>], bytewise: bool) -> Vec<Exchange> {
    let mut s = kafka::KafkaSession::new(settings, mid_stream);
    drive(&mut s, ops, bytewise, 2 * MAX_FRAME)
}

/// The exchanges without their times: the shared framer keeps at most 64 capture-time marks per
/// buffer (dissect/framing.rs), so a message that waited in the buffer behind more segments than
/// that (fed byte by byte while resynchronising) can get a later time. Everything else must match.
fn untimed(mut xs: Vec<Exchange>) -> Vec<Exchange> {
    for x in &mut xs {
        x.ts = node_agent::Timestamp(0);
        x.end_ts = x.end_ts.map(|_| node_agent::Timestamp(0));
    }
    xs
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let settings = if cfg & 2 == 0 {
        ProtocolSettings::default()
    } else {
        ProtocolSettings { body_limit: 16, max_streams: 2, ..ProtocolSettings::default() }
    };
    let mid_stream = cfg & 1 == 1;
    let d = (kafka::PROTOCOL.stream.unwrap())(&settings);
    let flow = FlowInfo { server_port: 9092, client_port: 40000, saw_handshake: !mid_stream };
    let _ = d.probe(&flow, rest);
    let ops = ops(rest);
    let whole = run(&settings, mid_stream, &ops, false);
    for x in &whole {
        let _ = x.request.to_string();
        let _ = x.response.as_ref().map(|r| r.to_string());
        assert!(!x.summary.is_empty());
        let _ = kafka::role(&x.request);
    }
    let bytewise = run(&settings, mid_stream, &ops, true);
    assert_eq!(untimed(whole), untimed(bytewise), "segmentation changed the result");
});
