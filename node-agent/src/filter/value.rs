//! The type rules: how a value found in an entry compares with a literal from the filter.
//!
//! Numbers compare numerically, and a string that holds a number (entry `status` "200") compares with a
//! number literal as that number — and a number (`response.status` 200) with a numeric string literal.
//! IP addresses and timestamps compare as what they are. A missing field is null: only `== null` holds.
//! Text operators (`contains`, `=~`, ...) see numbers, booleans, addresses and times as their text.

use super::ast::Num;
use crate::time::Timestamp;
use std::cmp::Ordering;
use std::fmt::{self, Write as _};
use std::net::IpAddr;

/// One value of an entry, borrowed from it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Val<'a> {
    /// Missing, or JSON null.
    Null,
    Bool(bool),
    Num(Num),
    Str(&'a str),
    Ip(IpAddr),
    /// Nanoseconds since the Unix epoch (the entry's `ts`).
    Time(u64),
    /// A JSON object (arrays never reach a test: their elements do).
    Object,
}

impl<'a> Val<'a> {
    pub(crate) fn from_json(v: &'a serde_json::Value) -> Val<'a> {
        use serde_json::Value;
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => Val::Num(json_number(n)),
            Value::String(s) => Val::Str(s),
            Value::Array(_) | Value::Object(_) => Val::Object,
        }
    }

    /// Present and not false: what a bare field (`response`, `request.body.truncated`) tests.
    pub(crate) fn is_truthy(&self) -> bool {
        !matches!(self, Val::Null | Val::Bool(false))
    }
}

fn json_number(n: &serde_json::Number) -> Num {
    if let Some(u) = n.as_u64() {
        Num::Int(u.into())
    } else if let Some(i) = n.as_i64() {
        Num::Int(i.into())
    } else {
        Num::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// A literal from the filter with every reading of it worked out once, at compile time.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Lit {
    Null,
    Bool(bool),
    Num(Num),
    Str {
        text: Box<str>,
        /// The string read as a number, an IP address, an RFC 3339 time (nanoseconds), if it is one.
        num: Option<Num>,
        ip: Option<IpAddr>,
        time: Option<u64>,
    },
}

impl Lit {
    pub(crate) fn string(text: &str) -> Lit {
        Lit::Str {
            text: text.into(),
            num: numeric_str(text),
            ip: text.parse().ok(),
            time: Timestamp::parse_rfc3339(text).map(Timestamp::as_nanos),
        }
    }
}

/// A string that is a plain decimal number (`"200"`, `"-1.5"`, `"1e3"`), not `"inf"` or `"0x10"`.
pub(crate) fn numeric_str(s: &str) -> Option<Num> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 64 || !b.iter().any(u8::is_ascii_digit) {
        return None;
    }
    if !b.iter().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-')) {
        return None;
    }
    Num::parse(s)
}

fn num_cmp(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        _ => a.as_f64().partial_cmp(&b.as_f64()),
    }
}

/// `value == literal` under the type rules (see the module docs).
pub(crate) fn equals(v: &Val, lit: &Lit) -> bool {
    match (v, lit) {
        (Val::Null, Lit::Null) => true,
        (Val::Null, _) | (_, Lit::Null) => false,
        (Val::Bool(a), Lit::Bool(b)) => a == b,
        (Val::Str(s), Lit::Str { text, .. }) => *s == &**text,
        (Val::Ip(a), Lit::Str { ip: Some(b), .. }) => a == b,
        (Val::Time(a), Lit::Str { time: Some(b), .. }) => a == b,
        _ => order(v, lit) == Some(Ordering::Equal),
    }
}

/// How `value` orders against `literal`, or `None` when they do not compare (then `<`, `>`, ... are
/// false). Text orders by bytes, but against numeric text only numeric text orders, numerically.
pub(crate) fn order(v: &Val, lit: &Lit) -> Option<Ordering> {
    match (v, lit) {
        (Val::Num(a), Lit::Num(b)) => num_cmp(*a, *b),
        (Val::Num(a), Lit::Str { num: Some(b), .. }) => num_cmp(*a, *b),
        (Val::Str(s), Lit::Num(b)) => num_cmp(numeric_str(s)?, *b),
        // A numeric literal orders only numeric text (so `status > "499"` skips "NXDOMAIN").
        (Val::Str(s), Lit::Str { num: Some(b), .. }) => num_cmp(numeric_str(s)?, *b),
        (Val::Str(s), Lit::Str { text, num: None, .. }) => Some(s.cmp(&&**text)),
        (Val::Ip(a), Lit::Str { ip: Some(b), .. }) if a.is_ipv4() == b.is_ipv4() => Some(a.cmp(b)),
        (Val::Time(a), Lit::Str { time: Some(b), .. }) => Some(a.cmp(b)),
        (Val::Time(a), Lit::Num(b)) => num_cmp(Num::Int((*a).into()), *b),
        _ => None,
    }
}

/// Runs `f` on the text of a value: strings as they are; numbers, booleans, IP addresses and times as
/// printed. Null and objects have no text (`f` is not called; the answer is false).
pub(crate) fn with_text(v: &Val, f: impl FnOnce(&str) -> bool) -> bool {
    let mut buf = StackStr::new();
    let written = match v {
        Val::Str(s) => return f(s),
        Val::Bool(b) => return f(if *b { "true" } else { "false" }),
        Val::Null | Val::Object => return false,
        Val::Num(Num::Int(i)) => write!(buf, "{i}"),
        Val::Num(Num::Float(x)) => write!(buf, "{x}").or_else(|_| {
            buf.len = 0;
            write!(buf, "{x:e}")
        }),
        Val::Ip(ip) => write!(buf, "{ip}"),
        Val::Time(ns) => write!(buf, "{}", Timestamp(*ns)),
    };
    written.is_ok() && f(buf.as_str())
}

/// A small stack buffer so text operators on numbers and addresses do not allocate.
struct StackStr {
    buf: [u8; 64],
    len: usize,
}

impl StackStr {
    fn new() -> Self {
        StackStr { buf: [0; 64], len: 0 }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl fmt::Write for StackStr {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Lit {
        Lit::string(text)
    }

    #[test]
    fn numbers_and_numeric_strings_meet() {
        let n200 = Val::Num(Num::Int(200));
        let s200 = Val::Str("200");
        assert!(equals(&n200, &Lit::Num(Num::Int(200))));
        assert!(!equals(&n200, &Lit::Num(Num::Int(201))));
        assert!(equals(&n200, &s("200")));
        assert!(!equals(&n200, &s("2xx")));
        assert!(equals(&s200, &Lit::Num(Num::Int(200))));
        assert!(equals(&s200, &Lit::Num(Num::Float(200.0))));
        assert!(!equals(&Val::Str("NXDOMAIN"), &Lit::Num(Num::Int(200))));
        assert_eq!(order(&s200, &Lit::Num(Num::Int(500))), Some(Ordering::Less));
        // Numeric strings order as numbers, other strings by bytes.
        assert_eq!(order(&Val::Str("1000"), &s("999")), Some(Ordering::Greater));
        assert_eq!(order(&Val::Str("abc"), &s("abd")), Some(Ordering::Less));
        assert_eq!(order(&Val::Str("NXDOMAIN"), &s("499")), None);
        assert_eq!(order(&Val::Str("NXDOMAIN"), &Lit::Num(Num::Int(499))), None);
        assert_eq!(order(&Val::Num(Num::Float(1.5)), &Lit::Num(Num::Int(1))), Some(Ordering::Greater));
    }

    #[test]
    fn null_equals_only_null() {
        assert!(equals(&Val::Null, &Lit::Null));
        assert!(!equals(&Val::Str(""), &Lit::Null));
        assert!(!equals(&Val::Null, &s("")));
        assert!(!equals(&Val::Null, &Lit::Num(Num::Int(0))));
        assert_eq!(order(&Val::Null, &Lit::Num(Num::Int(0))), None);
        assert!(!with_text(&Val::Null, |_| true));
    }

    #[test]
    fn addresses_and_times_compare_as_themselves() {
        let ip = Val::Ip("10.0.0.1".parse().unwrap());
        assert!(equals(&ip, &s("10.0.0.1")));
        assert!(!equals(&ip, &s("10.0.0.2")));
        let v6 = Val::Ip("fd00::1".parse().unwrap());
        assert!(equals(&v6, &s("fd00:0:0::1")));
        assert_eq!(order(&ip, &s("fd00::1")), None);
        let t = Val::Time(Timestamp::parse_rfc3339("2026-11-21T05:31:02.5Z").unwrap().as_nanos());
        assert!(equals(&t, &s("2026-11-21T05:31:02.500Z")));
        assert_eq!(order(&t, &s("2026-11-21T05:31:02Z")), Some(Ordering::Greater));
        assert_eq!(order(&t, &s("2026-11-21T05:31:03Z")), Some(Ordering::Less));
    }

    #[test]
    fn text_of_non_strings() {
        let text = |v: Val| {
            let mut out = String::new();
            with_text(&v, |t| {
                out = t.to_string();
                true
            });
            out
        };
        assert_eq!(text(Val::Num(Num::Int(-42))), "-42");
        assert_eq!(text(Val::Num(Num::Float(1.5))), "1.5");
        assert_eq!(text(Val::Num(Num::Float(1e300))), "1e300");
        assert_eq!(text(Val::Bool(true)), "true");
        assert_eq!(text(Val::Ip("::1".parse().unwrap())), "::1");
        assert_eq!(text(Val::Time(1_000_000_001)), "1970-01-01T00:00:01.000000001Z");
        assert_eq!(text(Val::Object), "");
    }

    #[test]
    fn numeric_strings_are_plain_decimals() {
        assert_eq!(numeric_str("200"), Some(Num::Int(200)));
        assert_eq!(numeric_str("-1.5"), Some(Num::Float(-1.5)));
        for not in ["", "inf", "NaN", "0x10", " 1", "1 ", "e", "-", "1.2.3"] {
            assert_eq!(numeric_str(not), None, "{not:?}");
        }
    }
}
