//! gRPC's length-prefixed messages over the DATA bytes of one direction of an HTTP/2 stream
//! (gRPC over HTTP/2 spec, "Length-Prefixed-Message": a compressed flag byte, a 4-byte big-endian
//! length, then the message), read incrementally from chunks of any size, with bounded memory; and
//! the decompression of compressed messages named by `grpc-encoding`, with a bounded output.

use std::borrow::Cow;
use std::io::Read;
use thiserror::Error;

/// Bytes of the prefix before each message.
pub const PREFIX_LEN: usize = 5;
/// gRPC's default largest received message (4 MiB) plus a margin, so that every message a peer
/// with default settings accepts is kept whole.
pub const DEFAULT_MAX_MESSAGE: usize = (4 << 20) + (16 << 10);
/// Bytes kept of a message longer than the limit, for display.
pub const DEFAULT_TRUNCATED_PREFIX: usize = 64 << 10;

/// Bounds of a [`MessageReader`] and of decompression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageLimits {
    /// Longest message kept whole. A longer one is reported with its length, and only its first
    /// `truncated_prefix` bytes.
    pub max_message: usize,
    /// Bytes kept of a message longer than `max_message`.
    pub truncated_prefix: usize,
    /// Most bytes a compressed message may decompress to; the output stops there.
    pub max_decompressed: usize,
}

impl Default for MessageLimits {
    fn default() -> Self {
        MessageLimits {
            max_message: DEFAULT_MAX_MESSAGE,
            truncated_prefix: DEFAULT_TRUNCATED_PREFIX,
            max_decompressed: DEFAULT_MAX_MESSAGE,
        }
    }
}

impl MessageLimits {
    /// The most bytes a [`MessageReader`] with these limits holds at any time.
    pub fn max_buffered(&self) -> usize {
        self.max_message.max(self.truncated_prefix)
    }
}

/// One message of a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrpcMessage {
    /// The compressed flag byte: 0 (not compressed) or 1 (compressed with the stream's
    /// `grpc-encoding`); any other value is invalid (see [`GrpcMessage::payload`]).
    pub flag: u8,
    /// The length in the prefix.
    pub length: u32,
    /// The message bytes as sent (still compressed when `flag` is 1): all of them, or the first
    /// [`MessageLimits::truncated_prefix`] when `truncated`.
    pub data: Vec<u8>,
    /// The message was longer than [`MessageLimits::max_message`]; `data` is its prefix.
    pub truncated: bool,
    /// Where the message's prefix starts among the DATA bytes of this direction of the stream.
    pub offset: u64,
}

/// A message the stream ended inside of (see [`MessageReader::finish`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unfinished {
    /// The stream ended inside a message prefix, after `received` of its 5 bytes.
    Prefix { received: usize, offset: u64 },
    /// The stream ended after `received` of the message's `length` bytes; `data` holds what was
    /// kept of them (all, or a prefix when the message was over the limit).
    Message { flag: u8, length: u32, received: u32, data: Vec<u8>, offset: u64 },
}

#[derive(Clone, Debug)]
enum State {
    /// Reading the 5-byte prefix; `got` bytes of it so far.
    Prefix { got: usize },
    /// Reading a message body.
    Body { flag: u8, length: u32, received: u32, keep: usize },
}

/// Cuts one direction of a stream's DATA bytes into messages. The result does not depend on how
/// the bytes are split into chunks; it holds at most [`MessageLimits::max_buffered`] bytes.
#[derive(Clone, Debug)]
pub struct MessageReader {
    limits: MessageLimits,
    state: State,
    prefix: [u8; PREFIX_LEN],
    /// The current message's bytes kept so far.
    data: Vec<u8>,
    /// DATA bytes read so far.
    position: u64,
    /// Where the current message (or prefix) starts.
    start: u64,
}

impl MessageReader {
    pub fn new(limits: MessageLimits) -> Self {
        MessageReader {
            limits,
            state: State::Prefix { got: 0 },
            prefix: [0; PREFIX_LEN],
            data: Vec::new(),
            position: 0,
            start: 0,
        }
    }

    pub fn limits(&self) -> &MessageLimits {
        &self.limits
    }

    /// Reads the next `chunk` of DATA bytes; appends the messages it completes to `out`.
    pub fn push(&mut self, mut chunk: &[u8], out: &mut Vec<GrpcMessage>) {
        while !chunk.is_empty() {
            match &mut self.state {
                State::Prefix { got } => {
                    if *got == 0 {
                        self.start = self.position;
                    }
                    let n = (PREFIX_LEN - *got).min(chunk.len());
                    let (head, rest) = chunk.split_at(n);
                    self.prefix[*got..*got + n].copy_from_slice(head);
                    *got += n;
                    self.position += n as u64;
                    chunk = rest;
                    if *got == PREFIX_LEN {
                        let [flag, l0, l1, l2, l3] = self.prefix;
                        let length = u32::from_be_bytes([l0, l1, l2, l3]);
                        let whole = usize::try_from(length).is_ok_and(|l| l <= self.limits.max_message);
                        let keep = if whole { length as usize } else { self.limits.truncated_prefix };
                        self.data = Vec::new();
                        self.state = State::Body { flag, length, received: 0, keep };
                        self.finish_body_if_done(out);
                    }
                }
                State::Body { length, received, keep, .. } => {
                    let want = (*length - *received) as usize;
                    let n = want.min(chunk.len());
                    let (body, rest) = chunk.split_at(n);
                    let take = keep.saturating_sub(self.data.len()).min(n);
                    grow_within(&mut self.data, take, *keep);
                    self.data.extend_from_slice(&body[..take]);
                    *received += n as u32;
                    self.position += n as u64;
                    chunk = rest;
                    self.finish_body_if_done(out);
                }
            }
        }
    }

    fn finish_body_if_done(&mut self, out: &mut Vec<GrpcMessage>) {
        if let State::Body { flag, length, received, .. } = self.state {
            if received == length {
                let whole = usize::try_from(length).is_ok_and(|l| l <= self.limits.max_message);
                out.push(GrpcMessage {
                    flag,
                    length,
                    data: std::mem::take(&mut self.data),
                    truncated: !whole,
                    offset: self.start,
                });
                self.state = State::Prefix { got: 0 };
            }
        }
    }

    /// The stream's direction ended (END_STREAM, or the connection closed): returns the message
    /// it ended inside of, if any, and starts over at a message boundary.
    pub fn finish(&mut self) -> Option<Unfinished> {
        let state = std::mem::replace(&mut self.state, State::Prefix { got: 0 });
        match state {
            State::Prefix { got: 0 } => None,
            State::Prefix { got } => Some(Unfinished::Prefix { received: got, offset: self.start }),
            State::Body { flag, length, received, .. } => Some(Unfinished::Message {
                flag,
                length,
                received,
                data: std::mem::take(&mut self.data),
                offset: self.start,
            }),
        }
    }

    /// True between messages (nothing of a message read yet).
    pub fn at_boundary(&self) -> bool {
        matches!(self.state, State::Prefix { got: 0 })
    }

    /// DATA bytes read so far.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Bytes held for the current message (for memory accounting).
    pub fn buffered_bytes(&self) -> usize {
        self.data.len()
    }
}

/// Makes room for `more` bytes in `data`, doubling as a Vec does but never past `cap` bytes of
/// capacity (a message of the limit's size must not cost twice the limit).
fn grow_within(data: &mut Vec<u8>, more: usize, cap: usize) {
    let needed = data.len() + more;
    if needed > data.capacity() {
        let target = data.capacity().saturating_mul(2).max(needed).min(cap.max(needed));
        data.reserve_exact(target - data.len());
    }
}

/// A `grpc-encoding` (or `grpc-accept-encoding` entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    /// gRPC's "deflate" is the zlib format (RFC 1950).
    Deflate,
    /// Any other name (e.g. "snappy", "zstd"), lowercased: reported, not decoded.
    Other(String),
}

impl Encoding {
    /// The encoding named by a `grpc-encoding` value (case and surrounding space ignored); an
    /// absent header means identity.
    pub fn from_header(value: Option<&str>) -> Encoding {
        let Some(name) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Encoding::Identity;
        };
        match name.to_ascii_lowercase().as_str() {
            "identity" => Encoding::Identity,
            "gzip" => Encoding::Gzip,
            "deflate" => Encoding::Deflate,
            other => Encoding::Other(other.to_owned()),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Encoding::Identity => "identity",
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
            Encoding::Other(name) => name,
        }
    }
}

/// Why a message's payload could not be had.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum PayloadError {
    #[error("invalid compressed flag {0:#04x} (0 or 1 expected)")]
    InvalidFlag(u8),
    #[error("message marked compressed, but the stream's grpc-encoding is identity")]
    CompressedWithoutEncoding,
    #[error("unsupported grpc-encoding {0:?}")]
    Unsupported(String),
    #[error("{encoding} data is corrupt: {detail}")]
    Corrupt { encoding: &'static str, detail: String },
}

/// A message's payload, decompressed when it was compressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload<'a> {
    pub bytes: Cow<'a, [u8]>,
    /// Not all of the message is here: it was truncated on capture, or its decompressed form
    /// reached [`MessageLimits::max_decompressed`].
    pub partial: bool,
    /// The decompressed form was cut at [`MessageLimits::max_decompressed`].
    pub decompression_cut: bool,
}

impl GrpcMessage {
    /// The payload: `data` as is when not compressed, otherwise decompressed with `encoding`
    /// (at most `max_decompressed` bytes; a truncated message decompresses to what its prefix
    /// gives).
    pub fn payload(&self, encoding: &Encoding, max_decompressed: usize) -> Result<Payload<'_>, PayloadError> {
        match self.flag {
            0 => Ok(Payload { bytes: Cow::Borrowed(&self.data), partial: self.truncated, decompression_cut: false }),
            1 => {
                let (bytes, cut) = decompress(&self.data, encoding, max_decompressed, !self.truncated)?;
                Ok(Payload { bytes: Cow::Owned(bytes), partial: self.truncated || cut, decompression_cut: cut })
            }
            other => Err(PayloadError::InvalidFlag(other)),
        }
    }
}

/// Decompresses `data` with `encoding`, producing at most `max_out` bytes (the flag says whether
/// the output was cut there). `complete` says whether `data` is the whole compressed message: a
/// prefix that ends early then decodes to what it holds instead of being corrupt.
pub fn decompress(
    data: &[u8],
    encoding: &Encoding,
    max_out: usize,
    complete: bool,
) -> Result<(Vec<u8>, bool), PayloadError> {
    match encoding {
        Encoding::Identity => Err(PayloadError::CompressedWithoutEncoding),
        Encoding::Gzip => bounded(flate2::read::GzDecoder::new(data), "gzip", max_out, complete),
        Encoding::Deflate => bounded(flate2::read::ZlibDecoder::new(data), "deflate", max_out, complete),
        Encoding::Other(name) => Err(PayloadError::Unsupported(name.clone())),
    }
}

/// Reads at most `max_out` bytes of decoded output.
fn bounded(
    reader: impl Read,
    encoding: &'static str,
    max_out: usize,
    complete: bool,
) -> Result<(Vec<u8>, bool), PayloadError> {
    let mut out = Vec::new();
    let res = reader.take(max_out as u64 + 1).read_to_end(&mut out);
    let cut = out.len() > max_out;
    out.truncate(max_out);
    match res {
        Ok(_) => Ok((out, cut)),
        // The output stopped at the limit, or the input is a prefix: keep what decoded.
        Err(_) if !complete => Ok((out, true)),
        Err(e) => Err(PayloadError::Corrupt { encoding, detail: e.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{GzEncoder, ZlibEncoder};
    use flate2::Compression;
    use std::io::Write;

    fn frame(flag: u8, data: &[u8]) -> Vec<u8> {
        let mut f = vec![flag];
        f.extend_from_slice(&(data.len() as u32).to_be_bytes());
        f.extend_from_slice(data);
        f
    }

    fn read_all(limits: MessageLimits, chunks: &[&[u8]]) -> (Vec<GrpcMessage>, Option<Unfinished>, usize) {
        let mut r = MessageReader::new(limits);
        let mut out = Vec::new();
        let mut max_buffered = 0;
        for c in chunks {
            r.push(c, &mut out);
            max_buffered = max_buffered.max(r.buffered_bytes());
        }
        (out, r.finish(), max_buffered)
    }

    /// Every split of `stream` into two chunks, and byte-by-byte, gives the same result as one
    /// chunk; the reader never holds more than its bound.
    fn check_splits(limits: MessageLimits, stream: &[u8]) -> (Vec<GrpcMessage>, Option<Unfinished>) {
        let (whole, end, _) = read_all(limits, &[stream]);
        for i in 0..=stream.len() {
            let (a, b) = stream.split_at(i);
            let (msgs, e, held) = read_all(limits, &[a, b]);
            assert_eq!((&msgs, &e), (&whole, &end), "split at {i}");
            assert!(held <= limits.max_buffered());
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        let (msgs, e, held) = read_all(limits, &bytes);
        assert_eq!((&msgs, &e), (&whole, &end), "byte by byte");
        assert!(held <= limits.max_buffered());
        (whole, end)
    }

    #[derive(serde::Deserialize)]
    struct FrameCase {
        name: String,
        encoding: String,
        hex: String,
        messages: Vec<FrameMessage>,
    }

    #[derive(serde::Deserialize)]
    struct FrameMessage {
        compressed: bool,
        payload: String,
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
    }

    /// Streams framed and compressed by Python (gzip, zlib modules) read back to the payloads,
    /// whatever the chunking.
    #[test]
    fn reads_python_framed_streams() {
        let cases: Vec<FrameCase> = serde_json::from_str(include_str!("testdata/frames.json")).expect("fixture");
        assert_eq!(cases.len(), 3);
        for c in &cases {
            let stream = unhex(&c.hex);
            let encoding = Encoding::from_header(Some(&c.encoding));
            let limits = MessageLimits::default();
            // Split anywhere, under a limit that truncates the large message too.
            check_splits(MessageLimits { max_message: 1000, truncated_prefix: 100, max_decompressed: 1000 }, &stream);
            for chunk in [1, 7, 1000, stream.len()] {
                let pieces: Vec<&[u8]> = stream.chunks(chunk).collect();
                let (msgs, end, _) = read_all(limits, &pieces);
                assert_eq!(end, None, "{}", c.name);
                assert_eq!(msgs.len(), c.messages.len(), "{}", c.name);
                let mut offset = 0;
                for (m, want) in msgs.iter().zip(&c.messages) {
                    assert_eq!((m.flag == 1, m.truncated, m.offset), (want.compressed, false, offset), "{}", c.name);
                    offset += (PREFIX_LEN + m.data.len()) as u64;
                    let p = m.payload(&encoding, limits.max_decompressed).expect("payload");
                    assert_eq!(p.bytes.as_ref(), unhex(&want.payload).as_slice(), "{}", c.name);
                    assert!(!p.partial);
                }
            }
        }
    }

    #[test]
    fn split_invariance_and_unfinished_messages() {
        let limits = MessageLimits { max_message: 8, truncated_prefix: 3, max_decompressed: 100 };
        let mut stream = frame(0, b"hello");
        stream.extend(frame(1, b""));
        stream.extend(frame(0, b"0123456789abc")); // over the limit
        stream.extend(frame(0, b"12345678")); // exactly the limit
        let (msgs, end) = check_splits(limits, &stream);
        let summary: Vec<_> =
            msgs.iter().map(|m| (m.flag, m.length, m.data.as_slice(), m.truncated, m.offset)).collect();
        assert_eq!(
            summary,
            [
                (0, 5, &b"hello"[..], false, 0),
                (1, 0, &b""[..], false, 10),
                (0, 13, &b"012"[..], true, 15),
                (0, 8, &b"12345678"[..], false, 33),
            ]
        );
        assert_eq!(end, None);
        // Ending inside a prefix, inside a message, inside an over-limit message.
        let (msgs, end) = check_splits(limits, &[frame(0, b"ab"), vec![1, 0, 0]].concat());
        assert_eq!((msgs.len(), end), (1, Some(Unfinished::Prefix { received: 3, offset: 7 })));
        let (_, end) = check_splits(limits, &frame(0, b"abcdef")[..9]);
        let want = Unfinished::Message { flag: 0, length: 6, received: 4, data: b"abcd".to_vec(), offset: 0 };
        assert_eq!(end, Some(want));
        let (_, end) = check_splits(limits, &frame(1, &[7; 20])[..15]);
        let want = Unfinished::Message { flag: 1, length: 20, received: 10, data: vec![7; 3], offset: 0 };
        assert_eq!(end, Some(want));
    }

    #[test]
    fn huge_declared_length_is_not_buffered() {
        let limits = MessageLimits::default();
        let mut r = MessageReader::new(limits);
        let mut out = Vec::new();
        r.push(&[0, 0xff, 0xff, 0xff, 0xff], &mut out);
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..64 {
            r.push(&chunk, &mut out);
            assert!(r.buffered_bytes() <= limits.truncated_prefix);
        }
        assert!(out.is_empty() && !r.at_boundary());
        assert_eq!(r.position(), 5 + (64 << 20));
        match r.finish() {
            Some(Unfinished::Message { length: u32::MAX, received, data, .. }) => {
                assert_eq!((received, data.len()), (64 << 20, limits.truncated_prefix));
            }
            other => panic!("{other:?}"),
        }
        assert!(r.at_boundary() && r.buffered_bytes() == 0);
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).expect("write to a Vec");
        e.finish().expect("finish to a Vec")
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).expect("write to a Vec");
        e.finish().expect("finish to a Vec")
    }

    fn message(flag: u8, data: Vec<u8>, truncated: bool) -> GrpcMessage {
        GrpcMessage { flag, length: data.len() as u32, data, truncated, offset: 0 }
    }

    #[test]
    fn decompression_is_bounded_and_errors_are_named() {
        let zeros = vec![0u8; 64 << 20];
        for (encoding, bomb) in [(Encoding::Gzip, gzip(&zeros)), (Encoding::Deflate, zlib(&zeros))] {
            assert!(bomb.len() < 100_000);
            let m = message(1, bomb, false);
            let p = m.payload(&encoding, 1000).expect("bomb decodes");
            assert_eq!((p.bytes.len(), p.partial, p.decompression_cut), (1000, true, true));
        }
        let text = b"the quick brown fox ".repeat(100);
        let m = message(1, gzip(&text), false);
        let p = m.payload(&Encoding::Gzip, text.len()).expect("exact fit");
        assert_eq!((p.bytes.as_ref(), p.partial), (text.as_slice(), false));
        // A truncated compressed message shows the prefix it decompresses to.
        let z = zlib(&text);
        let m = message(1, z[..z.len() / 2].to_vec(), true);
        let p = m.payload(&Encoding::Deflate, 1 << 20).expect("prefix");
        assert!(p.partial && text.starts_with(&p.bytes));
        // Errors.
        let m = message(1, b"abc".to_vec(), false);
        assert_eq!(m.payload(&Encoding::Identity, 10), Err(PayloadError::CompressedWithoutEncoding));
        let snappy = Encoding::from_header(Some(" Snappy "));
        assert_eq!(m.payload(&snappy, 10), Err(PayloadError::Unsupported("snappy".into())));
        assert!(matches!(m.payload(&Encoding::Gzip, 10), Err(PayloadError::Corrupt { encoding: "gzip", .. })));
        assert!(matches!(m.payload(&Encoding::Deflate, 10), Err(PayloadError::Corrupt { encoding: "deflate", .. })));
        assert_eq!(message(2, vec![], false).payload(&Encoding::Gzip, 10), Err(PayloadError::InvalidFlag(2)));
        // Not compressed: borrowed as is, whatever the encoding.
        let m = message(0, b"abc".to_vec(), true);
        let p = m.payload(&snappy, 1).expect("plain");
        assert_eq!((p.bytes.as_ref(), p.partial), (&b"abc"[..], true));
        assert_eq!(Encoding::from_header(None), Encoding::Identity);
        assert_eq!(Encoding::from_header(Some("GZIP")).name(), "gzip");
    }
}
