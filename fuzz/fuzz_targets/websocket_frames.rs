#![no_main]
//! Fuzzes the WebSocket message assembler, with and without permessage-deflate, under default and
//! tiny limits. Checks: no panic; buffered bytes within `Limits::max_buffered` after every call and
//! zero after `finish`; the same messages when every data chunk is fed one byte at a time (the
//! result must not depend on segmentation).
//!
//! Input: byte 0 configures: bit 0 permessage-deflate, bit 1 context takeover, bit 2 direction,
//! bit 3 tiny limits, bit 4 "frame mode". In raw mode the rest is cut into operations, each a
//! control byte `kkllllll`: kk 0-2 data of a size from l, 3 a gap
//! (of l*l+1 bytes, or 2^63-1 for l = 63). In frame mode the
//! rest is a sequence of frames (byte: FIN, RSV1, MASK, long-length, opcode; byte: payload length;
//! payload), so deflate and fragmentation are reached with well-formed framing; the stream is then
//! fed in chunks whose sizes cycle with the configuration byte.

use libfuzzer_sys::fuzz_target;
use node_agent::dissect::websocket::{InflateParams, Limits, Message, MessageAssembler};
use node_agent::dissect::Direction;
use node_agent::Timestamp;

enum Op<'a> {
    Data(&'a [u8]),
    Gap(u64),
}

fn raw_ops(mut input: &[u8]) -> Vec<Op<'_>> {
    let mut ops = Vec::new();
    while let Some((&op, rest)) = input.split_first() {
        input = rest;
        let size = (op & 0x3f) as usize;
        if op >> 6 == 3 {
            ops.push(Op::Gap(if size == 63 { u64::MAX >> 1 } else { 1 + (size * size) as u64 }));
        } else {
            let n = (1 + size * size).min(input.len());
            let (data, rest) = input.split_at(n);
            ops.push(Op::Data(data));
            input = rest;
        }
    }
    ops
}

/// Well-formed frames from the input (payload lengths always match).
fn frames(mut input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let [flags, len, rest @ ..] = input {
        let (flags, len) = (*flags, *len);
        let n = (len as usize).min(rest.len());
        let (payload, rest) = rest.split_at(n);
        input = rest;
        let fin = flags & 0x80;
        let rsv1 = flags & 0x40;
        let masked = flags & 0x20 != 0;
        let long = flags & 0x10 != 0;
        out.push(fin | rsv1 | (flags & 0x0f));
        let mask_bit = if masked { 0x80 } else { 0 };
        if long || n > 125 {
            out.push(mask_bit | 126);
            out.extend((n as u16).to_be_bytes());
        } else {
            out.push(mask_bit | n as u8);
        }
        if masked {
            let key = [flags, len, 0x5a, 0xa5];
            out.extend(key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        } else {
            out.extend(payload);
        }
    }
    out
}

fn run(dir: Direction, deflate: Option<InflateParams>, limits: Limits, ops: &[Op<'_>], bytewise: bool) -> Vec<Message> {
    let bound = limits.max_buffered();
    let mut a = MessageAssembler::new(dir, deflate, limits);
    let mut out = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let ts = Timestamp(i as u64);
        match *op {
            Op::Data(data) if bytewise => {
                for b in data.chunks(1) {
                    a.feed(b, ts, &mut out);
                    assert!(a.buffered_bytes() <= bound, "{} > {bound}", a.buffered_bytes());
                }
            }
            Op::Data(data) => a.feed(data, ts, &mut out),
            Op::Gap(n) => a.gap(n, &mut out),
        }
        assert!(a.buffered_bytes() <= bound, "{} > {bound}", a.buffered_bytes());
    }
    a.finish(&mut out);
    assert_eq!(a.buffered_bytes(), 0, "bytes still held after finish");
    for m in &out {
        assert!(m.payload.len() <= limits.max_kept.max(125));
        assert!(m.payload.len() as u64 <= m.payload_len || m.payload_len == 0 && m.payload.is_empty());
        let _ = m.text();
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let deflate = (cfg & 1 != 0).then_some(InflateParams { context_takeover: cfg & 2 != 0, window_bits: 15 });
    let dir = if cfg & 4 == 0 { Direction::ClientToServer } else { Direction::ServerToClient };
    let limits = if cfg & 8 == 0 { Limits::default() } else { Limits { max_kept: 16, max_inflated: 300 } };
    let stream;
    let ops = if cfg & 16 == 0 {
        raw_ops(rest)
    } else {
        stream = frames(rest);
        let mut ops = Vec::new();
        let mut input = &stream[..];
        let sizes = [1 + (cfg >> 5) as usize, 7, 100, 3];
        let mut i = 0;
        while !input.is_empty() {
            let (chunk, rest) = input.split_at(sizes[i % sizes.len()].min(input.len()));
            ops.push(Op::Data(chunk));
            input = rest;
            i += 1;
        }
        ops
    };
    let whole = run(dir, deflate, limits, &ops, false);
    let bytewise = run(dir, deflate, limits, &ops, true);
    assert_eq!(whole, bytewise, "segmentation changed the result");
});
