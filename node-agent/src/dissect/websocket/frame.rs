//! WebSocket base framing (RFC 6455 section 5.2), zero-copy.
//!
//! ```text
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               | Masking-key, if MASK set to 1 |
//! +-------------------------------+-------------------------------+
//! | Masking-key (continued)       |          Payload Data         |
//! ```
//!
//! Only what makes the framing undecidable is an error (a 64-bit length with its most significant
//! bit set). Everything else the RFC forbids but an observer can still step over (non-minimal
//! length encodings, oversized or fragmented control frames, reserved opcodes) is reported by
//! [`FrameHeader::violations`] and the frame is parsed anyway.

use super::mask;
use std::borrow::Cow;
use std::fmt;
use thiserror::Error;

/// Longest possible frame header: 2 bytes, a 64-bit length and a masking key.
pub const MAX_HEADER_LEN: usize = 14;
/// Largest payload a control frame may carry (RFC 6455 section 5.5).
pub const MAX_CONTROL_PAYLOAD: u64 = 125;

/// The 4-bit frame opcode (RFC 6455 section 5.2, section 11.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Opcode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
    /// 0x3-0x7 (reserved non-control) or 0xB-0xF (reserved control).
    Reserved(u8),
}

impl Opcode {
    /// The opcode of the low four bits of `bits`.
    pub fn from_bits(bits: u8) -> Opcode {
        match bits & 0x0f {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xa => Opcode::Pong,
            n => Opcode::Reserved(n),
        }
    }

    pub fn bits(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xa,
            Opcode::Reserved(n) => n & 0x0f,
        }
    }

    /// Control opcodes have the high bit of the opcode set (0x8-0xF), reserved ones included.
    pub fn is_control(self) -> bool {
        self.bits() & 0x08 != 0
    }

    /// Lowercase name: "continuation", "text", "binary", "close", "ping", "pong" or "reserved".
    pub fn name(self) -> &'static str {
        match self {
            Opcode::Continuation => "continuation",
            Opcode::Text => "text",
            Opcode::Binary => "binary",
            Opcode::Close => "close",
            Opcode::Ping => "ping",
            Opcode::Pong => "pong",
            Opcode::Reserved(_) => "reserved",
        }
    }
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Opcode::Reserved(n) => write!(f, "reserved opcode {n:#x}"),
            other => f.write_str(other.name()),
        }
    }
}

/// RSV bits as they sit in the first byte, shifted down: RSV1 is 0b100.
pub const RSV1: u8 = 0b100;
pub const RSV2: u8 = 0b010;
pub const RSV3: u8 = 0b001;

/// A parsed frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    pub fin: bool,
    /// The three RSV bits: [`RSV1`] | [`RSV2`] | [`RSV3`].
    pub rsv: u8,
    pub opcode: Opcode,
    /// The masking key when the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    pub payload_len: u64,
    /// Bytes of the header itself (2 to 14).
    pub header_len: usize,
    /// False when the length used a longer encoding than needed (e.g. 16 bits for 100 bytes).
    pub minimal_length: bool,
}

/// Something RFC 6455 forbids in a header that still leaves the framing decidable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// The payload length was not in its minimal encoding (section 5.2).
    NonMinimalLength { len: u64, header_len: usize },
    /// A control frame longer than 125 bytes (section 5.5).
    ControlTooLong(u64),
    /// A control frame without FIN (section 5.5).
    ControlFragmented,
    /// An opcode the RFC reserves (section 5.2).
    ReservedOpcode(u8),
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::NonMinimalLength { len, header_len } => {
                write!(f, "payload length {len} not minimally encoded ({header_len}-byte header)")
            }
            Violation::ControlTooLong(len) => write!(f, "control frame of {len} bytes (at most 125 allowed)"),
            Violation::ControlFragmented => f.write_str("fragmented control frame (FIN not set)"),
            Violation::ReservedOpcode(n) => write!(f, "reserved opcode {n:#x}"),
        }
    }
}

impl FrameHeader {
    pub fn rsv1(&self) -> bool {
        self.rsv & RSV1 != 0
    }
    pub fn rsv2(&self) -> bool {
        self.rsv & RSV2 != 0
    }
    pub fn rsv3(&self) -> bool {
        self.rsv & RSV3 != 0
    }

    /// Header plus payload: the whole frame on the wire.
    pub fn frame_len(&self) -> u64 {
        self.payload_len.saturating_add(self.header_len as u64)
    }

    /// What this header does that RFC 6455 forbids, independent of direction and extensions
    /// (masking rules and RSV bits depend on those and are checked by the message layer).
    pub fn violations(&self) -> Vec<Violation> {
        let mut v = Vec::new();
        if !self.minimal_length {
            v.push(Violation::NonMinimalLength { len: self.payload_len, header_len: self.header_len });
        }
        if let Opcode::Reserved(n) = self.opcode {
            v.push(Violation::ReservedOpcode(n));
        }
        if self.opcode.is_control() {
            if self.payload_len > MAX_CONTROL_PAYLOAD {
                v.push(Violation::ControlTooLong(self.payload_len));
            }
            if !self.fin {
                v.push(Violation::ControlFragmented);
            }
        }
        v
    }
}

/// A whole frame inside a buffer: its header and its payload exactly as on the wire (still masked
/// when `header.mask` is set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub header: FrameHeader,
    pub payload: &'a [u8],
}

impl<'a> Frame<'a> {
    /// The payload unmasked: borrowed when the frame was not masked.
    pub fn unmasked(&self) -> Cow<'a, [u8]> {
        match self.header.mask {
            None => Cow::Borrowed(self.payload),
            Some(key) => {
                let mut v = self.payload.to_vec();
                mask::apply_mask(&mut v, key, 0);
                Cow::Owned(v)
            }
        }
    }
}

/// The result of parsing from the start of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed<T> {
    /// `value` was parsed from the first `len` bytes.
    Complete { value: T, len: usize },
    /// The buffer is too short: at least `needed` bytes (counted from the buffer's start) are
    /// required. For a header, a later call may still ask for more once the length is readable.
    Incomplete { needed: u64 },
}

/// Framing that cannot be followed: the rest of the stream cannot be split into frames.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("64-bit payload length {0:#018x} has its most significant bit set (RFC 6455 section 5.2)")]
    LengthTooLarge(u64),
    #[error("frame of {0} bytes does not fit in memory addresses")]
    FrameTooLarge(u64),
}

/// Parses the frame header at the start of `buf`; `len` in the result is the header's length.
pub fn parse_header(buf: &[u8]) -> Result<Parsed<FrameHeader>, FrameError> {
    let (b0, b1) = match buf {
        [b0, b1, ..] => (*b0, *b1),
        _ => return Ok(Parsed::Incomplete { needed: 2 }),
    };
    let masked = b1 & 0x80 != 0;
    let len7 = b1 & 0x7f;
    let ext_len = match len7 {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let header_len = 2 + ext_len + if masked { 4 } else { 0 };
    let Some(rest) = buf.get(2..header_len) else {
        return Ok(Parsed::Incomplete { needed: header_len as u64 });
    };
    let (ext, key) = rest.split_at(ext_len);
    let (payload_len, minimal_length) = match *ext {
        [a, b] => {
            let len = u64::from(u16::from_be_bytes([a, b]));
            (len, len >= 126)
        }
        [a, b, c, d, e, f, g, h] => {
            let len = u64::from_be_bytes([a, b, c, d, e, f, g, h]);
            if len >> 63 != 0 {
                return Err(FrameError::LengthTooLarge(len));
            }
            (len, len > 0xffff)
        }
        _ => (u64::from(len7), true),
    };
    let mask = match *key {
        [a, b, c, d] => Some([a, b, c, d]),
        _ => None,
    };
    let header = FrameHeader {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 0x07,
        opcode: Opcode::from_bits(b0),
        mask,
        payload_len,
        header_len,
        minimal_length,
    };
    Ok(Parsed::Complete { value: header, len: header_len })
}

/// Parses a whole frame at the start of `buf`, borrowing its payload; `len` in the result is the
/// frame's length. For streaming large frames use [`parse_header`] and take the payload in pieces.
pub fn parse_frame(buf: &[u8]) -> Result<Parsed<Frame<'_>>, FrameError> {
    let header = match parse_header(buf)? {
        Parsed::Complete { value, .. } => value,
        Parsed::Incomplete { needed } => return Ok(Parsed::Incomplete { needed }),
    };
    let total = header.frame_len();
    let end = usize::try_from(total).map_err(|_| FrameError::FrameTooLarge(total))?;
    match buf.get(header.header_len..end) {
        Some(payload) => Ok(Parsed::Complete { value: Frame { header, payload }, len: end }),
        None => Ok(Parsed::Incomplete { needed: total }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(buf: &[u8]) -> (Frame<'_>, usize) {
        match parse_frame(buf).unwrap() {
            Parsed::Complete { value, len } => (value, len),
            Parsed::Incomplete { needed } => panic!("incomplete, needs {needed}"),
        }
    }

    /// The examples of RFC 6455 section 5.7.
    #[test]
    fn rfc6455_examples() {
        let (f, n) = frame(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        assert_eq!(n, 7);
        assert!(f.header.fin);
        assert_eq!(f.header.opcode, Opcode::Text);
        assert_eq!(f.header.mask, None);
        assert_eq!(&*f.unmasked(), b"Hello");

        let masked = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
        let (f, n) = frame(&masked);
        assert_eq!(n, 11);
        assert_eq!(f.header.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(&*f.unmasked(), b"Hello");

        let (f, _) = frame(&[0x01, 0x03, 0x48, 0x65, 0x6c]);
        assert!(!f.header.fin);
        assert_eq!(f.header.opcode, Opcode::Text);
        assert_eq!(f.payload, b"Hel");
        let (f, _) = frame(&[0x80, 0x02, 0x6c, 0x6f]);
        assert!(f.header.fin);
        assert_eq!(f.header.opcode, Opcode::Continuation);
        assert_eq!(f.payload, b"lo");

        let (f, _) = frame(&[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        assert_eq!(f.header.opcode, Opcode::Ping);
        let (f, _) = frame(&[0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
        assert_eq!(f.header.opcode, Opcode::Pong);
        assert_eq!(&*f.unmasked(), b"Hello");

        let mut b256 = vec![0x82, 0x7e, 0x01, 0x00];
        b256.extend(std::iter::repeat_n(7u8, 256));
        let (f, n) = frame(&b256);
        assert_eq!((f.header.opcode, f.header.payload_len, f.header.header_len, n), (Opcode::Binary, 256, 4, 260));
        assert!(f.header.minimal_length);

        let mut b64k = vec![0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0];
        b64k.extend(std::iter::repeat_n(9u8, 65536));
        let (f, n) = frame(&b64k);
        assert_eq!((f.header.payload_len, f.header.header_len, n), (65536, 10, 65546));
        assert!(f.header.minimal_length);
        assert!(f.header.violations().is_empty());
    }

    #[test]
    fn incomplete_reports_what_is_needed() {
        assert_eq!(parse_header(&[]).unwrap(), Parsed::Incomplete { needed: 2 });
        assert_eq!(parse_header(&[0x82]).unwrap(), Parsed::Incomplete { needed: 2 });
        assert_eq!(parse_header(&[0x82, 0xfe, 0x01]).unwrap(), Parsed::Incomplete { needed: 8 });
        assert_eq!(parse_header(&[0x82, 0x7f, 0]).unwrap(), Parsed::Incomplete { needed: 10 });
        assert_eq!(parse_frame(&[0x82, 0x7e, 0x01, 0x00, 1]).unwrap(), Parsed::Incomplete { needed: 260 });
        let full = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
        for cut in 0..full.len() {
            let needed = match parse_frame(&full[..cut]).unwrap() {
                Parsed::Incomplete { needed } => needed,
                other => panic!("{other:?} at {cut}"),
            };
            assert!(needed > cut as u64 && needed <= full.len() as u64, "cut {cut}: {needed}");
        }
    }

    #[test]
    fn rsv_bits_and_reserved_opcodes() {
        let (f, _) = frame(&[0xc1, 0x00]);
        assert!(f.header.rsv1() && !f.header.rsv2() && !f.header.rsv3());
        let (f, _) = frame(&[0xb3, 0x00]);
        assert_eq!(f.header.rsv, RSV2 | RSV3);
        assert_eq!(f.header.opcode, Opcode::Reserved(3));
        assert_eq!(f.header.violations(), vec![Violation::ReservedOpcode(3)]);
        let (f, _) = frame(&[0x8b, 0x00]);
        assert!(f.header.opcode.is_control());
        assert_eq!(f.header.violations(), vec![Violation::ReservedOpcode(0xb)]);
        for bits in 0..16u8 {
            assert_eq!(Opcode::from_bits(bits).bits(), bits);
        }
    }

    #[test]
    fn violations_are_reported_not_fatal() {
        // 5 bytes in a 16-bit length; a 64-bit length for 65535 bytes.
        let (f, n) = frame(&[0x82, 0x7e, 0x00, 0x05, 1, 2, 3, 4, 5]);
        assert_eq!((f.header.payload_len, n), (5, 9));
        assert_eq!(f.header.violations(), vec![Violation::NonMinimalLength { len: 5, header_len: 4 }]);
        let h = match parse_header(&[0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff]).unwrap() {
            Parsed::Complete { value, .. } => value,
            other => panic!("{other:?}"),
        };
        assert!(!h.minimal_length);
        // A ping of 126 bytes without FIN.
        let h = match parse_header(&[0x09, 0x7e, 0x00, 0x7e]).unwrap() {
            Parsed::Complete { value, .. } => value,
            other => panic!("{other:?}"),
        };
        assert_eq!(h.violations(), vec![Violation::ControlTooLong(126), Violation::ControlFragmented]);
    }

    #[test]
    fn length_with_top_bit_is_an_error() {
        let buf = [0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(parse_header(&buf), Err(FrameError::LengthTooLarge(0x8000_0000_0000_0001)));
        // The largest legal length parses, without any allocation.
        let buf = [0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4];
        match parse_header(&buf).unwrap() {
            Parsed::Complete { value, len } => {
                assert_eq!((value.payload_len, len, value.mask), (u64::MAX >> 1, 14, Some([1, 2, 3, 4])));
            }
            other => panic!("{other:?}"),
        }
        if cfg!(target_pointer_width = "64") {
            assert_eq!(parse_frame(&buf), Ok(Parsed::Incomplete { needed: (u64::MAX >> 1) + 14 }));
        }
    }
}
