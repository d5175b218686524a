//! permessage-deflate (RFC 7692): the negotiated parameters, read from the server's
//! `Sec-WebSocket-Extensions` response header, and one raw-DEFLATE inflater per direction.
//!
//! The inflater is miniz_oxide's core decompressor (the backend flate2 uses) over an output buffer
//! this module owns: the buffer is the LZ77 window. It is kept across messages under context
//! takeover and emptied at each message without it. Because the decompressor runs in non-wrapping
//! mode over exactly the history this observer has seen, a back-reference to data before that
//! history (a capture that starts mid-connection, bytes lost in a gap) is an inflate error for
//! that message instead of silently wrong output, as it would be with a zero-filled window.
//! flate2's streaming `Decompress` cannot tell that case apart, hence the direct use.

use crate::dissect::Direction;
use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;
use thiserror::Error;

/// The extension's registered name.
pub const EXTENSION_NAME: &str = "permessage-deflate";
/// The 4 bytes RFC 7692 section 7.2.2 appends to a message before inflating it.
const SYNC_TRAILER: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// DEFLATE's largest distance: history kept across messages.
const WINDOW: usize = 32 * 1024;
/// Output space after the history for each decompression round.
const OUTPUT_SPACE: usize = 32 * 1024;
/// Bytes an inflater holds once in use: the window buffer and the decompressor's tables.
pub const INFLATER_BYTES: usize = WINDOW + OUTPUT_SPACE + std::mem::size_of::<DecompressorOxide>();

/// The permessage-deflate parameters the server accepted (RFC 7692 section 7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeflateParams {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    /// LZ77 window of the server's compressor, 8 to 15 (15 when not given).
    pub server_max_window_bits: u8,
    /// LZ77 window of the client's compressor, 8 to 15 (15 when not given).
    pub client_max_window_bits: u8,
}

impl Default for DeflateParams {
    fn default() -> Self {
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    }
}

impl DeflateParams {
    /// How to inflate the messages that `from` sends.
    pub fn inflate_params(&self, from: Direction) -> InflateParams {
        match from {
            Direction::ClientToServer => InflateParams {
                context_takeover: !self.client_no_context_takeover,
                window_bits: self.client_max_window_bits,
            },
            Direction::ServerToClient => InflateParams {
                context_takeover: !self.server_no_context_takeover,
                window_bits: self.server_max_window_bits,
            },
        }
    }
}

/// How one direction's messages are inflated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InflateParams {
    /// The sender keeps its LZ77 window across messages (no `*_no_context_takeover`).
    pub context_takeover: bool,
    /// Informational: the inflater always keeps a 32 KiB window, which covers every smaller one.
    pub window_bits: u8,
}

/// The extensions a `Sec-WebSocket-Extensions` response header value says are in use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extensions {
    /// permessage-deflate with its parameters, when the server accepted it.
    pub deflate: Option<DeflateParams>,
    /// Names of other extensions (they may use RSV bits this layer does not interpret).
    pub others: Vec<String>,
    /// Problems with the header value (unknown or duplicate parameters, bad values...).
    pub problems: Vec<String>,
}

/// Reads the server's `Sec-WebSocket-Extensions` value (several header lines joined with ", ").
/// Grammar (RFC 6455 section 9.1): `1#( token *( ";" token [ "=" ( token / quoted-string ) ] ) )`.
/// Lenient: bad parameters are reported in `problems` and take their defaults.
pub fn parse_extensions(value: &str) -> Extensions {
    let mut ext = Extensions::default();
    for item in split_outside_quotes(value, ',') {
        let mut parts = split_outside_quotes(item, ';').into_iter();
        let name = parts.next().unwrap_or_default().trim();
        if name.is_empty() {
            continue;
        }
        if !name.eq_ignore_ascii_case(EXTENSION_NAME) {
            ext.others.push(name.to_owned());
            continue;
        }
        if ext.deflate.is_some() {
            ext.problems.push("permessage-deflate accepted more than once; the first is used".to_owned());
            continue;
        }
        let mut params = DeflateParams::default();
        let mut seen: Vec<String> = Vec::new();
        for param in parts {
            let (key, val) = match param.split_once('=') {
                Some((k, v)) => (k.trim(), Some(unquote(v.trim()))),
                None => (param.trim(), None),
            };
            if key.is_empty() {
                continue;
            }
            let lower = key.to_ascii_lowercase();
            if seen.contains(&lower) {
                ext.problems.push(format!("permessage-deflate parameter {key} given twice"));
                continue;
            }
            seen.push(lower.clone());
            match lower.as_str() {
                "server_no_context_takeover" | "client_no_context_takeover" => {
                    if val.is_some() {
                        ext.problems.push(format!("permessage-deflate parameter {key} takes no value"));
                    }
                    if lower.starts_with("server") {
                        params.server_no_context_takeover = true;
                    } else {
                        params.client_no_context_takeover = true;
                    }
                }
                "server_max_window_bits" | "client_max_window_bits" => {
                    let bits = match val.as_deref().map(str::parse::<u8>) {
                        Some(Ok(b)) if (8..=15).contains(&b) => b,
                        Some(_) => {
                            ext.problems.push(format!("permessage-deflate {key} value not in 8..15"));
                            15
                        }
                        None => {
                            ext.problems.push(format!("permessage-deflate {key} without a value in a response"));
                            15
                        }
                    };
                    if lower.starts_with("server") {
                        params.server_max_window_bits = bits;
                    } else {
                        params.client_max_window_bits = bits;
                    }
                }
                _ => ext.problems.push(format!("unknown permessage-deflate parameter {key}")),
            }
        }
        ext.deflate = Some(params);
    }
    ext
}

/// Splits on `sep` where it is not inside a quoted-string (backslash escapes honoured).
fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(s.get(start..i).unwrap_or_default());
            start = i + c.len_utf8();
        }
    }
    parts.push(s.get(start..).unwrap_or_default());
    parts
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut escaped = false;
            for c in inner.chars() {
                if !escaped && c == '\\' {
                    escaped = true;
                } else {
                    out.push(c);
                    escaped = false;
                }
            }
            out
        }
        None => v.to_owned(),
    }
}

/// Why a message could not be inflated (to the end).
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum InflateError {
    #[error("invalid compressed data")]
    Invalid,
    #[error("cannot inflate: the message may refer to earlier messages not captured (context takeover)")]
    MissingHistory,
    #[error("inflated size over the {0}-byte limit")]
    OverLimit(u64),
    #[error("compressed data lost in a capture gap")]
    Gap,
}

/// How one call of the decompressor ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Round {
    /// It wants more input (all of it was consumed, or it could not use the rest).
    NeedsInput,
    /// Its output space was full: call again.
    HasOutput,
    /// A block with BFINAL ended the DEFLATE stream.
    StreamEnd,
}

/// One direction's inflater. Call [`Inflater::begin_message`], then [`Inflater::push`] with the
/// message's (unmasked) payload in pieces, then [`Inflater::end_message`]. After an error the rest
/// of that message is ignored; the next message starts over with whatever history is still valid.
pub struct Inflater {
    params: InflateParams,
    /// Decompressor state; allocated with the window on first use.
    state: Option<Box<DecompressorOxide>>,
    /// History, then output space. `pos` is the end of the output so far.
    window: Vec<u8>,
    pos: usize,
    /// The history holds everything the sender's compressor may refer to.
    history_complete: bool,
    /// Bytes the current message produced, and its cap (`None` = not capped).
    produced: u64,
    limit: u64,
    /// The current message: Some(error) once it failed; inflation of it stopped.
    failed: Option<InflateError>,
    /// The DEFLATE stream ended (BFINAL) within the current message.
    stream_ended: bool,
    /// Input after the final block of the current message (ignored).
    trailing: u64,
    /// The decompressor must restart at the next message (stream end, failure, lost input).
    restart: bool,
}

impl Inflater {
    pub fn new(params: InflateParams) -> Inflater {
        Inflater {
            params,
            state: None,
            window: Vec::new(),
            pos: 0,
            history_complete: true,
            produced: 0,
            limit: u64::MAX,
            failed: None,
            stream_ended: false,
            trailing: 0,
            restart: false,
        }
    }

    pub fn params(&self) -> InflateParams {
        self.params
    }

    /// Forgets the history: the next messages may refer to data this inflater never saw (a capture
    /// that starts mid-connection, bytes lost). Their back-references beyond what is seen from now
    /// on fail as [`InflateError::MissingHistory`].
    pub fn lose_history(&mut self) {
        self.pos = 0;
        self.restart = true;
        self.history_complete = !self.params.context_takeover;
    }

    /// Starts a compressed message; at most `limit` bytes of it are inflated.
    pub fn begin_message(&mut self, limit: u64) {
        if !self.params.context_takeover {
            // The sender starts each message with an empty window.
            self.pos = 0;
            self.restart = true;
            self.history_complete = true;
        }
        if self.restart {
            if let Some(state) = self.state.as_mut() {
                state.init();
            }
            self.restart = false;
        }
        self.produced = 0;
        self.limit = limit;
        self.failed = None;
        self.stream_ended = false;
        self.trailing = 0;
    }

    /// Inflates the next piece of the current message's payload; output goes to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut dyn FnMut(&[u8])) -> Result<(), InflateError> {
        self.run(input, true, out)
    }

    /// Ends the current message: inflates the RFC 7692 trailer. Returns the message's error, if
    /// any, and the number of bytes found after a final block (ignored).
    pub fn end_message(&mut self, out: &mut dyn FnMut(&[u8])) -> Result<u64, InflateError> {
        let res = self.run(&SYNC_TRAILER, false, out);
        if self.stream_ended {
            self.restart = true;
        }
        res.map(|()| self.trailing)
    }

    /// The current message will not be ended (cut short, interrupted): the decompressor stopped
    /// mid-stream, so the history becomes incomplete.
    pub fn abandon_message(&mut self) {
        self.lose_history();
    }

    /// The current message lost compressed bytes: it cannot be inflated further, and the
    /// history becomes incomplete.
    pub fn lose_input(&mut self) {
        if self.failed.is_none() {
            self.failed = Some(InflateError::Gap);
        }
        self.lose_history();
    }

    /// The current message's error, if it failed.
    pub fn failed(&self) -> Option<InflateError> {
        self.failed
    }

    /// Bytes held: the window buffer and decompressor once allocated.
    pub fn buffered_bytes(&self) -> usize {
        if self.state.is_some() {
            INFLATER_BYTES
        } else {
            0
        }
    }

    /// Frees memory; the history is lost.
    pub fn release(&mut self) {
        self.state = None;
        self.window = Vec::new();
        self.lose_history();
    }

    fn fail(&mut self, err: InflateError) -> Result<(), InflateError> {
        self.failed = Some(err);
        // The decompressor stopped mid-message: what follows cannot be trusted to line up.
        self.lose_history();
        Err(err)
    }

    fn run(&mut self, mut input: &[u8], is_payload: bool, out: &mut dyn FnMut(&[u8])) -> Result<(), InflateError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        if self.state.is_none() {
            self.state = Some(Box::default());
            self.window = vec![0; WINDOW + OUTPUT_SPACE];
        }
        loop {
            if self.stream_ended {
                if is_payload {
                    self.trailing += input.len() as u64;
                }
                return Ok(());
            }
            let before = input.len();
            let (round, produced) = match self.round(&mut input, out) {
                Ok(r) => r,
                Err(e) => return self.fail(e),
            };
            let progressed = produced > 0 || input.len() < before;
            match round {
                Round::StreamEnd => self.stream_ended = true,
                Round::NeedsInput if input.is_empty() => return Ok(()),
                Round::NeedsInput | Round::HasOutput if progressed => {}
                // The decompressor neither consumed nor produced: never loop on that.
                Round::NeedsInput | Round::HasOutput => return self.fail(InflateError::Invalid),
            }
        }
    }

    /// One call of the decompressor: consumes some of `input`, emits what it produced.
    fn round(&mut self, input: &mut &[u8], out: &mut dyn FnMut(&[u8])) -> Result<(Round, usize), InflateError> {
        if self.pos >= self.window.len() {
            // Slide: keep the last 32 KiB as history (every distance DEFLATE can express).
            let keep = self.pos.min(WINDOW);
            self.window.copy_within(self.pos - keep..self.pos, 0);
            self.pos = keep;
        }
        // One byte more than the limit may be produced: it tells "over" from "exactly at".
        let allowed = self.limit.saturating_add(1).saturating_sub(self.produced);
        let space = self.window.len() - self.pos;
        let end = self.pos + usize::try_from(allowed).unwrap_or(usize::MAX).min(space);
        let (Some(state), Some(buf)) = (self.state.as_deref_mut(), self.window.get_mut(..end)) else {
            return Err(InflateError::Invalid);
        };
        let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF | inflate_flags::TINFL_FLAG_HAS_MORE_INPUT;
        let (status, consumed, produced) = decompress(state, input, buf, self.pos, flags);
        *input = input.get(consumed..).unwrap_or_default();
        let start = self.pos;
        self.pos += produced;
        self.produced += produced as u64;
        let excess = self.produced.saturating_sub(self.limit);
        let new = self.window.get(start..start + produced.saturating_sub(excess as usize)).unwrap_or_default();
        if !new.is_empty() {
            out(new);
        }
        if excess > 0 {
            return Err(InflateError::OverLimit(self.limit));
        }
        match status {
            TINFLStatus::Done => Ok((Round::StreamEnd, produced)),
            TINFLStatus::NeedsMoreInput => Ok((Round::NeedsInput, produced)),
            TINFLStatus::HasMoreOutput => Ok((Round::HasOutput, produced)),
            _ if self.history_complete => Err(InflateError::Invalid),
            _ => Err(InflateError::MissingHistory),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inflate_message(inf: &mut Inflater, pieces: &[&[u8]], limit: u64) -> (Vec<u8>, Result<u64, InflateError>) {
        let mut out = Vec::new();
        inf.begin_message(limit);
        for p in pieces {
            if inf.push(p, &mut |o: &[u8]| out.extend_from_slice(o)).is_err() {
                break;
            }
        }
        let res = inf.end_message(&mut |o: &[u8]| out.extend_from_slice(o));
        (out, res)
    }

    fn takeover() -> Inflater {
        Inflater::new(InflateParams { context_takeover: true, window_bits: 15 })
    }

    // RFC 7692 section 7.2.3: payloads of the examples (all "Hello").
    const HELLO: &[u8] = &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    const HELLO_AGAIN: &[u8] = &[0xf2, 0x00, 0x11, 0x00, 0x00];
    const STORED: &[u8] = &[0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00];
    const BFINAL: &[u8] = &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    const TWO_BLOCKS: &[u8] = &[0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00];

    #[test]
    fn rfc7692_examples_at_every_split() {
        for payload in [HELLO, STORED, BFINAL, TWO_BLOCKS] {
            for split in 0..=payload.len() {
                let (a, b) = payload.split_at(split);
                let (out, res) = inflate_message(&mut takeover(), &[a, b], u64::MAX);
                assert_eq!((out.as_slice(), res), (&b"Hello"[..], Ok(0)), "{payload:02x?} split {split}");
            }
        }
    }

    #[test]
    fn shared_window_across_messages() {
        // RFC 7692 section 7.2.3.2: the second message is a back-reference into the first.
        let mut inf = takeover();
        assert_eq!(inflate_message(&mut inf, &[HELLO], u64::MAX).0, b"Hello");
        assert_eq!(inflate_message(&mut inf, &[HELLO_AGAIN], u64::MAX), (b"Hello".to_vec(), Ok(0)));
        // After a message whose stream ended with BFINAL, the window still serves the next one.
        let mut inf = takeover();
        assert_eq!(inflate_message(&mut inf, &[BFINAL], u64::MAX).0, b"Hello");
        assert_eq!(inflate_message(&mut inf, &[HELLO_AGAIN], u64::MAX), (b"Hello".to_vec(), Ok(0)));
        // Bytes after the final block are counted, the appended trailer is not.
        let (out, res) = inflate_message(&mut takeover(), &[BFINAL, &[0, 1]], u64::MAX);
        assert_eq!((out.as_slice(), res), (&b"Hello"[..], Ok(2)));
    }

    #[test]
    fn missing_history_is_an_error_not_garbage() {
        // The second message alone, as when the capture started after the first one.
        let (out, res) = inflate_message(&mut takeover(), &[HELLO_AGAIN], u64::MAX);
        assert!(out.len() < 5 && b"Hello".starts_with(&out), "{out:?}");
        assert_eq!(res, Err(InflateError::Invalid));
        let mut inf = takeover();
        inf.lose_history();
        assert_eq!(inflate_message(&mut inf, &[HELLO_AGAIN], u64::MAX).1, Err(InflateError::MissingHistory));
        // Without context takeover every message starts with an empty window.
        let mut inf = Inflater::new(InflateParams { context_takeover: false, window_bits: 15 });
        assert_eq!(inflate_message(&mut inf, &[HELLO], u64::MAX).0, b"Hello");
        assert_eq!(inflate_message(&mut inf, &[HELLO_AGAIN], u64::MAX).1, Err(InflateError::Invalid));
        // An error does not poison the next message.
        assert_eq!(inflate_message(&mut inf, &[HELLO], u64::MAX), (b"Hello".to_vec(), Ok(0)));
    }

    #[test]
    fn output_is_capped_exactly() {
        use flate2::write::DeflateEncoder;
        use std::io::Write;
        // A bomb: 4 MiB of zeros in a few KiB.
        let mut enc = DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![0u8; 4 << 20]).unwrap();
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 8 << 10);
        let mut inf = takeover();
        let (out, res) = inflate_message(&mut inf, &[&bomb], 100_000);
        assert_eq!((out.len(), res), (100_000, Err(InflateError::OverLimit(100_000))));
        // Exactly at the limit is not over it.
        let (out, res) = inflate_message(&mut takeover(), &[HELLO], 5);
        assert_eq!((out.as_slice(), res), (&b"Hello"[..], Ok(0)));
        let (out, res) = inflate_message(&mut takeover(), &[HELLO], 4);
        assert_eq!((out.as_slice(), res), (&b"Hell"[..], Err(InflateError::OverLimit(4))));
    }

    #[test]
    fn long_messages_slide_the_window() {
        use flate2::{Compress, FlushCompress};
        // Several 100 KB messages compressed with one shared context and a sync flush each, the
        // way permessage-deflate senders do; later messages refer back into earlier ones.
        let mut c = Compress::new(flate2::Compression::default(), false);
        let mut inf = takeover();
        let mut seed = 7u32;
        let words: Vec<Vec<u8>> = (0..50).map(|i| format!("word{i} ").into_bytes()).collect();
        for round in 0..4 {
            let mut msg = Vec::new();
            while msg.len() < 100_000 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                msg.extend_from_slice(&words[(seed >> 16) as usize % words.len()]);
            }
            let mut wire = Vec::with_capacity(msg.len() + 1024);
            c.compress_vec(&msg, &mut wire, FlushCompress::Sync).unwrap();
            while wire.len() == wire.capacity() {
                wire.reserve(1024);
                c.compress_vec(&[], &mut wire, FlushCompress::Sync).unwrap();
            }
            assert_eq!(&wire[wire.len() - 4..], &SYNC_TRAILER);
            wire.truncate(wire.len() - 4);
            let pieces: Vec<&[u8]> = wire.chunks(997).collect();
            let (out, res) = inflate_message(&mut inf, &pieces, u64::MAX);
            assert_eq!(res, Ok(0), "round {round}");
            assert!(out == msg, "round {round}");
        }
        assert_eq!(inf.buffered_bytes(), INFLATER_BYTES);
        inf.release();
        assert_eq!(inf.buffered_bytes(), 0);
    }

    #[test]
    fn extension_header_values() {
        assert_eq!(
            parse_extensions("permessage-deflate"),
            Extensions { deflate: Some(DeflateParams::default()), ..Default::default() }
        );
        let e = parse_extensions(
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=10; server_max_window_bits=\"12\"",
        );
        let d = e.deflate.unwrap();
        assert!(d.server_no_context_takeover && !d.client_no_context_takeover);
        assert_eq!((d.client_max_window_bits, d.server_max_window_bits), (10, 12));
        assert!(e.problems.is_empty(), "{:?}", e.problems);
        assert_eq!(
            d.inflate_params(Direction::ServerToClient),
            InflateParams { context_takeover: false, window_bits: 12 }
        );
        assert_eq!(
            d.inflate_params(Direction::ClientToServer),
            InflateParams { context_takeover: true, window_bits: 10 }
        );

        let e = parse_extensions("Permessage-Deflate;Client_No_Context_Takeover , x-custom; a=\"b,c\"");
        assert!(e.deflate.unwrap().client_no_context_takeover);
        assert_eq!(e.others, vec!["x-custom".to_owned()]);

        let e = parse_extensions("permessage-deflate; client_max_window_bits; server_max_window_bits=16; foo; foo");
        assert_eq!(e.deflate.unwrap(), DeflateParams::default());
        assert_eq!(e.problems.len(), 4, "{:?}", e.problems);

        let e = parse_extensions("x-webkit-deflate-frame");
        assert_eq!((e.deflate, e.others.len()), (None, 1));
        assert_eq!(parse_extensions(""), Extensions::default());
        assert_eq!(
            parse_extensions("permessage-deflate, permessage-deflate; server_no_context_takeover").problems.len(),
            1
        );
    }
}
