//! The chunked transfer coding (RFC 9112 §7.1) as an incremental decoder: fed the body's wire
//! bytes in pieces of any size, it hands back the chunk data as slices of its input (no copy),
//! skips chunk extensions, and collects the trailer section (bounded).

use super::scan::{find_byte, HeadScanner};
use thiserror::Error;

/// Longest chunk-size line accepted (size, extensions and line end).
pub(crate) const MAX_SIZE_LINE: usize = 4096;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ChunkError {
    #[error("invalid byte {0:#04x} in a chunk size")]
    InvalidSize(u8),
    #[error("chunk size does not fit in 64 bits")]
    SizeOverflow,
    #[error("chunk size line longer than {MAX_SIZE_LINE} bytes")]
    SizeLineTooLong,
    #[error("chunk data not followed by CRLF (found {0:#04x})")]
    MissingCrlf(u8),
    #[error("trailer section longer than {0} bytes")]
    TrailersTooLarge(usize),
}

#[derive(Clone, Debug)]
enum State {
    /// Reading hex digits.
    Size {
        value: u64,
        digits: u8,
    },
    /// After the size: extensions or whitespace, up to the line end.
    SizeLineRest {
        value: u64,
    },
    Data {
        remaining: u64,
    },
    /// After chunk data: expecting `\r\n` (or a bare `\n`); `cr` once `\r` was seen.
    DataEnd {
        cr: bool,
    },
    Trailers,
    Done,
}

/// One step of decoding.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ChunkStep<'a> {
    /// All input consumed, more needed.
    NeedMore,
    /// Chunk data.
    Data(&'a [u8]),
    /// The body ended; the raw trailer section including its final empty line (so just the line
    /// end when there were no trailers).
    Done(Vec<u8>),
    Error(ChunkError),
}

#[derive(Clone, Debug)]
pub(crate) struct ChunkedDecoder {
    state: State,
    /// Bytes of the current size line so far.
    line_len: usize,
    trailers: Vec<u8>,
    trailer_scan: HeadScanner,
    max_trailers: usize,
}

impl ChunkedDecoder {
    pub(crate) fn new(max_trailers: usize) -> Self {
        ChunkedDecoder {
            state: State::Size { value: 0, digits: 0 },
            line_len: 0,
            trailers: Vec::new(),
            trailer_scan: HeadScanner::for_trailers(),
            max_trailers,
        }
    }

    /// Bytes held (the trailer section being collected).
    pub(crate) fn buffered(&self) -> usize {
        self.trailers.len()
    }

    /// Skips `len` bytes of chunk data lost to a capture gap; false when the gap does not fall
    /// within the current chunk's data.
    pub(crate) fn skip_data(&mut self, len: u64) -> bool {
        match &mut self.state {
            State::Data { remaining } if len <= *remaining => {
                *remaining -= len;
                if *remaining == 0 {
                    self.state = State::DataEnd { cr: false };
                }
                true
            }
            _ => false,
        }
    }

    /// Decodes from `input`; returns the bytes consumed and what they were.
    pub(crate) fn feed<'a>(&mut self, input: &'a [u8]) -> (usize, ChunkStep<'a>) {
        let mut pos = 0;
        loop {
            let rest = &input[pos..];
            match &mut self.state {
                State::Done => return (pos, ChunkStep::Done(std::mem::take(&mut self.trailers))),
                State::Data { remaining } => {
                    if rest.is_empty() {
                        return (pos, ChunkStep::NeedMore);
                    }
                    let n = usize::try_from(*remaining).unwrap_or(usize::MAX).min(rest.len());
                    *remaining -= n as u64;
                    if *remaining == 0 {
                        self.state = State::DataEnd { cr: false };
                    }
                    return (pos + n, ChunkStep::Data(&rest[..n]));
                }
                State::Trailers => {
                    let end = self.trailer_scan.scan(rest);
                    let take = end.unwrap_or(rest.len());
                    if self.trailers.len() + take > self.max_trailers {
                        // Stop at the first byte over the limit, whatever the segmentation.
                        let over = self.max_trailers - self.trailers.len() + 1;
                        let e = ChunkError::TrailersTooLarge(self.max_trailers);
                        return (pos + over, ChunkStep::Error(e));
                    }
                    self.trailers.extend_from_slice(&rest[..take]);
                    pos += take;
                    match end {
                        Some(_) => self.state = State::Done,
                        None => return (pos, ChunkStep::NeedMore),
                    }
                }
                State::SizeLineRest { value } => {
                    let value = *value;
                    let nl = find_byte(rest, b'\n');
                    let take = nl.map_or(rest.len(), |i| i + 1);
                    if self.line_len + take > MAX_SIZE_LINE {
                        // Stop at the first byte over the limit, whatever the segmentation.
                        let over = MAX_SIZE_LINE - self.line_len + 1;
                        return (pos + over, ChunkStep::Error(ChunkError::SizeLineTooLong));
                    }
                    self.line_len += take;
                    pos += take;
                    if nl.is_none() {
                        return (pos, ChunkStep::NeedMore);
                    }
                    self.end_size_line(value);
                }
                State::Size { value, digits } => {
                    let Some(&b) = rest.first() else {
                        return (pos, ChunkStep::NeedMore);
                    };
                    pos += 1;
                    self.line_len += 1;
                    if let Some(d) = (b as char).to_digit(16) {
                        if *digits >= 16 {
                            return (pos, ChunkStep::Error(ChunkError::SizeOverflow));
                        }
                        *value = (*value << 4) | d as u64;
                        *digits += 1;
                    } else if *digits == 0 {
                        return (pos, ChunkStep::Error(ChunkError::InvalidSize(b)));
                    } else if b == b'\n' {
                        let v = *value;
                        self.end_size_line(v);
                    } else if matches!(b, b';' | b' ' | b'\t' | b'\r') {
                        // Extensions (and the CR of the line end) are skipped up to the LF.
                        self.state = State::SizeLineRest { value: *value };
                    } else {
                        return (pos, ChunkStep::Error(ChunkError::InvalidSize(b)));
                    }
                }
                State::DataEnd { cr } => {
                    let Some(&b) = rest.first() else {
                        return (pos, ChunkStep::NeedMore);
                    };
                    pos += 1;
                    match (b, *cr) {
                        (b'\r', false) => *cr = true,
                        (b'\n', _) => {
                            self.state = State::Size { value: 0, digits: 0 };
                            self.line_len = 0;
                        }
                        _ => return (pos, ChunkStep::Error(ChunkError::MissingCrlf(b))),
                    }
                }
            }
        }
    }

    fn end_size_line(&mut self, value: u64) {
        self.line_len = 0;
        self.state = if value == 0 { State::Trailers } else { State::Data { remaining: value } };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `wire` fed in pieces of `step` bytes: (data, trailers, bytes consumed) or the error.
    fn decode(wire: &[u8], step: usize) -> Result<(Vec<u8>, Vec<u8>, usize), Option<ChunkError>> {
        let mut d = ChunkedDecoder::new(1024);
        let mut data = Vec::new();
        let mut consumed = 0;
        for piece in wire.chunks(step.max(1)) {
            let mut pos = 0;
            loop {
                let (n, s) = d.feed(&piece[pos..]);
                pos += n;
                match s {
                    ChunkStep::NeedMore => break,
                    ChunkStep::Data(x) => data.extend_from_slice(x),
                    ChunkStep::Done(t) => return Ok((data, t, consumed + pos)),
                    ChunkStep::Error(e) => return Err(Some(e)),
                }
            }
            consumed += piece.len();
        }
        Err(None)
    }

    #[test]
    fn decodes_chunks_extensions_and_trailers_in_any_pieces() {
        let wire = b"5;name=val\r\nhello\r\nA \r\n0123456789\r\n0\r\nX-Sum: 1\r\nY: 2\r\n\r\nNEXT";
        for step in 1..wire.len() {
            let (data, trailers, used) = decode(wire, step).expect("valid");
            assert_eq!(data, b"hello0123456789", "step {step}");
            assert_eq!(trailers, b"X-Sum: 1\r\nY: 2\r\n\r\n", "step {step}");
            assert_eq!(used, wire.len() - 4, "step {step}");
        }
    }

    #[test]
    fn bare_lf_and_no_trailers() {
        let wire = b"3\nabc\n0\n\n";
        let (data, trailers, used) = decode(wire, 100).expect("valid");
        assert_eq!((data.as_slice(), trailers.as_slice(), used), (&b"abc"[..], &b"\n"[..], wire.len()));
    }

    #[test]
    fn errors() {
        assert_eq!(decode(b"zz\r\n", 100), Err(Some(ChunkError::InvalidSize(b'z'))));
        assert_eq!(decode(b"11111111111111111\r\n", 100), Err(Some(ChunkError::SizeOverflow)));
        assert_eq!(decode(b"3\r\nabcX", 100), Err(Some(ChunkError::MissingCrlf(b'X'))));
        let mut long = b"3;".to_vec();
        long.resize(MAX_SIZE_LINE + 10, b'a');
        assert_eq!(decode(&long, 7), Err(Some(ChunkError::SizeLineTooLong)));
        let mut big = b"0\r\n".to_vec();
        big.resize(3000, b'a');
        assert_eq!(decode(&big, 100), Err(Some(ChunkError::TrailersTooLarge(1024))));
    }

    #[test]
    fn skip_data_only_within_a_chunk() {
        let mut d = ChunkedDecoder::new(64);
        assert!(!d.skip_data(1), "no chunk data yet");
        assert_eq!(d.feed(b"a\r\n01"), (5, ChunkStep::Data(b"01")));
        assert!(!d.skip_data(9), "only 8 bytes of the chunk are left");
        assert!(d.skip_data(8));
        assert_eq!(d.feed(b"\r\n0\r\n\r\n"), (7, ChunkStep::Done(b"\r\n".to_vec())));
        assert!(decode(b"3\r\nab", 10).unwrap_err().is_none(), "incomplete is not an error");
    }
}
