//! Input cut into operations on both directions of a connection, shared by the stream fuzz
//! targets (http1, http2 and the protocols after it; websocket_session drives with its own ops): each
//! operation is a control byte `dkkllll l` — d (bit 7): direction; kk (bits 5-6): 0-1 data, 2 gap,
//! 3 end of direction; l (bits 0-4): size.

#![allow(dead_code)] // not every target that includes this uses every function

use node_agent::dissect::{Direction, Exchange, StreamSession};
use node_agent::Timestamp;

pub enum Op<'a> {
    Data(Direction, &'a [u8]),
    Gap(Direction, u64),
    End(Direction),
}

pub fn ops(mut input: &[u8]) -> Vec<Op<'_>> {
    let mut ops = Vec::new();
    while let Some((&op, rest)) = input.split_first() {
        let dir = if op & 0x80 == 0 { Direction::ClientToServer } else { Direction::ServerToClient };
        let size = (op & 0x1f) as usize;
        input = rest;
        match (op >> 5) & 3 {
            0 | 1 => {
                let n = (1 + size * size * 4).min(input.len());
                let (data, rest) = input.split_at(n);
                ops.push(Op::Data(dir, data));
                input = rest;
            }
            2 => ops.push(Op::Gap(dir, 1 + (size * size * 16) as u64)),
            _ => ops.push(Op::End(dir)),
        }
    }
    ops
}

/// Feeds `ops` to a session (operation `i` at time `i` ms; data byte by byte when `bytewise`),
/// checking after every call that it holds at most `bound` bytes, then closes it and checks that
/// it holds nothing. Returns the exchanges.
pub fn drive(s: &mut dyn StreamSession, ops: &[Op<'_>], bytewise: bool, bound: usize) -> Vec<Exchange> {
    let mut out = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let ts = Timestamp(i as u64 * 1000);
        match *op {
            Op::Data(dir, data) if bytewise => {
                for b in data.chunks(1) {
                    s.on_data(dir, b, ts, &mut out);
                    assert!(s.buffered_bytes() <= bound, "{} > {bound}", s.buffered_bytes());
                }
            }
            Op::Data(dir, data) => s.on_data(dir, data, ts, &mut out),
            Op::Gap(dir, n) => s.on_gap(dir, n, &mut out),
            Op::End(dir) => s.on_end(dir, ts, &mut out),
        }
        assert!(s.buffered_bytes() <= bound, "{} > {bound}", s.buffered_bytes());
    }
    s.on_close(Timestamp(u64::MAX), &mut out);
    assert_eq!(s.buffered_bytes(), 0, "bytes still held after close");
    out
}

/// Runs a session's operations whole (`run(false)`) and byte by byte (`run(true)`): every
/// exchange serialises and has a summary, and segmentation changes nothing. Returns the exchanges.
pub fn same_when_bytewise(run: impl Fn(bool) -> Vec<Exchange>) -> Vec<Exchange> {
    let whole = run(false);
    for x in &whole {
        // Serialising must not panic (Display of a Value is serde_json's serialiser).
        let _ = x.request.to_string();
        let _ = x.response.as_ref().map(|r| r.to_string());
        assert!(!x.summary.is_empty());
    }
    let bytewise = run(true);
    assert_eq!(whole, bytewise, "segmentation changed the result");
    whole
}
