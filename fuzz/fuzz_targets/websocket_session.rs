#![no_main]
//! Fuzzes a WebSocket session (what the engine runs after an HTTP/1.1 upgrade) with input cut into
//! operations on both directions (data, well-formed frames, gaps, FINs), with and without
//! permessage-deflate, under default and tiny limits. Checks: no panic; buffered bytes within
//! twice `Limits::max_buffered` after every call and zero after close; the same exchanges when
//! every data operation is fed one byte at a time (the result must not depend on segmentation);
//! every exchange is a "websocket" one whose JSON serialises, whose summary is not empty, and the
//! wire sizes reported add up to no more than what was fed.
//!
//! Input: byte 0 configures: bit 0 permessage-deflate negotiated, bits 1-2 server/client
//! no_context_takeover, bit 3 tiny limits, bit 4 no handshake (a mid-connection session), bit 5
//! an unknown extension besides. Then operations, each a control byte `dkklllll` — d (bit 7):
//! direction; kk (bits 5-6): 0 raw data of a size from l, 1 one well-formed frame (next bytes:
//! flags FIN/RSV1/MASK/opcode, then length, then payload), 2 gap, 3 end of direction.

#[path = "common/stream_ops.rs"]
mod stream_ops;

use libfuzzer_sys::fuzz_target;
use node_agent::dissect::websocket::{Limits, WebSocketDissector};
use node_agent::dissect::{Direction, Exchange, FlowInfo, StreamDissector, Upgrade};

enum Op {
    Data(Direction, Vec<u8>),
    Gap(Direction, u64),
    End(Direction),
}

/// One well-formed frame from `input` (payload length always matches): returns it and the rest.
fn frame(input: &[u8]) -> (Vec<u8>, &[u8]) {
    let [flags, len, rest @ ..] = input else {
        return (input.to_vec(), &[]);
    };
    let (flags, len) = (*flags, *len);
    let n = (len as usize).min(rest.len());
    let (payload, rest) = rest.split_at(n);
    let mut out = vec![(flags & 0xc0) | (flags & 0x0f)];
    let masked = flags & 0x20 != 0;
    let mask_bit = if masked { 0x80 } else { 0 };
    if n > 125 || flags & 0x10 != 0 {
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
    (out, rest)
}

fn ops(mut input: &[u8]) -> Vec<Op> {
    let mut ops = Vec::new();
    while let Some((&op, rest)) = input.split_first() {
        let dir = if op & 0x80 == 0 { Direction::ClientToServer } else { Direction::ServerToClient };
        let size = (op & 0x1f) as usize;
        input = rest;
        match (op >> 5) & 3 {
            0 => {
                let n = (1 + size * size * 4).min(input.len());
                let (data, rest) = input.split_at(n);
                ops.push(Op::Data(dir, data.to_vec()));
                input = rest;
            }
            1 => {
                let (f, rest) = frame(input);
                ops.push(Op::Data(dir, f));
                input = rest;
            }
            2 => ops.push(Op::Gap(dir, if size == 31 { u64::MAX >> 1 } else { 1 + (size * size * 16) as u64 })),
            _ => ops.push(Op::End(dir)),
        }
    }
    ops
}

const FLOW: FlowInfo = FlowInfo { server_port: 8080, client_port: 40000, saw_handshake: true };

fn run(d: &WebSocketDissector, upgrade: Option<&Upgrade>, ops: &[Op], bytewise: bool) -> Vec<Exchange> {
    let bound = 2 * d.limits().max_buffered();
    let mut s = match upgrade {
        Some(u) => d.continue_session(&FLOW, u),
        None => d.new_session(&FLOW),
    };
    let view: Vec<stream_ops::Op<'_>> = ops
        .iter()
        .map(|op| match op {
            Op::Data(dir, data) => stream_ops::Op::Data(*dir, data),
            Op::Gap(dir, n) => stream_ops::Op::Gap(*dir, *n),
            Op::End(dir) => stream_ops::Op::End(*dir),
        })
        .collect();
    stream_ops::drive(s.as_mut(), &view, bytewise, bound)
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let limits = if cfg & 8 == 0 { Limits::default() } else { Limits { max_kept: 16, max_inflated: 64 } };
    let d = WebSocketDissector::with_limits(limits);
    let mut extensions = Vec::new();
    if cfg & 1 != 0 {
        let mut e = "permessage-deflate".to_owned();
        if cfg & 2 != 0 {
            e.push_str("; server_no_context_takeover");
        }
        if cfg & 4 != 0 {
            e.push_str("; client_no_context_takeover; client_max_window_bits=9");
        }
        extensions.push(("Sec-WebSocket-Extensions".to_owned(), e));
    }
    if cfg & 32 != 0 {
        extensions.push(("Sec-WebSocket-Extensions".to_owned(), "x-unknown; a=1".to_owned()));
    }
    let upgrade = Upgrade { entry_id: Some("e-1".to_owned()), response_headers: extensions, ..Upgrade::default() };
    let upgrade = (cfg & 16 == 0).then_some(&upgrade);
    assert_eq!(d.probe(&FLOW, rest), node_agent::dissect::Probe::No);
    let ops = ops(rest);
    let whole = run(&d, upgrade, &ops, false);
    let fed: u64 = ops
        .iter()
        .map(|op| match op {
            Op::Data(_, data) => data.len() as u64,
            Op::Gap(_, n) => *n,
            Op::End(_) => 0,
        })
        .fold(0, u64::saturating_add);
    let mut wire = 0u64;
    for x in &whole {
        assert_eq!(x.protocol, "websocket");
        // Serialising must not panic (Display of a Value is serde_json's serialiser).
        let _ = x.request.to_string();
        assert!(x.response.is_none());
        assert!(!x.summary.is_empty());
        wire = wire.saturating_add(x.request_size);
    }
    assert!(wire <= fed, "entries report {wire} wire bytes of {fed} fed");
    let bytewise = run(&d, upgrade, &ops, true);
    assert_eq!(whole, bytewise, "segmentation changed the result");
});
