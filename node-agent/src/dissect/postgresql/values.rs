//! Parameter and column values as JSON: text-format values as strings, binary-format values of
//! the common types decoded by their type OID (pg_type.dat), anything else as hex. Values are
//! cut at [`MAX_VALUE_BYTES`].

use serde_json::Value;

/// Bytes of one value shown; longer values are cut and marked with "…".
pub const MAX_VALUE_BYTES: usize = 256;

pub const BOOL: u32 = 16;
pub const BYTEA: u32 = 17;
pub const CHAR: u32 = 18;
pub const NAME: u32 = 19;
pub const INT8: u32 = 20;
pub const INT2: u32 = 21;
pub const INT4: u32 = 23;
pub const TEXT: u32 = 25;
pub const OID: u32 = 26;
pub const JSON: u32 = 114;
pub const FLOAT4: u32 = 700;
pub const FLOAT8: u32 = 701;
pub const BPCHAR: u32 = 1042;
pub const VARCHAR: u32 = 1043;
pub const DATE: u32 = 1082;
pub const TIMESTAMP: u32 = 1114;
pub const TIMESTAMPTZ: u32 = 1184;
pub const NUMERIC: u32 = 1700;
pub const UUID: u32 = 2950;
pub const JSONB: u32 = 3802;

/// The name of a common type, for column descriptions.
pub fn type_name(oid: u32) -> Option<&'static str> {
    Some(match oid {
        BOOL => "bool",
        BYTEA => "bytea",
        CHAR => "char",
        NAME => "name",
        INT8 => "int8",
        INT2 => "int2",
        INT4 => "int4",
        TEXT => "text",
        OID => "oid",
        JSON => "json",
        FLOAT4 => "float4",
        FLOAT8 => "float8",
        BPCHAR => "bpchar",
        VARCHAR => "varchar",
        DATE => "date",
        TIMESTAMP => "timestamp",
        TIMESTAMPTZ => "timestamptz",
        NUMERIC => "numeric",
        UUID => "uuid",
        JSONB => "jsonb",
        _ => return None,
    })
}

/// Text, cut at [`MAX_VALUE_BYTES`] (on a character boundary).
pub fn text(bytes: &[u8]) -> String {
    let cut = bytes.len() > MAX_VALUE_BYTES;
    let shown = bytes.get(..MAX_VALUE_BYTES).unwrap_or(bytes);
    let mut s = String::from_utf8_lossy(shown).into_owned();
    if cut {
        // A character cut in two became U+FFFD at the end: drop it.
        if s.ends_with('\u{FFFD}') {
            s.pop();
        }
        s.push('…');
    }
    s
}

fn hex(bytes: &[u8]) -> String {
    let shown = bytes.get(..MAX_VALUE_BYTES / 2).unwrap_or(bytes);
    let mut s = String::with_capacity(2 + shown.len() * 2 + 3);
    s.push_str("\\x");
    for b in shown {
        s.push_str(&format!("{b:02x}"));
    }
    if shown.len() < bytes.len() {
        s.push('…');
    }
    s
}

/// A value as JSON: `format` 0 is text, 1 binary; `None` is SQL NULL.
pub fn decode(value: Option<&[u8]>, format: u16, type_oid: u32) -> Value {
    let Some(bytes) = value else { return Value::Null };
    if format == 0 {
        return Value::String(text(bytes));
    }
    binary(bytes, type_oid).unwrap_or_else(|| Value::String(hex(bytes)))
}

fn int(bytes: &[u8], n: usize) -> Option<i64> {
    if bytes.len() != n {
        return None;
    }
    Some(match n {
        2 => i16::from_be_bytes(bytes.try_into().ok()?) as i64,
        4 => i32::from_be_bytes(bytes.try_into().ok()?) as i64,
        _ => i64::from_be_bytes(bytes.try_into().ok()?),
    })
}

fn float(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or_else(|| Value::String(v.to_string()), Value::Number)
}

fn binary(bytes: &[u8], oid: u32) -> Option<Value> {
    Some(match oid {
        BOOL => match bytes {
            [b] => Value::Bool(*b != 0),
            _ => return None,
        },
        INT2 => Value::from(int(bytes, 2)?),
        INT4 => Value::from(int(bytes, 4)?),
        OID => Value::from(u32::from_be_bytes(bytes.try_into().ok()?)),
        INT8 => Value::from(int(bytes, 8)?),
        FLOAT4 => float(f32::from_be_bytes(bytes.try_into().ok()?) as f64),
        FLOAT8 => float(f64::from_be_bytes(bytes.try_into().ok()?)),
        TEXT | VARCHAR | BPCHAR | NAME | CHAR | JSON => Value::String(text(bytes)),
        JSONB => match bytes {
            [1, rest @ ..] => Value::String(text(rest)),
            _ => return None,
        },
        BYTEA => Value::String(hex(bytes)),
        UUID => {
            let b: [u8; 16] = bytes.try_into().ok()?;
            let h = hex(&b);
            let h = h.get(2..)?;
            Value::String(format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]))
        }
        DATE => Value::String(date(int(bytes, 4)?)?),
        TIMESTAMP => Value::String(timestamp(int(bytes, 8)?, false)?),
        TIMESTAMPTZ => Value::String(timestamp(int(bytes, 8)?, true)?),
        NUMERIC => Value::String(numeric(bytes)?),
        _ => return None,
    })
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// PostgreSQL's epoch, 2000-01-01, in days since 1970-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;

fn date(days: i64) -> Option<String> {
    match days as i32 {
        i32::MAX => return Some("infinity".into()),
        i32::MIN => return Some("-infinity".into()),
        _ => {}
    }
    let (y, m, d) = civil(days.checked_add(PG_EPOCH_DAYS)?);
    (1..=9999).contains(&y).then(|| format!("{y:04}-{m:02}-{d:02}"))
}

fn timestamp(micros: i64, tz: bool) -> Option<String> {
    match micros {
        i64::MAX => return Some("infinity".into()),
        i64::MIN => return Some("-infinity".into()),
        _ => {}
    }
    let days = micros.div_euclid(86_400_000_000);
    let in_day = micros.rem_euclid(86_400_000_000);
    let day = date(days)?;
    let (secs, frac) = (in_day / 1_000_000, in_day % 1_000_000);
    let mut s = format!("{day} {:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac != 0 {
        let f = format!("{frac:06}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    if tz {
        s.push_str("+00");
    }
    Some(s)
}

/// Binary numeric: ndigits, weight, sign, dscale, then base-10000 digits.
fn numeric(bytes: &[u8]) -> Option<String> {
    let u = |i: usize| bytes.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let (ndigits, weight, sign, dscale) = (u(0)? as usize, u(2)? as i16 as i64, u(4)?, u(6)? as usize);
    if bytes.len() != 8 + 2 * ndigits || dscale > 1000 || ndigits > 1000 {
        return None;
    }
    match sign {
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        0 | 0x4000 => {}
        _ => return None,
    }
    let digit = |i: i64| if i >= 0 && (i as usize) < ndigits { u(8 + 2 * i as usize).unwrap_or(0) } else { 0 };
    let mut s = String::new();
    if sign == 0x4000 {
        s.push('-');
    }
    if weight < 0 {
        s.push('0');
    } else {
        for i in 0..=weight.min(1000) {
            let d = digit(i);
            if d > 9999 {
                return None;
            }
            if i == 0 {
                s.push_str(&d.to_string());
            } else {
                s.push_str(&format!("{d:04}"));
            }
        }
    }
    if dscale > 0 {
        s.push('.');
        let mut frac = String::new();
        let mut i = weight + 1;
        while frac.len() < dscale {
            frac.push_str(&format!("{:04}", digit(i)));
            i += 1;
        }
        frac.truncate(dscale);
        s.push_str(&frac);
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_from_the_2000_epoch() {
        assert_eq!(date(0).as_deref(), Some("2000-01-01"));
        assert_eq!(date(-1).as_deref(), Some("1999-12-31"));
        assert_eq!(timestamp(86_400_000_000 + 3_723_500_000, true).as_deref(), Some("2000-01-02 01:02:03.5+00"));
    }

    #[test]
    fn numerics_in_base_10000() {
        // 12345.678: weight 1, digits 1, 2345, 6780, dscale 3.
        let b = [0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c];
        assert_eq!(numeric(&b).as_deref(), Some("12345.678"));
        // -0.05: weight -1, digit 500, dscale 2.
        let b = [0, 1, 0xff, 0xff, 0x40, 0, 0, 2, 0x01, 0xf4];
        assert_eq!(numeric(&b).as_deref(), Some("-0.05"));
    }

    #[test]
    fn binary_ints_text_and_unknown() {
        assert_eq!(decode(Some(&[0, 0, 0, 42]), 1, INT4), Value::from(42));
        assert_eq!(decode(Some(&[0xff, 0xfe]), 1, INT2), Value::from(-2));
        assert_eq!(decode(Some(b"abc"), 0, INT4), Value::from("abc"));
        assert_eq!(decode(Some(&[1, 2]), 1, 99999), Value::from("\\x0102"));
        assert_eq!(decode(Some(&[1, 2]), 1, INT4), Value::from("\\x0102"));
        assert_eq!(decode(None, 1, INT4), Value::Null);
        let long = vec![b'a'; 1000];
        assert_eq!(text(&long).chars().count(), MAX_VALUE_BYTES + 1);
    }
}
