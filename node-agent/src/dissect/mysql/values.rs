//! Values of the binary protocol (COM_STMT_EXECUTE parameters, binary result set rows) and of
//! text result set rows, as JSON for the entry. Numbers become JSON numbers, strings and
//! temporal values strings (`"2024-01-31 12:00:00.000001"`), NULL null, and bytes that are not
//! UTF-8 lossy text. Every value is cut at a byte limit.

use super::packet::{text, Malformed, Reader};
use serde_json::Value;

/// Type codes (see [`super::packet::type_name`]).
const TINY: u8 = 0x01;
const SHORT: u8 = 0x02;
const LONG: u8 = 0x03;
const FLOAT: u8 = 0x04;
const DOUBLE: u8 = 0x05;
const NULL: u8 = 0x06;
const TIMESTAMP: u8 = 0x07;
const LONGLONG: u8 = 0x08;
const INT24: u8 = 0x09;
const DATE: u8 = 0x0A;
const TIME: u8 = 0x0B;
const DATETIME: u8 = 0x0C;
const YEAR: u8 = 0x0D;

/// A string value as the entry shows it, cut at `limit` bytes (with `…` when cut).
pub fn string_value(bytes: &[u8], limit: usize) -> Value {
    let (mut s, cut) = text(bytes, limit);
    if cut {
        s.push('…');
    }
    Value::String(s)
}

/// One value of the binary protocol of type `code`.
pub fn binary_value(r: &mut Reader<'_>, code: u8, unsigned: bool, limit: usize) -> Result<Value, Malformed> {
    Ok(match code {
        NULL => Value::Null,
        TINY => {
            let b = r.u8()?;
            if unsigned {
                Value::from(b)
            } else {
                Value::from(b as i8)
            }
        }
        SHORT | YEAR => {
            let v = r.u16()?;
            if unsigned || code == YEAR {
                Value::from(v)
            } else {
                Value::from(v as i16)
            }
        }
        LONG | INT24 => {
            let v = r.u32()?;
            if unsigned {
                Value::from(v)
            } else {
                Value::from(v as i32)
            }
        }
        LONGLONG => {
            let v = r.u64()?;
            if unsigned {
                Value::from(v)
            } else {
                Value::from(v as i64)
            }
        }
        FLOAT => {
            let f = f32::from_bits(r.u32()?);
            // Shown with the precision a float has, not the double it widens to.
            number_from_text(&f.to_string())
        }
        DOUBLE => {
            let f = f64::from_bits(r.u64()?);
            serde_json::Number::from_f64(f).map(Value::Number).unwrap_or_else(|| Value::String(f.to_string()))
        }
        DATE | DATETIME | TIMESTAMP => Value::String(datetime(r, code == DATE)?),
        TIME => Value::String(time(r)?),
        // Strings, decimals, blobs, JSON, BIT, ENUM, SET, GEOMETRY and any unknown type: length-encoded.
        _ => match r.lenenc_str()? {
            Some(bytes) => string_value(bytes, limit),
            None => Value::Null,
        },
    })
}

fn number_from_text(s: &str) -> Value {
    s.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(s.to_owned()))
}

fn datetime(r: &mut Reader<'_>, date_only: bool) -> Result<String, Malformed> {
    let len = r.u8()?;
    let mut p = Reader::new(r.bytes(usize::from(len))?, "binary DATETIME");
    let (mut year, mut month, mut day, mut hour, mut minute, mut second, mut micros) = (0, 0, 0, 0, 0, 0, 0);
    if len >= 4 {
        year = p.u16()?;
        month = p.u8()?;
        day = p.u8()?;
    }
    if len >= 7 {
        hour = p.u8()?;
        minute = p.u8()?;
        second = p.u8()?;
    }
    if len >= 11 {
        micros = p.u32()?;
    }
    let mut s = format!("{year:04}-{month:02}-{day:02}");
    if !date_only {
        s.push_str(&format!(" {hour:02}:{minute:02}:{second:02}"));
        if micros != 0 {
            s.push_str(&format!(".{micros:06}"));
        }
    }
    Ok(s)
}

fn time(r: &mut Reader<'_>) -> Result<String, Malformed> {
    let len = r.u8()?;
    let mut p = Reader::new(r.bytes(usize::from(len))?, "binary TIME");
    let (mut negative, mut days, mut hour, mut minute, mut second, mut micros) = (false, 0u32, 0u8, 0u8, 0u8, 0u32);
    if len >= 8 {
        negative = p.u8()? != 0;
        days = p.u32()?;
        hour = p.u8()?;
        minute = p.u8()?;
        second = p.u8()?;
    }
    if len >= 12 {
        micros = p.u32()?;
    }
    let hours = u64::from(days) * 24 + u64::from(hour);
    let sign = if negative { "-" } else { "" };
    let mut s = format!("{sign}{hours:02}:{minute:02}:{second:02}");
    if micros != 0 {
        s.push_str(&format!(".{micros:06}"));
    }
    Ok(s)
}

/// A text-protocol row: each column a length-encoded string or NULL (0xFB).
pub fn text_row(payload: &[u8], columns: usize, limit: usize) -> Result<Vec<Value>, Malformed> {
    let mut r = Reader::new(payload, "text row");
    let mut row = Vec::with_capacity(columns.min(64));
    for _ in 0..columns {
        row.push(match r.lenenc_str()? {
            Some(bytes) => string_value(bytes, limit),
            None => Value::Null,
        });
    }
    Ok(row)
}

/// A binary-protocol row: 0x00, the NULL bitmap (offset 2), then the values that are not NULL.
/// `types` holds each column's (type code, unsigned).
pub fn binary_row(payload: &[u8], types: &[(u8, bool)], limit: usize) -> Result<Vec<Value>, Malformed> {
    let mut r = Reader::new(payload, "binary row");
    if r.u8()? != 0 {
        return Err(Malformed { what: "binary row", why: "does not start with 0x00" });
    }
    let bitmap = r.bytes((types.len() + 7 + 2) / 8)?;
    let mut row = Vec::with_capacity(types.len().min(64));
    for (i, &(code, unsigned)) in types.iter().enumerate() {
        let bit = i + 2;
        let is_null = bitmap.get(bit / 8).is_some_and(|b| b & (1 << (bit % 8)) != 0);
        row.push(if is_null { Value::Null } else { binary_value(&mut r, code, unsigned, limit)? });
    }
    Ok(row)
}

/// The parameters of COM_STMT_EXECUTE after the statement id, flags and iteration count: the NULL
/// bitmap, the new-params-bound flag, the types (when bound anew) and the values. `types` holds
/// the types bound by an earlier execution and is replaced when new ones are sent. Returns the
/// values.
pub fn execute_params(
    r: &mut Reader<'_>,
    count: usize,
    types: &mut Vec<(u8, bool)>,
    limit: usize,
) -> Result<Vec<Value>, Malformed> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let bitmap = r.bytes(count.div_ceil(8))?;
    let bound = r.u8()?;
    if bound == 1 {
        types.clear();
        for _ in 0..count {
            let code = r.u8()?;
            let flags = r.u8()?;
            types.push((code, flags & 0x80 != 0));
        }
    }
    if types.len() != count {
        return Err(Malformed { what: "COM_STMT_EXECUTE", why: "parameter types were never sent" });
    }
    let mut values = Vec::with_capacity(count.min(256));
    for (i, &(code, unsigned)) in types.iter().enumerate() {
        let is_null = bitmap.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0);
        values.push(if is_null { Value::Null } else { binary_value(r, code, unsigned, limit)? });
    }
    Ok(values)
}
