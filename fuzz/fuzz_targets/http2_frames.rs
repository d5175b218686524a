#![no_main]
//! Fuzzes HTTP/2 below the session: both directions' bytes through a `FrameInput` each into one
//! `H2Connection`, with gaps and ends, from the connection's beginning or mid-way, under default
//! or tiny limits. Checks: no panic; the reader's and the connection's buffers within their
//! bounds after every call; the same events when every data operation is fed one byte at a time
//! (DATA pieces merged: a frame too large to buffer arrives in pieces that follow the input).
//!
//! Input: byte 0 picks the start and limits; then operations, each a control byte `dkkllll l`
//! as in http1.rs — d (bit 7): direction; kk (bits 5-6): 0-1 data, 2 gap, 3 end; l: size.

#[path = "common/stream_ops.rs"]
mod stream_ops;

use libfuzzer_sys::fuzz_target;
use node_agent::dissect::http2::connection::{Event, H2Connection, Limits, Start};
use node_agent::dissect::http2::hpack;
use node_agent::dissect::http2::wire::{FrameInput, Input};
use node_agent::dissect::Direction;
use node_agent::Timestamp;
use stream_ops::{ops, Op};

/// An event as text, DATA kept apart so pieces can be merged.
enum Seen {
    Line(String),
    Data(Direction, u32, Vec<u8>, bool),
}

fn record(seen: &mut Vec<Seen>, e: &Event<'_>) {
    if let Event::Data { dir, stream_id, data, end_stream } = e {
        if let Some(Seen::Data(d, s, bytes, false)) = seen.last_mut() {
            if d == dir && s == stream_id {
                bytes.extend_from_slice(data);
                if *end_stream {
                    if let Some(Seen::Data(.., end)) = seen.last_mut() {
                        *end = true;
                    }
                }
                return;
            }
        }
        seen.push(Seen::Data(*dir, *stream_id, data.to_vec(), *end_stream));
    } else {
        // Display of anomalies must not panic either.
        if let Event::Anomaly { anomaly, .. } = e {
            let _ = anomaly.to_string();
        }
        seen.push(Seen::Line(format!("{e:?}")));
    }
}

fn run(start: Start, limits: Limits, max_buffered: usize, ops: &[Op<'_>], bytewise: bool) -> Vec<String> {
    let mut conn = H2Connection::new(start, limits);
    let mut readers = match start {
        Start::Beginning => [FrameInput::new(true, max_buffered), FrameInput::new(false, max_buffered)],
        Start::MidStream => [FrameInput::resynchronising(max_buffered), FrameInput::resynchronising(max_buffered)],
    };
    let mut seen = Vec::new();
    for op in ops {
        let mut emit = |i: Input<'_>| {
            if let Input::Event(e) = i {
                record(&mut seen, &e)
            }
        };
        match *op {
            Op::Data(dir, data) => {
                let pieces: Vec<&[u8]> = if bytewise { data.chunks(1).collect() } else { vec![data] };
                for piece in pieces {
                    let r = &mut readers[dir.index()];
                    r.push(&mut conn, dir, piece, Timestamp::ZERO, &mut emit);
                    assert!(r.buffered() <= r.max_buffered(), "{} > {}", r.buffered(), r.max_buffered());
                    assert!(conn.buffered_bytes() <= conn.max_buffered_bytes());
                }
            }
            Op::Gap(dir, n) => readers[dir.index()].gap(&mut conn, dir, n, &mut emit),
            Op::End(dir) => readers[dir.index()].end(&mut conn, dir, &mut emit),
        }
    }
    seen.into_iter()
        .map(|s| match s {
            Seen::Line(l) => l,
            Seen::Data(d, s, bytes, end) => format!("{d:?} data {s} {bytes:?} {end}"),
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let start = if cfg & 1 == 0 { Start::Beginning } else { Start::MidStream };
    let (limits, max_buffered) = if cfg & 2 == 0 {
        (Limits::default(), 1 << 20)
    } else {
        let hpack = hpack::Limits { max_list_size: 100, max_fields: 3, max_table_size: 64 };
        (Limits { hpack, max_header_block: 16, max_pending_settings: 1 }, 0)
    };
    let ops = ops(rest);
    let whole = run(start, limits, max_buffered, &ops, false);
    let bytewise = run(start, limits, max_buffered, &ops, true);
    assert_eq!(whole, bytewise, "segmentation changed the result");
});
