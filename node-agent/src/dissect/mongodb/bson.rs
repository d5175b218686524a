//! A small, bounded BSON reader (bsonspec.org 1.1): documents are read in place (zero-copy
//! element iteration) and turned into MongoDB Relaxed Extended JSON v2 under [`Limits`], so a
//! hostile or huge document costs bounded time and memory. Written here rather than taken from the
//! `bson` crate: the dissector needs partial documents (a message cut by the frame limit shows
//! its first fields), per-entry budgets and zero-copy lookups of a few fields, none of which the
//! crate's owned `Document` gives without decoding everything first.

use serde_json::{Map, Number, Value};
use std::fmt::Write as _;
use thiserror::Error;

/// Why BSON bytes could not be read (where: the byte offset within the document).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BsonError {
    #[error("BSON document length {len} at offset {at} is impossible here")]
    BadLength { at: usize, len: i64 },
    #[error("BSON document truncated at offset {at}")]
    Truncated { at: usize },
    #[error("BSON element type 0x{kind:02x} unknown at offset {at}")]
    UnknownType { at: usize, kind: u8 },
    #[error("BSON string at offset {at} is not valid")]
    BadString { at: usize },
    #[error("BSON document at offset {at} does not end with a zero byte")]
    BadTerminator { at: usize },
}

/// A BSON document: its bytes, length prefix and terminator included (or, for a document cut by
/// a frame limit, the bytes that arrived).
#[derive(Clone, Copy, Debug)]
pub struct Doc<'a> {
    bytes: &'a [u8],
    /// The bytes were cut: iteration ends quietly where they end.
    partial: bool,
}

/// One element's value, read in place.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Elem<'a> {
    Double(f64),
    String(&'a str),
    Document(&'a [u8]),
    Array(&'a [u8]),
    Binary { subtype: u8, data: &'a [u8] },
    Undefined,
    ObjectId(&'a [u8]),
    Bool(bool),
    DateTime(i64),
    Null,
    Regex { pattern: &'a str, options: &'a str },
    DbPointer { ns: &'a str, id: &'a [u8] },
    JavaScript(&'a str),
    Symbol(&'a str),
    JavaScriptWithScope { code: &'a str, scope: &'a [u8] },
    Int32(i32),
    Timestamp { t: u32, i: u32 },
    Int64(i64),
    Decimal128(&'a [u8]),
    MinKey,
    MaxKey,
}

fn le_i32(b: &[u8], at: usize) -> Option<i32> {
    b.get(at..at + 4).map(|s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn le_u64(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

/// The length a document at `at` declares, when it is possible within `bytes` (5 up to the rest).
pub fn declared_len(bytes: &[u8], at: usize) -> Result<usize, BsonError> {
    let len = le_i32(bytes, at).ok_or(BsonError::Truncated { at })?;
    let rest = bytes.len().saturating_sub(at);
    if len < 5 || len as usize > rest {
        return Err(BsonError::BadLength { at, len: len as i64 });
    }
    Ok(len as usize)
}

/// A C string from `at`: its text and the offset after its terminator.
fn cstring(b: &[u8], at: usize) -> Result<(&str, usize), BsonError> {
    let rest = b.get(at..).ok_or(BsonError::Truncated { at })?;
    let end = rest.iter().position(|&c| c == 0).ok_or(BsonError::Truncated { at })?;
    let s = std::str::from_utf8(&rest[..end]).map_err(|_| BsonError::BadString { at })?;
    Ok((s, at + end + 1))
}

/// A length-prefixed BSON string from `at`.
fn string(b: &[u8], at: usize) -> Result<(&str, usize), BsonError> {
    let len = le_i32(b, at).ok_or(BsonError::Truncated { at })?;
    if len < 1 {
        return Err(BsonError::BadString { at });
    }
    let end = at + 4 + len as usize;
    let raw = b.get(at + 4..end).ok_or(BsonError::Truncated { at })?;
    let (text, nul) = raw.split_at(raw.len() - 1);
    if nul != [0] {
        return Err(BsonError::BadString { at });
    }
    let s = std::str::from_utf8(text).map_err(|_| BsonError::BadString { at })?;
    Ok((s, end))
}

impl<'a> Doc<'a> {
    /// A whole document at the start of `bytes` (which may hold more after it).
    pub fn parse(bytes: &'a [u8]) -> Result<(Doc<'a>, usize), BsonError> {
        let len = declared_len(bytes, 0)?;
        let doc = &bytes[..len];
        if doc[len - 1] != 0 {
            return Err(BsonError::BadTerminator { at: len - 1 });
        }
        Ok((Doc { bytes: doc, partial: false }, len))
    }

    /// The document whose first bytes are `bytes` (it may declare more than there is): reads
    /// what arrived.
    pub fn partial(bytes: &'a [u8]) -> Doc<'a> {
        match Doc::parse(bytes) {
            Ok((doc, _)) => doc,
            Err(_) => Doc { bytes, partial: true },
        }
    }

    pub fn is_partial(&self) -> bool {
        self.partial
    }

    pub fn iter(&self) -> Elems<'a> {
        let end = if self.partial { self.bytes.len() } else { self.bytes.len().saturating_sub(1) };
        Elems { bytes: self.bytes, at: 4, end, partial: self.partial, failed: false }
    }

    /// The first element's key (a command's name).
    pub fn first_key(&self) -> Option<&'a str> {
        self.iter().next().and_then(Result::ok).map(|(k, _)| k)
    }

    /// The value of the first element named `key`.
    pub fn get(&self, key: &str) -> Option<Elem<'a>> {
        self.iter().map_while(Result::ok).find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    pub fn get_str(&self, key: &str) -> Option<&'a str> {
        match self.get(key)? {
            Elem::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn get_doc(&self, key: &str) -> Option<Doc<'a>> {
        match self.get(key)? {
            Elem::Document(b) | Elem::Array(b) => Some(Doc { bytes: b, partial: false }),
            _ => None,
        }
    }

    /// A number of any BSON numeric type, as f64.
    pub fn get_number(&self, key: &str) -> Option<f64> {
        self.get(key)?.as_f64()
    }
}

impl Elem<'_> {
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Elem::Double(d) => Some(d),
            Elem::Int32(i) => Some(i as f64),
            Elem::Int64(i) => Some(i as f64),
            Elem::Bool(b) => Some(if b { 1.0 } else { 0.0 }),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Elem::Int32(i) => Some(i as i64),
            Elem::Int64(i) => Some(i),
            Elem::Double(d) if d.fract() == 0.0 && d.abs() < 9.0e15 => Some(d as i64),
            _ => None,
        }
    }
}

/// The elements of a document, in order. Stops at the first malformed element (yielding its error).
pub struct Elems<'a> {
    bytes: &'a [u8],
    at: usize,
    end: usize,
    partial: bool,
    failed: bool,
}

impl<'a> Iterator for Elems<'a> {
    type Item = Result<(&'a str, Elem<'a>), BsonError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.end {
            return None;
        }
        match self.element() {
            Ok(item) => Some(Ok(item)),
            // A cut document ends where its bytes end, without complaint.
            Err(BsonError::Truncated { .. }) if self.partial => {
                self.failed = true;
                None
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

impl<'a> Elems<'a> {
    fn element(&mut self) -> Result<(&'a str, Elem<'a>), BsonError> {
        let b = self.bytes;
        let at = self.at;
        let kind = *b.get(at).ok_or(BsonError::Truncated { at })?;
        let (key, v) = cstring(b, at + 1)?;
        let truncated = BsonError::Truncated { at: v };
        let fixed = |n: usize| b.get(v..v + n).ok_or(BsonError::Truncated { at: v });
        let (elem, next) = match kind {
            0x01 => (Elem::Double(f64::from_bits(le_u64(b, v).ok_or(truncated)?)), v + 8),
            0x02 => {
                let (s, n) = string(b, v)?;
                (Elem::String(s), n)
            }
            0x03 | 0x04 => {
                let len = le_i32(b, v).ok_or(truncated)?;
                if len < 5 {
                    return Err(BsonError::BadLength { at: v, len: len as i64 });
                }
                let d = b.get(v..v + len as usize).ok_or(BsonError::Truncated { at: v })?;
                if d.last() != Some(&0) {
                    return Err(BsonError::BadTerminator { at: v + len as usize - 1 });
                }
                (if kind == 0x03 { Elem::Document(d) } else { Elem::Array(d) }, v + len as usize)
            }
            0x05 => {
                let len = le_i32(b, v).ok_or(truncated)?;
                if len < 0 {
                    return Err(BsonError::BadLength { at: v, len: len as i64 });
                }
                let subtype = *b.get(v + 4).ok_or(BsonError::Truncated { at: v })?;
                let data = b.get(v + 5..v + 5 + len as usize).ok_or(BsonError::Truncated { at: v })?;
                (Elem::Binary { subtype, data }, v + 5 + len as usize)
            }
            0x06 => (Elem::Undefined, v),
            0x07 => (Elem::ObjectId(fixed(12)?), v + 12),
            0x08 => (Elem::Bool(*fixed(1)?.first().unwrap_or(&0) != 0), v + 1),
            0x09 => (Elem::DateTime(le_u64(b, v).ok_or(truncated)? as i64), v + 8),
            0x0A => (Elem::Null, v),
            0x0B => {
                let (pattern, n) = cstring(b, v)?;
                let (options, n) = cstring(b, n)?;
                (Elem::Regex { pattern, options }, n)
            }
            0x0C => {
                let (ns, n) = string(b, v)?;
                let id = b.get(n..n + 12).ok_or(BsonError::Truncated { at: n })?;
                (Elem::DbPointer { ns, id }, n + 12)
            }
            0x0D => {
                let (s, n) = string(b, v)?;
                (Elem::JavaScript(s), n)
            }
            0x0E => {
                let (s, n) = string(b, v)?;
                (Elem::Symbol(s), n)
            }
            0x0F => {
                let total = le_i32(b, v).ok_or(truncated)?;
                let (code, n) = string(b, v + 4)?;
                let scope_len = le_i32(b, n).ok_or(BsonError::Truncated { at: n })?;
                if scope_len < 5 || total < 0 || n + scope_len as usize != v + total as usize {
                    return Err(BsonError::BadLength { at: v, len: total as i64 });
                }
                let scope = b.get(n..n + scope_len as usize).ok_or(BsonError::Truncated { at: n })?;
                (Elem::JavaScriptWithScope { code, scope }, n + scope_len as usize)
            }
            0x10 => (Elem::Int32(le_i32(b, v).ok_or(truncated)?), v + 4),
            0x11 => {
                let raw = le_u64(b, v).ok_or(truncated)?;
                (Elem::Timestamp { t: (raw >> 32) as u32, i: raw as u32 }, v + 8)
            }
            0x12 => (Elem::Int64(le_u64(b, v).ok_or(truncated)? as i64), v + 8),
            0x13 => (Elem::Decimal128(fixed(16)?), v + 16),
            0xFF => (Elem::MinKey, v),
            0x7F => (Elem::MaxKey, v),
            kind => return Err(BsonError::UnknownType { at, kind }),
        };
        if next > self.end {
            return Err(BsonError::Truncated { at: self.end });
        }
        self.at = next;
        Ok((key, elem))
    }
}

/// How much of a document is turned into JSON.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Nesting below which documents and arrays are elided.
    pub max_depth: usize,
    /// Elements shown per document or array.
    pub max_fields: usize,
    /// Bytes of a string shown (cut at a character boundary).
    pub max_string: usize,
    /// Bytes of binary data shown (base64 of them).
    pub max_binary: usize,
}

impl Limits {
    pub const DEFAULT: Limits = Limits { max_depth: 16, max_fields: 100, max_string: 1024, max_binary: 256 };
}

/// What is left to spend on one entry's JSON, and whether anything was left out.
#[derive(Debug)]
pub struct Budget {
    /// JSON values still to create.
    pub values: usize,
    /// String and binary bytes still to show.
    pub bytes: usize,
    /// Something was elided (a note says so).
    pub elided: bool,
    /// A malformed element ended a document early.
    pub error: Option<BsonError>,
}

impl Budget {
    pub fn new(values: usize, bytes: usize) -> Self {
        Budget { values, bytes, elided: false, error: None }
    }
}

/// The key under which a document or array says how many elements were left out.
pub const ELIDED_KEY: &str = "$elided";

/// The document as Relaxed Extended JSON, within the limits and the budget.
pub fn doc_to_json(doc: Doc<'_>, limits: &Limits, budget: &mut Budget) -> Value {
    Value::Object(doc_map(doc, limits, budget, 0))
}

fn doc_map(doc: Doc<'_>, limits: &Limits, budget: &mut Budget, depth: usize) -> Map<String, Value> {
    let mut map = Map::new();
    let mut left_out = 0usize;
    for item in doc.iter() {
        match item {
            Ok((key, elem)) => {
                if map.len() >= limits.max_fields || budget.values == 0 {
                    left_out += 1;
                    continue;
                }
                let v = elem_to_json(elem, limits, budget, depth + 1);
                map.insert(key.to_owned(), v);
            }
            Err(e) => {
                budget.error.get_or_insert(e);
            }
        }
    }
    if left_out > 0 {
        budget.elided = true;
        map.insert(ELIDED_KEY.to_owned(), Value::from(left_out));
    }
    map
}

/// An array's elements as JSON (keys are ignored, as BSON readers do).
pub fn array_to_json(doc: Doc<'_>, limits: &Limits, budget: &mut Budget, depth: usize) -> Value {
    let mut out = Vec::new();
    let mut left_out = 0usize;
    for item in doc.iter() {
        match item {
            Ok((_, elem)) => {
                if out.len() >= limits.max_fields || budget.values == 0 {
                    left_out += 1;
                    continue;
                }
                out.push(elem_to_json(elem, limits, budget, depth + 1));
            }
            Err(e) => {
                budget.error.get_or_insert(e);
            }
        }
    }
    if left_out > 0 {
        budget.elided = true;
        let mut m = Map::new();
        m.insert(ELIDED_KEY.to_owned(), Value::from(left_out));
        out.push(Value::Object(m));
    }
    Value::Array(out)
}

fn obj1(key: &str, v: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.to_owned(), v);
    Value::Object(m)
}

fn obj2(k1: &str, v1: Value, k2: &str, v2: Value) -> Value {
    let mut m = Map::new();
    m.insert(k1.to_owned(), v1);
    m.insert(k2.to_owned(), v2);
    Value::Object(m)
}

fn bounded_str(s: &str, limits: &Limits, budget: &mut Budget) -> String {
    let allowed = limits.max_string.min(budget.bytes);
    if s.len() <= allowed {
        budget.bytes -= s.len();
        return s.to_owned();
    }
    budget.elided = true;
    budget.bytes -= allowed;
    let mut cut = allowed;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &s[..cut])
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn number_f64(d: f64) -> Value {
    match Number::from_f64(d) {
        Some(n) => Value::Number(n),
        None => {
            let text = if d.is_nan() {
                "NaN"
            } else if d > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            };
            obj1("$numberDouble", Value::from(text))
        }
    }
}

/// Milliseconds since the epoch as Relaxed Extended JSON: ISO-8601 from 1970 on, else canonical.
fn date(ms: i64) -> Value {
    const MAX_MS: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
    if (0..=MAX_MS).contains(&ms) && (ms as u64).checked_mul(1_000_000).is_some() {
        let full = crate::time::Timestamp(ms as u64 * 1_000_000).to_string();
        // "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" to millisecond precision.
        let iso = match full.get(..23) {
            Some(head) => format!("{head}Z"),
            None => full,
        };
        obj1("$date", Value::from(iso))
    } else {
        obj1("$date", obj1("$numberLong", Value::from(ms.to_string())))
    }
}

/// One value as Relaxed Extended JSON (a top-level field's), within the limits and the budget.
pub fn elem_json(elem: Elem<'_>, limits: &Limits, budget: &mut Budget) -> Value {
    elem_to_json(elem, limits, budget, 1)
}

fn elem_to_json(elem: Elem<'_>, limits: &Limits, budget: &mut Budget, depth: usize) -> Value {
    budget.values = budget.values.saturating_sub(1);
    match elem {
        Elem::Double(d) => number_f64(d),
        Elem::String(s) => Value::String(bounded_str(s, limits, budget)),
        Elem::Document(b) | Elem::Array(b) if depth >= limits.max_depth => {
            budget.elided = true;
            let _ = b;
            obj1(ELIDED_KEY, Value::from("nested too deep"))
        }
        Elem::Document(b) => Value::Object(doc_map(Doc { bytes: b, partial: false }, limits, budget, depth)),
        Elem::Array(b) => array_to_json(Doc { bytes: b, partial: false }, limits, budget, depth),
        Elem::Binary { subtype, data } => {
            use base64::Engine as _;
            let shown = data.get(..limits.max_binary.min(budget.bytes)).unwrap_or(data);
            budget.bytes -= shown.len();
            if shown.len() < data.len() {
                budget.elided = true;
            }
            let b64 = base64::engine::general_purpose::STANDARD.encode(shown);
            obj1("$binary", obj2("base64", Value::from(b64), "subType", Value::from(format!("{subtype:02x}"))))
        }
        Elem::Undefined => obj1("$undefined", Value::Bool(true)),
        Elem::ObjectId(id) => obj1("$oid", Value::from(hex(id))),
        Elem::Bool(b) => Value::Bool(b),
        Elem::DateTime(ms) => date(ms),
        Elem::Null => Value::Null,
        Elem::Regex { pattern, options } => obj1(
            "$regularExpression",
            obj2("pattern", Value::from(bounded_str(pattern, limits, budget)), "options", Value::from(options)),
        ),
        Elem::DbPointer { ns, id } => {
            obj1("$dbPointer", obj2("$ref", Value::from(ns), "$id", obj1("$oid", Value::from(hex(id)))))
        }
        Elem::JavaScript(code) => obj1("$code", Value::from(bounded_str(code, limits, budget))),
        Elem::Symbol(s) => obj1("$symbol", Value::from(bounded_str(s, limits, budget))),
        Elem::JavaScriptWithScope { code, scope } => {
            let scope = if depth >= limits.max_depth {
                budget.elided = true;
                obj1(ELIDED_KEY, Value::from("nested too deep"))
            } else {
                Value::Object(doc_map(Doc { bytes: scope, partial: false }, limits, budget, depth))
            };
            obj2("$code", Value::from(bounded_str(code, limits, budget)), "$scope", scope)
        }
        Elem::Int32(i) => Value::from(i),
        Elem::Timestamp { t, i } => obj1("$timestamp", obj2("t", Value::from(t), "i", Value::from(i))),
        Elem::Int64(i) => Value::from(i),
        Elem::Decimal128(b) => obj1("$numberDecimal", Value::from(decimal128(b))),
        Elem::MinKey => obj1("$minKey", Value::from(1)),
        Elem::MaxKey => obj1("$maxKey", Value::from(1)),
    }
}

/// The string form of an IEEE 754-2008 decimal128 (BID encoding), as the Extended JSON spec
/// gives it (the algorithm of the BSON decimal128 specification).
pub fn decimal128(bytes: &[u8]) -> String {
    let mut a = [0u8; 16];
    if bytes.len() != 16 {
        return String::from("NaN");
    }
    a.copy_from_slice(bytes);
    let v = u128::from_le_bytes(a);
    let negative = v >> 127 == 1;
    let sign = if negative { "-" } else { "" };
    let combination = (v >> 122) & 0x1F;
    let (exponent_bits, coefficient): (u128, u128) = if combination >> 3 == 0b11 {
        if combination == 0b11110 {
            return format!("{sign}Infinity");
        }
        if combination == 0b11111 {
            return String::from("NaN");
        }
        // The coefficient would start with 0b100 and exceed the maximum: it is zero.
        ((v >> 111) & 0x3FFF, 0)
    } else {
        ((v >> 113) & 0x3FFF, v & ((1u128 << 113) - 1))
    };
    let coefficient = if coefficient > 9_999_999_999_999_999_999_999_999_999_999_999 { 0 } else { coefficient };
    let exponent = exponent_bits as i64 - 6176;
    let digits = coefficient.to_string();
    let n = digits.len() as i64;
    let adjusted = exponent + n - 1;
    if exponent <= 0 && adjusted >= -6 {
        if exponent == 0 {
            return format!("{sign}{digits}");
        }
        let point = n + exponent; // digits before the decimal point
        if point > 0 {
            let (int, frac) = digits.split_at(point as usize);
            format!("{sign}{int}.{frac}")
        } else {
            format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() { first.to_owned() } else { format!("{first}.{rest}") };
        let esign = if adjusted >= 0 { "+" } else { "" };
        format!("{sign}{mantissa}E{esign}{adjusted}")
    }
}
