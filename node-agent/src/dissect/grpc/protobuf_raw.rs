//! Schema-less protobuf decoding, as `protoc --decode_raw` does it: field numbers and wire types,
//! with length-delimited fields shown as nested messages when their bytes parse completely as one
//! (protoc's heuristic), otherwise as strings or bytes.
//!
//! The decision follows protoc (libprotoc 35) exactly, so that [`RawMessage::to_text`] prints what
//! `protoc --decode_raw` prints:
//! - The whole input is parsed by the strict rules of protoc's top-level parser: tags of at most
//!   5 bytes, lengths of at most 5 bytes (below 2^31), groups nested at most
//!   [`MAX_GROUP_DEPTH`] deep; anything else makes the input undecodable ([`RawError`]).
//! - A non-empty length-delimited field is re-parsed as a message by the looser rules protoc uses
//!   for that (tags and lengths of up to 10 bytes, upper bits dropped), with a budget that starts
//!   at [`EMBEDDED_BUDGET`] and drops by one per level of nesting (groups included): at budget 0
//!   a field is a string, and the embedded parse allows groups as deep as the budget. It is a
//!   message only when the parse consumes all its bytes (ending on an end-group tag or a zero tag
//!   does not count).
//!
//! Memory and work stay bounded: the decoded tree borrows its strings from the input; at most
//! [`RawLimits::max_fields`] fields are kept (all levels together; the rest are still parsed, so
//! the message/string decisions do not change, but are left out and `truncated` is set); the
//! text rendering stops at a length limit.
//!
//! # JSON shape ([`RawMessage::to_json`])
//!
//! ```text
//! MESSAGE := {"<field number>": VALUE | [VALUE, VALUE, ...], ...}
//!              a field number seen more than once has an array of its values in wire order
//! VALUE   := 150                                      varint, as an unsigned 64-bit number
//!          | MESSAGE                                  length-delimited that parses as a message,
//!                                                     or a group (start/end group wire types)
//!          | "text"                                   length-delimited: valid UTF-8 without control
//!                                                     characters other than tab, CR and LF
//!          | {"bytes": "<base64>"}                    any other length-delimited
//!          | {"fixed32": 1078530011, "float": 3.1415927}   wire type 5 (float when finite)
//!          | {"fixed64": 4614253070214989087, "double": 3.14}  wire type 1 (double when finite)
//! ```
//! Message objects have only decimal keys, so the objects with a non-numeric key are told apart.
//! Keys come out in the order of serde_json's map (string order), not wire order; the text
//! rendering keeps wire order.

use base64::Engine as _;
use serde_json::{Map, Number, Value};
use std::fmt::Write as _;
use thiserror::Error;

/// Deepest nesting of groups protoc accepts at the top level (its default recursion limit).
pub const MAX_GROUP_DEPTH: u32 = 100;
/// Levels of embedded messages protoc's text printer tries to recognise (its recursion budget
/// for unknown fields).
pub const EMBEDDED_BUDGET: u32 = 10;

/// Bounds of one decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawLimits {
    /// Most fields kept in the decoded tree, all nesting levels together.
    pub max_fields: usize,
    /// Longest text rendering, in bytes.
    pub max_text: usize,
}

impl Default for RawLimits {
    fn default() -> Self {
        RawLimits { max_fields: 20_000, max_text: 1 << 20 }
    }
}

/// Why a message could not be decoded (what protoc reports as "Failed to parse input.").
/// Offsets count from the start of the decoded input.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum RawError {
    #[error("input ends inside a field (at byte {0})")]
    Truncated(usize),
    #[error("tag of more than 5 bytes at byte {0}")]
    TagTooLong(usize),
    #[error("varint of more than 10 bytes at byte {0}")]
    VarintTooLong(usize),
    #[error("zero tag at byte {0}")]
    ZeroTag(usize),
    #[error("field number 0 at byte {0}")]
    FieldNumberZero(usize),
    #[error("invalid wire type {wire_type} at byte {at}")]
    InvalidWireType { wire_type: u8, at: usize },
    #[error("length at byte {at} is {len}, more than the {left} bytes left")]
    LengthPastEnd { at: usize, len: u64, left: usize },
    #[error("length at byte {0} is too large")]
    LengthTooLarge(usize),
    #[error("end of group {number} at byte {at} without its start")]
    UnexpectedEndGroup { number: u32, at: usize },
    #[error("group {0} is not closed")]
    UnclosedGroup(u32),
    #[error("groups nested more than {limit} deep at byte {at}")]
    TooDeep { limit: u32, at: usize },
}

/// A decoded message: its fields in wire order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawMessage<'a> {
    pub fields: Vec<RawField<'a>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RawField<'a> {
    pub number: u32,
    pub value: RawValue<'a>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RawValue<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1, as a little-endian integer.
    Fixed64(u64),
    /// Wire type 5, as a little-endian integer.
    Fixed32(u32),
    /// Wire type 2 whose bytes parse as a message.
    Message(RawMessage<'a>),
    /// Wire types 3 and 4 (start and end group, deprecated).
    Group(RawMessage<'a>),
    /// Wire type 2 whose bytes are not a message (or nested too deep to try).
    Bytes(&'a [u8]),
}

/// The result of [`decode_raw`].
#[derive(Clone, Debug, PartialEq)]
pub struct RawDecoded<'a> {
    pub message: RawMessage<'a>,
    /// Fields past [`RawLimits::max_fields`] were left out.
    pub truncated: bool,
}

/// A text rendering, possibly cut at its limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawText {
    pub text: String,
    /// The text stops at the limit: more fields followed.
    pub truncated: bool,
}

/// Decodes `data` as a protobuf message without a schema.
pub fn decode_raw<'a>(data: &'a [u8], limits: &RawLimits) -> Result<RawDecoded<'a>, RawError> {
    let mut budget = FieldBudget { left: limits.max_fields, truncated: false };
    let mut p = Parser { data, pos: 0, base: 0, rules: Rules::TopLevel, group_limit: MAX_GROUP_DEPTH, depth: 0 };
    let fields = p.fields(EMBEDDED_BUDGET, None, &mut budget)?;
    Ok(RawDecoded { message: RawMessage { fields }, truncated: budget.truncated })
}

/// The two parsers of protoc: the one for the whole input, and the looser one for trying a
/// length-delimited field as an embedded message.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rules {
    TopLevel,
    Embedded,
}

/// Fields that may still be kept.
struct FieldBudget {
    left: usize,
    truncated: bool,
}

impl FieldBudget {
    /// Whether one more field may be kept (noting the truncation when not).
    fn take(&mut self) -> bool {
        if self.left == 0 {
            self.truncated = true;
            return false;
        }
        self.left -= 1;
        true
    }
}

struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
    /// Offset of `data` in the whole input (for error positions).
    base: usize,
    rules: Rules,
    group_limit: u32,
    depth: u32,
}

impl<'a> Parser<'a> {
    /// Parses fields up to the end of the data (`group: None`) or to the end tag of group
    /// `group`. `print_budget` is the embedded-message budget of these fields.
    fn fields(
        &mut self,
        print_budget: u32,
        group: Option<u32>,
        budget: &mut FieldBudget,
    ) -> Result<Vec<RawField<'a>>, RawError> {
        let mut fields = Vec::new();
        loop {
            if self.pos >= self.data.len() {
                return match group {
                    Some(number) => Err(RawError::UnclosedGroup(number)),
                    None => Ok(fields),
                };
            }
            let at = self.at();
            let tag = self.tag()?;
            if tag == 0 {
                return Err(RawError::ZeroTag(at));
            }
            let number = tag >> 3;
            let wire_type = (tag & 7) as u8;
            if wire_type == 4 {
                return match group {
                    Some(open) if open == number => Ok(fields),
                    _ => Err(RawError::UnexpectedEndGroup { number, at }),
                };
            }
            if number == 0 {
                return Err(RawError::FieldNumberZero(at));
            }
            // The field takes its place before its nested fields do.
            let keep = budget.take();
            let value = match wire_type {
                0 => RawValue::Varint(self.varint()?),
                1 => RawValue::Fixed64(u64::from_le_bytes(self.take_array()?)),
                5 => RawValue::Fixed32(u32::from_le_bytes(self.take_array()?)),
                2 => {
                    let len = self.length()?;
                    let payload_at = self.at();
                    let payload = self.take(len)?;
                    embedded(payload, payload_at, print_budget, budget)
                }
                3 => {
                    if self.depth >= self.group_limit {
                        return Err(RawError::TooDeep { limit: self.group_limit, at });
                    }
                    self.depth += 1;
                    let inner = self.fields(print_budget.saturating_sub(1), Some(number), budget)?;
                    self.depth -= 1;
                    RawValue::Group(RawMessage { fields: inner })
                }
                _ => return Err(RawError::InvalidWireType { wire_type, at }),
            };
            if keep {
                fields.push(RawField { number, value });
            }
        }
    }

    fn at(&self) -> usize {
        self.base + self.pos
    }

    /// A varint of at most `max_bytes` bytes; bits past 64 are dropped. `Err(None)` when it is
    /// longer.
    fn raw_varint(&mut self, max_bytes: usize) -> Result<u64, Option<RawError>> {
        let at = self.at();
        let mut value = 0u64;
        for i in 0..max_bytes {
            let Some(&b) = self.data.get(self.pos) else {
                return Err(Some(RawError::Truncated(at)));
            };
            self.pos += 1;
            if let Some(bits) = u64::from(b & 0x7f).checked_shl(7 * i as u32) {
                value |= bits;
            }
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(None)
    }

    fn varint(&mut self) -> Result<u64, RawError> {
        let at = self.at();
        self.raw_varint(10).map_err(|e| e.unwrap_or(RawError::VarintTooLong(at)))
    }

    /// A tag, truncated to 32 bits like protoc does.
    fn tag(&mut self) -> Result<u32, RawError> {
        let at = self.at();
        let max = if self.rules == Rules::TopLevel { 5 } else { 10 };
        match self.raw_varint(max) {
            Ok(v) => Ok(v as u32),
            Err(Some(e)) => Err(e),
            Err(None) if max == 5 => Err(RawError::TagTooLong(at)),
            Err(None) => Err(RawError::VarintTooLong(at)),
        }
    }

    /// The length of a length-delimited field.
    fn length(&mut self) -> Result<usize, RawError> {
        let at = self.at();
        let len = match self.rules {
            // At most 5 bytes, and the fifth below 8 (so below 2^31).
            Rules::TopLevel => match self.raw_varint(5) {
                Ok(v) if v < 1 << 31 => v,
                Ok(_) | Err(None) => return Err(RawError::LengthTooLarge(at)),
                Err(Some(e)) => return Err(e),
            },
            // Up to 10 bytes truncated to 32 bits, then taken as a signed 32-bit size.
            Rules::Embedded => match self.varint()? as u32 {
                v if v < 1 << 31 => u64::from(v),
                _ => return Err(RawError::LengthTooLarge(at)),
            },
        };
        let left = self.data.len() - self.pos;
        match usize::try_from(len) {
            Ok(n) if n <= left => Ok(n),
            _ => Err(RawError::LengthPastEnd { at, len, left }),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], RawError> {
        let at = self.at();
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len()).ok_or(RawError::Truncated(at))?;
        let bytes = self.data.get(self.pos..end).ok_or(RawError::Truncated(at))?;
        self.pos = end;
        Ok(bytes)
    }

    fn take_array<const N: usize>(&mut self) -> Result<[u8; N], RawError> {
        let at = self.at();
        self.take(N)?.try_into().map_err(|_| RawError::Truncated(at))
    }
}

/// A length-delimited field: a message when its bytes parse completely as one within the budget.
fn embedded<'a>(payload: &'a [u8], base: usize, print_budget: u32, budget: &mut FieldBudget) -> RawValue<'a> {
    if payload.is_empty() || print_budget == 0 {
        return RawValue::Bytes(payload);
    }
    let saved = (budget.left, budget.truncated);
    let mut p = Parser { data: payload, pos: 0, base, rules: Rules::Embedded, group_limit: print_budget, depth: 0 };
    match p.fields(print_budget - 1, None, budget) {
        Ok(fields) => RawValue::Message(RawMessage { fields }),
        Err(_) => {
            // What the failed attempt kept is dropped: give its fields back.
            (budget.left, budget.truncated) = saved;
            RawValue::Bytes(payload)
        }
    }
}

impl RawMessage<'_> {
    /// The JSON form described in the module documentation.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        for field in &self.fields {
            let value = field.value.to_json();
            match map.entry(field.number.to_string()) {
                serde_json::map::Entry::Vacant(e) => {
                    e.insert(value);
                }
                // A VALUE is never an array, so an array here holds repeated values.
                serde_json::map::Entry::Occupied(mut e) => match e.get_mut() {
                    Value::Array(values) => values.push(value),
                    first => {
                        let first = first.take();
                        e.insert(Value::Array(vec![first, value]));
                    }
                },
            }
        }
        Value::Object(map)
    }

    /// The text `protoc --decode_raw` prints for this message, cut at `max_len` bytes.
    pub fn to_text(&self, max_len: usize) -> RawText {
        let mut w = TextWriter { out: String::new(), max_len, truncated: false };
        w.fields(&self.fields, 0);
        RawText { text: w.out, truncated: w.truncated }
    }
}

impl RawValue<'_> {
    fn to_json(&self) -> Value {
        match self {
            RawValue::Varint(v) => Value::from(*v),
            RawValue::Fixed32(v) => {
                let mut m = Map::new();
                m.insert("fixed32".into(), Value::from(*v));
                if let Some(f) = shortest_f32(f32::from_bits(*v)) {
                    m.insert("float".into(), Value::Number(f));
                }
                Value::Object(m)
            }
            RawValue::Fixed64(v) => {
                let mut m = Map::new();
                m.insert("fixed64".into(), Value::from(*v));
                if let Some(f) = Number::from_f64(f64::from_bits(*v)) {
                    m.insert("double".into(), Value::Number(f));
                }
                Value::Object(m)
            }
            RawValue::Message(m) | RawValue::Group(m) => m.to_json(),
            RawValue::Bytes(b) => match std::str::from_utf8(b) {
                Ok(s) if is_displayable(s) => Value::String(s.to_owned()),
                _ => {
                    let mut m = Map::new();
                    m.insert("bytes".into(), Value::String(base64::engine::general_purpose::STANDARD.encode(b)));
                    Value::Object(m)
                }
            },
        }
    }
}

/// Text without control characters other than tab, CR and LF.
fn is_displayable(s: &str) -> bool {
    s.chars().all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
}

/// A float as the JSON number of its shortest decimal form (1.1, not 1.100000023841858).
fn shortest_f32(f: f32) -> Option<Number> {
    if !f.is_finite() {
        return None;
    }
    f.to_string().parse::<f64>().ok().and_then(Number::from_f64)
}

/// Builds protoc's text format, stopping at a length limit.
struct TextWriter {
    out: String,
    max_len: usize,
    truncated: bool,
}

impl TextWriter {
    fn fields(&mut self, fields: &[RawField<'_>], indent: usize) {
        for field in fields {
            if self.truncated {
                return;
            }
            let line_start = self.out.len();
            self.out.extend(std::iter::repeat_n(' ', indent));
            let n = field.number;
            // Writing to a String cannot fail.
            let _ = match &field.value {
                RawValue::Varint(v) => writeln!(self.out, "{n}: {v}"),
                RawValue::Fixed32(v) => writeln!(self.out, "{n}: 0x{v:08x}"),
                RawValue::Fixed64(v) => writeln!(self.out, "{n}: 0x{v:016x}"),
                RawValue::Bytes(b) => {
                    let _ = write!(self.out, "{n}: \"");
                    c_escape(b, &mut self.out, line_start.saturating_add(self.max_len).saturating_add(1));
                    writeln!(self.out, "\"")
                }
                RawValue::Message(m) | RawValue::Group(m) => {
                    let _ = writeln!(self.out, "{n} {{");
                    self.check();
                    self.fields(&m.fields, indent + 2);
                    if self.truncated {
                        return;
                    }
                    self.out.extend(std::iter::repeat_n(' ', indent));
                    writeln!(self.out, "}}")
                }
            };
            self.check();
        }
    }

    /// Cuts the text at the limit (all of it is ASCII).
    fn check(&mut self) {
        if self.out.len() > self.max_len {
            self.out.truncate(self.max_len);
            self.truncated = true;
        }
    }
}

/// protoc's `CEscape`: `\n \r \t \" \' \\` escaped, other bytes outside printable ASCII as three
/// octal digits. Stops once `out` is `stop_at` bytes long (the caller cuts the text anyway).
fn c_escape(bytes: &[u8], out: &mut String, stop_at: usize) {
    for &b in bytes {
        if out.len() >= stop_at {
            return;
        }
        match b {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'"' => out.push_str("\\\""),
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(data: &[u8]) -> Result<String, RawError> {
        decode_raw(data, &RawLimits::default()).map(|d| d.message.to_text(usize::MAX).text)
    }

    fn json_of(data: &[u8]) -> Value {
        decode_raw(data, &RawLimits::default()).expect("decodes").message.to_json()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
    }

    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        hex: String,
        protoc: Option<String>,
    }

    /// Every message of the fixture renders exactly as the real `protoc --decode_raw` printed it,
    /// and fails exactly where protoc failed ("Failed to parse input.").
    #[test]
    fn text_equals_protoc_decode_raw() {
        let cases: Vec<Case> = serde_json::from_str(include_str!("testdata/decode_raw.json")).expect("fixture");
        assert!(cases.len() > 500);
        let mut failures = Vec::new();
        for c in &cases {
            let ours = text(&unhex(&c.hex));
            match (&ours, &c.protoc) {
                (Ok(t), Some(p)) if t == p => {}
                (Err(_), None) => {}
                _ => failures.push(format!("{}: ours {:?}\nprotoc {:?}", c.name, ours, c.protoc)),
            }
        }
        assert!(failures.is_empty(), "{} of {} differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
        // The fixture exercises both outcomes and every shape of value.
        let decoded = cases.iter().filter(|c| c.protoc.is_some()).count();
        assert!(decoded > 200 && decoded < cases.len() - 100, "{decoded}");
        let all = cases.iter().filter_map(|c| c.protoc.as_deref()).collect::<String>();
        for needle in ["{\n", ": 0x", ": \"\\", ": 18446744073709551615"] {
            assert!(all.contains(needle), "no {needle:?} in the fixture");
        }
    }

    #[test]
    fn json_shape() {
        // 1: 150, 2: {1: "abc"}, 3: "x", 3: "y", 4: fixed32 1.0f, 5: fixed64 -2.5, 6: bytes,
        // 7: group {8: 1}
        let mut m = vec![0x08, 0x96, 0x01, 0x12, 0x05, 0x0a, 0x03, b'a', b'b', b'c'];
        m.extend_from_slice(b"\x1a\x01x\x1a\x01y");
        m.push(0x25);
        m.extend_from_slice(&1.0f32.to_le_bytes());
        m.push(0x29);
        m.extend_from_slice(&(-2.5f64).to_le_bytes());
        m.extend_from_slice(b"\x32\x02\xff\x00");
        m.extend_from_slice(b"\x3b\x40\x01\x3c");
        assert_eq!(
            json_of(&m),
            json!({
                "1": 150,
                "2": {"1": "abc"},
                "3": ["x", "y"],
                "4": {"fixed32": 0x3f80_0000u32, "float": 1.0},
                "5": {"fixed64": (-2.5f64).to_bits(), "double": -2.5},
                "6": {"bytes": "/wA="},
                "7": {"8": 1},
            })
        );
        // Floats keep their shortest form; NaN has no JSON number.
        let mut m = vec![0x0d];
        m.extend_from_slice(&1.1f32.to_le_bytes());
        m.push(0x0d);
        m.extend_from_slice(&f32::NAN.to_le_bytes());
        assert_eq!(
            json_of(&m),
            json!({"1": [{"fixed32": 1.1f32.to_bits(), "float": 1.1}, {"fixed32": f32::NAN.to_bits()}]})
        );
        // Control characters make a string bytes; tab, CR, LF and non-ASCII do not.
        assert_eq!(
            json_of(b"\x0a\x04a\tb\n\x12\x02\x01a\x1a\x02\xc3\xa9"),
            json!({"1": "a\tb\n", "2": {"bytes": "AWE="}, "3": "é"})
        );
    }

    #[test]
    fn field_limit_truncates_without_changing_decisions() {
        // Field 1 holds a message of three varints; then three top-level varints.
        let m = b"\x0a\x06\x08\x01\x10\x02\x18\x03\x10\x01\x10\x02\x10\x03";
        let full = decode_raw(m, &RawLimits::default()).expect("decodes");
        assert!(!full.truncated);
        assert_eq!(full.message.to_json(), json!({"1": {"1": 1, "2": 2, "3": 3}, "2": [1, 2, 3]}));
        let cut = decode_raw(m, &RawLimits { max_fields: 3, max_text: 100 }).expect("decodes");
        assert!(cut.truncated);
        // Field 1 and two of its fields are kept; the rest is left out, but field 1 is still
        // recognised as a message.
        assert_eq!(cut.message.to_json(), json!({"1": {"1": 1, "2": 2}}));
        let zero = decode_raw(m, &RawLimits { max_fields: 0, max_text: 100 }).expect("decodes");
        assert!(zero.truncated && zero.message.fields.is_empty());
        // A failed embedded attempt gives its fields back: "\x08\x01\x0c" is no message.
        let d = decode_raw(b"\x0a\x03\x08\x01\x0c\x10\x05", &RawLimits { max_fields: 2, max_text: 100 }).expect("ok");
        assert_eq!((d.message.to_json(), d.truncated), (json!({"1": {"bytes": "CAEM"}, "2": 5}), false));
    }

    #[test]
    fn text_limit() {
        let m = b"\x0a\x05hello\x10\x01";
        let full = decode_raw(m, &RawLimits::default()).expect("decodes").message;
        assert_eq!(full.to_text(100), RawText { text: "1: \"hello\"\n2: 1\n".into(), truncated: false });
        assert_eq!(full.to_text(16), RawText { text: "1: \"hello\"\n2: 1\n".into(), truncated: false });
        assert_eq!(full.to_text(15), RawText { text: "1: \"hello\"\n2: 1".into(), truncated: true });
        assert_eq!(full.to_text(5), RawText { text: "1: \"h".into(), truncated: true });
        // A long string stops being escaped near the limit.
        let long = [&b"\x0a\x80\x08"[..], &[0u8; 1024]].concat();
        let t = decode_raw(&long, &RawLimits::default()).expect("decodes").message.to_text(64);
        assert_eq!((t.text.len(), t.truncated), (64, true));
    }

    #[test]
    fn errors_say_what_and_where() {
        let e = |d: &[u8]| decode_raw(d, &RawLimits::default()).err();
        assert_eq!(e(b"\x08\x01\x00"), Some(RawError::ZeroTag(2)));
        assert_eq!(e(b"\x08\x96"), Some(RawError::Truncated(1)));
        assert_eq!(e(b"\x0e\x01"), Some(RawError::InvalidWireType { wire_type: 6, at: 0 }));
        assert_eq!(e(b"\x12\x05abc"), Some(RawError::LengthPastEnd { at: 1, len: 5, left: 3 }));
        assert_eq!(e(b"\x0b\x14"), Some(RawError::UnexpectedEndGroup { number: 2, at: 1 }));
        assert_eq!(e(b"\x0b"), Some(RawError::UnclosedGroup(1)));
        assert_eq!(e(b"\x88\x80\x80\x80\x80\x00"), Some(RawError::TagTooLong(0)));
        assert_eq!(e(b"\x02\x00"), Some(RawError::FieldNumberZero(0)));
        let deep = [vec![0x0b; 101], vec![0x0c; 101]].concat();
        assert_eq!(e(&deep), Some(RawError::TooDeep { limit: 100, at: 100 }));
        assert_eq!(e(b"\x09\x01"), Some(RawError::Truncated(1)));
    }

    /// Hostile input of the largest message size stays bounded in fields and text.
    #[test]
    fn hostile_sizes_stay_bounded() {
        let limits = RawLimits { max_fields: 1000, max_text: 10_000 };
        // A million empty groups in a row, and 10 levels of messages full of varints.
        let groups = b"\x0b\x0c".repeat(1 << 19);
        let d = decode_raw(&groups, &limits).expect("decodes");
        assert!(d.truncated && d.message.fields.len() == 1000);
        let mut m = b"\x08\x01".repeat(1 << 16);
        for _ in 0..10 {
            let mut outer = vec![0x0a];
            let mut len = m.len();
            while len >= 0x80 {
                outer.push((len as u8) | 0x80);
                len >>= 7;
            }
            outer.push(len as u8);
            outer.extend_from_slice(&m);
            m = outer;
        }
        let d = decode_raw(&m, &limits).expect("decodes");
        assert!(d.truncated);
        let t = d.message.to_text(limits.max_text);
        assert!(t.truncated && t.text.len() == limits.max_text);
    }
}
