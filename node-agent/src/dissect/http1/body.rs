//! Message bodies: bounded capture of the (de-chunked) wire bytes, content-coding decoding for
//! display (gzip, deflate as zlib or raw, br; output bounded, so a decompression bomb costs at most
//! the limit), and the body's JSON object.

use super::parser::{header, Header};
use base64::Engine as _;
use serde_json::{Map, Value};
use std::io::Read;
use thiserror::Error;

/// The body bytes kept for one message: a prefix of the body, at most `limit` bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BodyCapture {
    /// Body bytes on the wire after de-chunking, lost ones included.
    size: u64,
    kept: Vec<u8>,
    limit: usize,
    /// Bytes after `kept` were not kept: the limit was reached.
    over_limit: bool,
    /// Bytes after `kept` were not kept: some were lost to a capture gap.
    gap: bool,
}

impl BodyCapture {
    pub(crate) fn new(limit: usize) -> Self {
        BodyCapture { size: 0, kept: Vec::new(), limit, over_limit: false, gap: false }
    }

    pub(crate) fn push(&mut self, data: &[u8]) {
        self.size += data.len() as u64;
        if self.over_limit || self.gap {
            return;
        }
        let room = self.limit - self.kept.len();
        if data.len() <= room {
            self.kept.extend_from_slice(data);
        } else {
            self.kept.extend_from_slice(&data[..room]);
            self.over_limit = true;
        }
    }

    /// `len` body bytes were lost: they count in the size; nothing after them is kept.
    pub(crate) fn lose(&mut self, len: u64) {
        self.size = self.size.saturating_add(len);
        self.gap = true;
    }

    #[cfg(test)]
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    pub(crate) fn buffered(&self) -> usize {
        self.kept.len()
    }
}

/// Why a body could not be shown decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("unsupported content-encoding {0:?}")]
    Unsupported(String),
    #[error("{coding} data is corrupt: {detail}")]
    Corrupt { coding: String, detail: String },
}

/// The body object of the entry JSON; notes about it go to `notes` (`what` is "request" or
/// "response").
pub(crate) fn body_json(body: BodyCapture, headers: &[Header], what: &str, notes: &mut Vec<String>) -> Value {
    let encoding = header(headers, "content-encoding").map(str::trim).filter(|e| !e.is_empty());
    let mime = header(headers, "content-type").and_then(mime_of);
    let limit = body.limit;
    let mut truncated = body.over_limit || body.gap;
    if body.over_limit {
        notes.push(format!("{what} body truncated at {limit} bytes"));
    }
    let complete = !truncated;
    let bytes = match encoding {
        Some(codings) if !body.kept.is_empty() => match decode(&body.kept, codings, limit, complete) {
            Ok(Decoded { bytes, cut }) => {
                if cut && !body.over_limit {
                    truncated = true;
                    notes.push(format!("{what} body truncated at {limit} bytes after decoding"));
                }
                bytes
            }
            Err(e) => {
                notes.push(format!("{what} body shown as sent: {e}"));
                body.kept
            }
        },
        _ => body.kept,
    };
    // Descending key order: see `json`.
    let mut m = Map::new();
    m.insert("truncated".into(), Value::Bool(truncated));
    let base64 = match String::from_utf8(bytes) {
        Ok(text) => {
            m.insert("text".into(), Value::String(text));
            None
        }
        Err(e) => Some(base64::engine::general_purpose::STANDARD.encode(e.as_bytes())),
    };
    m.insert("size".into(), Value::from(body.size));
    m.insert("mime".into(), mime.map_or(Value::Null, Value::String));
    let encoding = encoding.map_or(Value::Null, |e| Value::String(e.to_owned()));
    m.insert("encoding".into(), encoding);
    if let Some(b) = base64 {
        m.insert("base64".into(), Value::String(b));
    }
    Value::Object(m)
}

/// The media type of a Content-Type value: parameters dropped, lowercased; None when empty.
pub(crate) fn mime_of(content_type: &str) -> Option<String> {
    let t = content_type.split(';').next().unwrap_or_default().trim();
    (!t.is_empty()).then(|| t.to_ascii_lowercase())
}

pub(crate) struct Decoded {
    pub bytes: Vec<u8>,
    /// The output was cut at the limit.
    pub cut: bool,
}

/// Undoes the content codings listed in `codings` (applied in order by the sender, so undone in
/// reverse). `complete` says whether `data` is the whole body: a stream that ends early is then an
/// error, otherwise the part decoded so far is the answer.
pub(crate) fn decode(data: &[u8], codings: &str, limit: usize, complete: bool) -> Result<Decoded, DecodeError> {
    let mut current: Option<Vec<u8>> = None;
    let mut cut = false;
    for coding in codings.rsplit(',').map(str::trim).filter(|c| !c.is_empty()) {
        let coding = coding.to_ascii_lowercase();
        let input = current.as_deref().unwrap_or(data);
        let (out, c) = match coding.as_str() {
            "identity" => continue,
            "gzip" | "x-gzip" => bounded(flate2::read::MultiGzDecoder::new(input), limit, &coding, complete)?,
            "deflate" if is_zlib(input) => bounded(flate2::read::ZlibDecoder::new(input), limit, &coding, complete)?,
            "deflate" => bounded(flate2::read::DeflateDecoder::new(input), limit, &coding, complete)?,
            "br" => bounded(brotli_decompressor::Decompressor::new(input, 4096), limit, &coding, complete)?,
            _ => return Err(DecodeError::Unsupported(coding)),
        };
        cut |= c;
        // Once an outer layer was cut, the inner ones see a partial stream.
        current = Some(out);
    }
    Ok(Decoded { bytes: current.unwrap_or_else(|| data.to_vec()), cut })
}

/// A zlib stream header (RFC 1950): deflate method and a valid check value.
fn is_zlib(data: &[u8]) -> bool {
    match data {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

/// Reads at most `limit` bytes of decoded output.
fn bounded(reader: impl Read, limit: usize, coding: &str, complete: bool) -> Result<(Vec<u8>, bool), DecodeError> {
    let mut out = Vec::new();
    let res = reader.take(limit as u64 + 1).read_to_end(&mut out);
    let cut = out.len() > limit;
    out.truncate(limit);
    match res {
        Ok(_) => Ok((out, cut)),
        // A body cut short (capture limit, gap) ends its stream early: show what decoded.
        Err(_) if !complete && !out.is_empty() => Ok((out, true)),
        Err(e) => Err(DecodeError::Corrupt { coding: coding.to_owned(), detail: e.to_string() }),
    }
}

/// Encoders and samples for the tests of this module and of the session.
#[cfg(test)]
pub(crate) mod tests_support {
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::Compression;
    use std::io::Write;

    pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).expect("write to a Vec");
        e.finish().expect("finish to a Vec")
    }

    pub(crate) fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).expect("write to a Vec");
        e.finish().expect("finish to a Vec")
    }

    pub(crate) fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).expect("write to a Vec");
        e.finish().expect("finish to a Vec")
    }

    /// `brotli.compress(b"hello brotli world, hello brotli world")` made with Python's `brotli`
    /// 1.2 (there is no brotli encoder among the Rust dependencies).
    pub(crate) const BR_HELLO: &[u8] = b"\x1b\x25\x00\xf8\x1d\xa9\x53\x9f\xbb\x70\x2d\x56\x86\x26\x27\x41\xd8\xe8\x92\x2d\xed\xad\x94\x19\xa8\x46\x78\xa9\x99\xf1\xab\x1d\x1c";
    pub(crate) const BR_HELLO_TEXT: &str = "hello brotli world, hello brotli world";
}

#[cfg(test)]
mod tests {
    use super::tests_support::*;
    use super::*;

    fn hs(pairs: &[(&str, &str)]) -> Vec<Header> {
        pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    fn capture(data: &[u8], limit: usize) -> BodyCapture {
        let mut b = BodyCapture::new(limit);
        b.push(data);
        b
    }

    #[test]
    fn decodes_each_coding_and_chains() {
        let text = b"The quick brown fox jumps over the lazy dog. ".repeat(20);
        for (name, enc) in [("gzip", gzip(&text)), ("deflate", zlib(&text)), ("deflate", raw_deflate(&text))] {
            let d = decode(&enc, name, 1 << 20, true).expect(name);
            assert_eq!((d.bytes.as_slice(), d.cut), (text.as_slice(), false), "{name}");
        }
        let d = decode(BR_HELLO, "br", 1 << 20, true).expect("br");
        assert_eq!(d.bytes, BR_HELLO_TEXT.as_bytes());
        // Sender applied deflate then gzip: undo gzip first.
        let d = decode(&gzip(&zlib(&text)), "deflate, GZIP", 1 << 20, true).expect("chain");
        assert_eq!(d.bytes, text);
        assert_eq!(decode(b"abc", "identity", 10, true).map(|d| d.bytes), Ok(b"abc".to_vec()));
        assert_eq!(decode(b"abc", "zstd", 10, true).err(), Some(DecodeError::Unsupported("zstd".into())));
        assert!(matches!(decode(b"not gzip", "gzip", 10, true), Err(DecodeError::Corrupt { .. })));
    }

    #[test]
    fn decompression_bomb_is_bounded() {
        let zeros = vec![0u8; 50 << 20];
        let bomb = gzip(&zeros);
        assert!(bomb.len() < 100_000, "the bomb is small on the wire: {}", bomb.len());
        let d = decode(&bomb, "gzip", 1000, true).expect("bomb decodes");
        assert_eq!((d.bytes.len(), d.cut), (1000, true));
    }

    #[test]
    fn body_json_text_base64_mime_and_notes() {
        let mut notes = Vec::new();
        let v = body_json(
            capture(b"{\"a\":1}", 100),
            &hs(&[("Content-Type", "Application/JSON; charset=utf-8")]),
            "response",
            &mut notes,
        );
        assert_eq!(
            v,
            serde_json::json!({"size": 7, "mime": "application/json", "encoding": null, "text": "{\"a\":1}", "truncated": false})
        );
        let v = body_json(capture(&[0xff, 0x00, 0x01], 100), &[], "response", &mut notes);
        assert_eq!(
            v,
            serde_json::json!({"size": 3, "mime": null, "encoding": null, "base64": "/wAB", "truncated": false})
        );
        let v =
            body_json(capture(&gzip(b"hi there"), 100), &hs(&[("Content-Encoding", "gzip")]), "response", &mut notes);
        assert_eq!(v["text"], "hi there");
        assert_eq!(v["encoding"], "gzip");
        assert_eq!(v["size"], gzip(b"hi there").len());
        assert!(notes.is_empty(), "{notes:?}");
        let v = body_json(capture(b"abcdef", 4), &[], "request", &mut notes);
        assert_eq!(
            v,
            serde_json::json!({"size": 6, "mime": null, "encoding": null, "text": "abcd", "truncated": true})
        );
        assert_eq!(notes, ["request body truncated at 4 bytes"]);
    }

    #[test]
    fn truncated_compressed_body_shows_its_decoded_prefix() {
        let text: Vec<u8> = (0..20_000u32).flat_map(|i| i.to_string().into_bytes()).collect();
        let enc = gzip(&text);
        let mut notes = Vec::new();
        let v = body_json(capture(&enc, enc.len() / 2), &hs(&[("Content-Encoding", "gzip")]), "response", &mut notes);
        let shown = v["text"].as_str().expect("text");
        assert!(!shown.is_empty() && text.starts_with(shown.as_bytes()), "a prefix of the original");
        assert_eq!(v["truncated"], true);
        assert_eq!(notes, [format!("response body truncated at {} bytes", enc.len() / 2)]);
    }

    #[test]
    fn corrupt_coding_is_shown_as_sent_with_a_note() {
        let mut notes = Vec::new();
        let v = body_json(capture(b"plain", 100), &hs(&[("Content-Encoding", "br")]), "response", &mut notes);
        assert_eq!(v["text"], "plain");
        assert_eq!(notes.len(), 1);
        assert!(notes[0].starts_with("response body shown as sent: br data is corrupt"), "{notes:?}");
    }

    #[test]
    fn lost_bytes_count_in_size_and_stop_capture() {
        let mut b = BodyCapture::new(100);
        b.push(b"ab");
        b.lose(10);
        b.push(b"cd");
        assert_eq!((b.size(), b.buffered()), (14, 2));
        let v = body_json(b, &[], "request", &mut Vec::new());
        assert_eq!((v["text"].as_str(), v["truncated"].as_bool()), (Some("ab"), Some(true)));
    }
}
