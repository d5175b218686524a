#![no_main]
//! Fuzzes the gRPC message reader and decompression: a DATA stream built from the input (frames
//! with random compressed flags, some really compressed with the stream's encoding, mixed with
//! raw bytes that break the framing) read in one chunk, byte by byte, and in chunks the input
//! chooses, under default and tiny limits. Checks: no panic; the same messages and unfinished
//! message whatever the chunking; buffered bytes within `max_buffered` after every push and zero
//! at a boundary; message sizes within the limits; decompressed payloads within
//! `max_decompressed`; and, when the stream is only frames, each frame read back as written.
//!
//! Input: byte 0 = config (bit 0: tiny limits; bits 1-2: encoding identity/gzip/deflate/zstd;
//! bits 3-7: chunk size seed). Then segments, each a control byte `c`:
//! c & 0x80: a frame; flag = (c >> 5) & 3; compress the payload with the encoding if c & 0x10;
//!           payload length = next byte, payload = that many bytes.
//! otherwise: (c & 0x7f) raw bytes appended as they are.

use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use libfuzzer_sys::fuzz_target;
use node_agent::dissect::grpc::message::{Encoding, GrpcMessage, MessageLimits, MessageReader, Unfinished};
use std::io::Write;

fn compress(encoding: &Encoding, data: &[u8]) -> Option<Vec<u8>> {
    match encoding {
        Encoding::Gzip => {
            let mut e = GzEncoder::new(Vec::new(), Compression::fast());
            e.write_all(data).ok()?;
            e.finish().ok()
        }
        Encoding::Deflate => {
            let mut e = ZlibEncoder::new(Vec::new(), Compression::fast());
            e.write_all(data).ok()?;
            e.finish().ok()
        }
        _ => None,
    }
}

struct Frame {
    flag: u8,
    payload: Vec<u8>,
    really_compressed: bool,
}

fn read(limits: MessageLimits, chunks: &mut dyn Iterator<Item = &[u8]>) -> (Vec<GrpcMessage>, Option<Unfinished>) {
    let mut r = MessageReader::new(limits);
    let mut out = Vec::new();
    for c in chunks {
        r.push(c, &mut out);
        assert!(r.buffered_bytes() <= limits.max_buffered(), "{} > {}", r.buffered_bytes(), limits.max_buffered());
        if r.at_boundary() {
            assert_eq!(r.buffered_bytes(), 0);
        }
    }
    let end = r.finish();
    assert!(r.at_boundary() && r.buffered_bytes() == 0);
    (out, end)
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, mut input)) = data.split_first() else {
        return;
    };
    let limits = if cfg & 1 == 0 {
        MessageLimits::default()
    } else {
        MessageLimits { max_message: 40, truncated_prefix: 7, max_decompressed: 50 }
    };
    let encoding = match (cfg >> 1) & 3 {
        0 => Encoding::Identity,
        1 => Encoding::Gzip,
        2 => Encoding::Deflate,
        _ => Encoding::from_header(Some("zstd")),
    };
    let chunk = 1 + (cfg >> 3) as usize;

    let mut stream = Vec::new();
    let mut frames = Vec::new();
    let mut only_frames = true;
    while let Some((&c, rest)) = input.split_first() {
        input = rest;
        if c & 0x80 != 0 {
            let Some((&len, rest)) = input.split_first() else { break };
            let n = (len as usize).min(rest.len());
            let (payload, rest) = rest.split_at(n);
            input = rest;
            let flag = (c >> 5) & 3;
            let compressed = if flag == 1 && c & 0x10 != 0 { compress(&encoding, payload) } else { None };
            let wire = compressed.as_deref().unwrap_or(payload);
            stream.push(flag);
            stream.extend_from_slice(&(wire.len() as u32).to_be_bytes());
            stream.extend_from_slice(wire);
            frames.push(Frame { flag, payload: payload.to_vec(), really_compressed: compressed.is_some() });
        } else {
            let n = ((c & 0x7f) as usize).min(input.len());
            let (raw, rest) = input.split_at(n);
            input = rest;
            only_frames &= raw.is_empty();
            stream.extend_from_slice(raw);
        }
    }

    let whole = read(limits, &mut std::iter::once(stream.as_slice()));
    assert_eq!(read(limits, &mut stream.chunks(1)), whole, "byte by byte");
    assert_eq!(read(limits, &mut stream.chunks(chunk)), whole, "chunks of {chunk}");

    let (messages, end) = &whole;
    for m in messages {
        assert!(m.data.len() <= limits.max_buffered());
        if m.truncated {
            assert!(m.length as usize > limits.max_message);
            assert_eq!(m.data.len(), limits.truncated_prefix.min(m.length as usize));
        } else {
            assert_eq!(m.data.len(), m.length as usize);
        }
        if let Ok(p) = m.payload(&encoding, limits.max_decompressed) {
            assert!(m.flag == 0 || p.bytes.len() <= limits.max_decompressed);
            assert!(!m.truncated || p.partial);
        }
    }
    if only_frames {
        assert_eq!(end, &None);
        assert_eq!(messages.len(), frames.len());
        for (m, f) in messages.iter().zip(&frames) {
            assert_eq!(m.flag, f.flag);
            let fits = f.payload.len() <= limits.max_decompressed;
            if !m.truncated && (f.flag == 0 || (f.really_compressed && fits)) {
                let p = m.payload(&encoding, limits.max_decompressed).expect("a frame as written decodes");
                assert_eq!(p.bytes.as_ref(), f.payload.as_slice());
                assert!(!p.partial);
            }
        }
    }
});
