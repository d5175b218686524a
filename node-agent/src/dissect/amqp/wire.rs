//! AMQP 0-9-1 wire format, pure: frames, methods and their arguments, field tables and the basic
//! content header (the 0-9-1 specification, sections 2.3 and 4.2, with RabbitMQ's errata for
//! field-table types and its protocol extensions: `connection.blocked`, `update-secret`,
//! `exchange.bind`, `basic.nack`, `confirm.select`).
//!
//! Decoding never panics and never allocates more than the input holds: every length is checked
//! against the bytes present, and field tables nest at most [`MAX_DEPTH`] deep.

use base64::Engine as _;
use serde_json::{Map, Value};
use thiserror::Error;

/// The protocol header a client sends first: "AMQP" 0 0 9 1.
pub const PROTOCOL_HEADER: &[u8; 8] = b"AMQP\x00\x00\x09\x01";
/// Frame header: type (1), channel (2), payload size (4).
pub const FRAME_HEADER: usize = 7;
/// The octet that ends every frame.
pub const FRAME_END: u8 = 0xCE;

pub const FRAME_METHOD: u8 = 1;
pub const FRAME_HEADER_TYPE: u8 = 2;
pub const FRAME_BODY: u8 = 3;
pub const FRAME_HEARTBEAT: u8 = 8;

/// Field tables (and arrays) nested deeper than this are not decoded.
pub const MAX_DEPTH: usize = 16;

/// Why a method frame's payload or a content header could not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum WireError {
    #[error("{what} runs past the end of the frame payload")]
    Truncated { what: &'static str },
    #[error("unknown method {class}.{method}")]
    UnknownMethod { class: u16, method: u16 },
    #[error("unknown field-table value type {0:#04x}")]
    UnknownFieldType(u8),
    #[error("field tables nested deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("{0} bytes left over after the arguments")]
    TrailingBytes(usize),
}

/// Which peer may send a method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender {
    Client,
    Server,
    Both,
}

/// The type of one method argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    Octet,
    Short,
    Long,
    LongLong,
    ShortStr,
    LongStr,
    Bit,
    Table,
}

/// One method of the specification.
#[derive(Debug, PartialEq, Eq)]
pub struct MethodSpec {
    pub class: u16,
    pub method: u16,
    /// `class.method` as the specification names it ("queue.declare-ok").
    pub name: &'static str,
    pub sender: Sender,
    /// Method ids (same class) that answer it; empty for asynchronous methods.
    pub responses: &'static [u16],
    /// Whether content (header and body frames) follows it.
    pub content: bool,
    /// Arguments in wire order; a name starting with `reserved` is read and not shown.
    pub args: &'static [(&'static str, Arg)],
}

use Arg::*;
use Sender::*;

const fn m(
    class: u16,
    method: u16,
    name: &'static str,
    sender: Sender,
    responses: &'static [u16],
    args: &'static [(&'static str, Arg)],
) -> MethodSpec {
    MethodSpec { class, method, name, sender, responses, content: false, args }
}

const fn with_content(mut spec: MethodSpec) -> MethodSpec {
    spec.content = true;
    spec
}

const CLOSE_ARGS: &[(&str, Arg)] =
    &[("reply_code", Short), ("reply_text", ShortStr), ("class_id", Short), ("method_id", Short)];
const BIND_ARGS: &[(&str, Arg)] = &[
    ("reserved_1", Short),
    ("destination", ShortStr),
    ("source", ShortStr),
    ("routing_key", ShortStr),
    ("no_wait", Bit),
    ("arguments", Table),
];

/// Every method of AMQP 0-9-1 with RabbitMQ's extensions.
pub static METHODS: &[MethodSpec] = &[
    m(
        10,
        10,
        "connection.start",
        Server,
        &[11],
        &[
            ("version_major", Octet),
            ("version_minor", Octet),
            ("server_properties", Table),
            ("mechanisms", LongStr),
            ("locales", LongStr),
        ],
    ),
    m(
        10,
        11,
        "connection.start-ok",
        Client,
        &[],
        &[("client_properties", Table), ("mechanism", ShortStr), ("response", LongStr), ("locale", ShortStr)],
    ),
    m(10, 20, "connection.secure", Server, &[21], &[("challenge", LongStr)]),
    m(10, 21, "connection.secure-ok", Client, &[], &[("response", LongStr)]),
    m(10, 30, "connection.tune", Server, &[31], &[("channel_max", Short), ("frame_max", Long), ("heartbeat", Short)]),
    m(10, 31, "connection.tune-ok", Client, &[], &[("channel_max", Short), ("frame_max", Long), ("heartbeat", Short)]),
    m(
        10,
        40,
        "connection.open",
        Client,
        &[41],
        &[("virtual_host", ShortStr), ("reserved_1", ShortStr), ("reserved_2", Bit)],
    ),
    m(10, 41, "connection.open-ok", Server, &[], &[("reserved_1", ShortStr)]),
    m(10, 50, "connection.close", Both, &[51], CLOSE_ARGS),
    m(10, 51, "connection.close-ok", Both, &[], &[]),
    m(10, 60, "connection.blocked", Server, &[], &[("reason", ShortStr)]),
    m(10, 61, "connection.unblocked", Server, &[], &[]),
    m(10, 70, "connection.update-secret", Client, &[71], &[("new_secret", LongStr), ("reason", ShortStr)]),
    m(10, 71, "connection.update-secret-ok", Server, &[], &[]),
    m(20, 10, "channel.open", Client, &[11], &[("reserved_1", ShortStr)]),
    m(20, 11, "channel.open-ok", Server, &[], &[("reserved_1", LongStr)]),
    m(20, 20, "channel.flow", Both, &[21], &[("active", Bit)]),
    m(20, 21, "channel.flow-ok", Both, &[], &[("active", Bit)]),
    m(20, 40, "channel.close", Both, &[41], CLOSE_ARGS),
    m(20, 41, "channel.close-ok", Both, &[], &[]),
    m(
        40,
        10,
        "exchange.declare",
        Client,
        &[11],
        &[
            ("reserved_1", Short),
            ("exchange", ShortStr),
            ("type", ShortStr),
            ("passive", Bit),
            ("durable", Bit),
            ("auto_delete", Bit),
            ("internal", Bit),
            ("no_wait", Bit),
            ("arguments", Table),
        ],
    ),
    m(40, 11, "exchange.declare-ok", Server, &[], &[]),
    m(
        40,
        20,
        "exchange.delete",
        Client,
        &[21],
        &[("reserved_1", Short), ("exchange", ShortStr), ("if_unused", Bit), ("no_wait", Bit)],
    ),
    m(40, 21, "exchange.delete-ok", Server, &[], &[]),
    m(40, 30, "exchange.bind", Client, &[31], BIND_ARGS),
    m(40, 31, "exchange.bind-ok", Server, &[], &[]),
    m(40, 40, "exchange.unbind", Client, &[51], BIND_ARGS),
    m(40, 51, "exchange.unbind-ok", Server, &[], &[]),
    m(
        50,
        10,
        "queue.declare",
        Client,
        &[11],
        &[
            ("reserved_1", Short),
            ("queue", ShortStr),
            ("passive", Bit),
            ("durable", Bit),
            ("exclusive", Bit),
            ("auto_delete", Bit),
            ("no_wait", Bit),
            ("arguments", Table),
        ],
    ),
    m(
        50,
        11,
        "queue.declare-ok",
        Server,
        &[],
        &[("queue", ShortStr), ("message_count", Long), ("consumer_count", Long)],
    ),
    m(
        50,
        20,
        "queue.bind",
        Client,
        &[21],
        &[
            ("reserved_1", Short),
            ("queue", ShortStr),
            ("exchange", ShortStr),
            ("routing_key", ShortStr),
            ("no_wait", Bit),
            ("arguments", Table),
        ],
    ),
    m(50, 21, "queue.bind-ok", Server, &[], &[]),
    m(50, 30, "queue.purge", Client, &[31], &[("reserved_1", Short), ("queue", ShortStr), ("no_wait", Bit)]),
    m(50, 31, "queue.purge-ok", Server, &[], &[("message_count", Long)]),
    m(
        50,
        40,
        "queue.delete",
        Client,
        &[41],
        &[("reserved_1", Short), ("queue", ShortStr), ("if_unused", Bit), ("if_empty", Bit), ("no_wait", Bit)],
    ),
    m(50, 41, "queue.delete-ok", Server, &[], &[("message_count", Long)]),
    m(
        50,
        50,
        "queue.unbind",
        Client,
        &[51],
        &[
            ("reserved_1", Short),
            ("queue", ShortStr),
            ("exchange", ShortStr),
            ("routing_key", ShortStr),
            ("arguments", Table),
        ],
    ),
    m(50, 51, "queue.unbind-ok", Server, &[], &[]),
    m(60, 10, "basic.qos", Client, &[11], &[("prefetch_size", Long), ("prefetch_count", Short), ("global", Bit)]),
    m(60, 11, "basic.qos-ok", Server, &[], &[]),
    m(
        60,
        20,
        "basic.consume",
        Client,
        &[21],
        &[
            ("reserved_1", Short),
            ("queue", ShortStr),
            ("consumer_tag", ShortStr),
            ("no_local", Bit),
            ("no_ack", Bit),
            ("exclusive", Bit),
            ("no_wait", Bit),
            ("arguments", Table),
        ],
    ),
    m(60, 21, "basic.consume-ok", Server, &[], &[("consumer_tag", ShortStr)]),
    m(60, 30, "basic.cancel", Both, &[31], &[("consumer_tag", ShortStr), ("no_wait", Bit)]),
    m(60, 31, "basic.cancel-ok", Both, &[], &[("consumer_tag", ShortStr)]),
    with_content(m(
        60,
        40,
        "basic.publish",
        Client,
        &[],
        &[
            ("reserved_1", Short),
            ("exchange", ShortStr),
            ("routing_key", ShortStr),
            ("mandatory", Bit),
            ("immediate", Bit),
        ],
    )),
    with_content(m(
        60,
        50,
        "basic.return",
        Server,
        &[],
        &[("reply_code", Short), ("reply_text", ShortStr), ("exchange", ShortStr), ("routing_key", ShortStr)],
    )),
    with_content(m(
        60,
        60,
        "basic.deliver",
        Server,
        &[],
        &[
            ("consumer_tag", ShortStr),
            ("delivery_tag", LongLong),
            ("redelivered", Bit),
            ("exchange", ShortStr),
            ("routing_key", ShortStr),
        ],
    )),
    m(60, 70, "basic.get", Client, &[71, 72], &[("reserved_1", Short), ("queue", ShortStr), ("no_ack", Bit)]),
    with_content(m(
        60,
        71,
        "basic.get-ok",
        Server,
        &[],
        &[
            ("delivery_tag", LongLong),
            ("redelivered", Bit),
            ("exchange", ShortStr),
            ("routing_key", ShortStr),
            ("message_count", Long),
        ],
    )),
    m(60, 72, "basic.get-empty", Server, &[], &[("reserved_1", ShortStr)]),
    m(60, 80, "basic.ack", Both, &[], &[("delivery_tag", LongLong), ("multiple", Bit)]),
    m(60, 90, "basic.reject", Client, &[], &[("delivery_tag", LongLong), ("requeue", Bit)]),
    m(60, 100, "basic.recover-async", Client, &[], &[("requeue", Bit)]),
    m(60, 110, "basic.recover", Client, &[111], &[("requeue", Bit)]),
    m(60, 111, "basic.recover-ok", Server, &[], &[]),
    m(60, 120, "basic.nack", Both, &[], &[("delivery_tag", LongLong), ("multiple", Bit), ("requeue", Bit)]),
    m(85, 10, "confirm.select", Client, &[11], &[("no_wait", Bit)]),
    m(85, 11, "confirm.select-ok", Server, &[], &[]),
    m(90, 10, "tx.select", Client, &[11], &[]),
    m(90, 11, "tx.select-ok", Server, &[], &[]),
    m(90, 20, "tx.commit", Client, &[21], &[]),
    m(90, 21, "tx.commit-ok", Server, &[], &[]),
    m(90, 30, "tx.rollback", Client, &[31], &[]),
    m(90, 31, "tx.rollback-ok", Server, &[], &[]),
];

/// The specification of a method, if it is one.
pub fn method_spec(class: u16, method: u16) -> Option<&'static MethodSpec> {
    METHODS.iter().find(|s| s.class == class && s.method == method)
}

/// The request a response method answers (`queue.declare-ok` → `queue.declare`).
pub fn request_of(response: &MethodSpec) -> Option<&'static MethodSpec> {
    METHODS.iter().find(|s| s.class == response.class && s.responses.contains(&response.method))
}

/// One frame, borrowed from the bytes it was cut from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub kind: u8,
    pub channel: u16,
    pub payload: &'a [u8],
}

/// The type, channel and payload size of the frame header at the start of `head` (7 bytes).
pub fn frame_header(head: &[u8]) -> Option<(u8, u16, u32)> {
    let h = head.get(..FRAME_HEADER)?;
    Some((h[0], u16::from_be_bytes([h[1], h[2]]), u32::from_be_bytes([h[3], h[4], h[5], h[6]])))
}

/// A whole frame (header, payload, frame-end) as the framer hands it out.
pub fn frame(bytes: &[u8]) -> Option<Frame<'_>> {
    let (kind, channel, size) = frame_header(bytes)?;
    let payload = bytes.get(FRAME_HEADER..FRAME_HEADER + size as usize)?;
    Some(Frame { kind, channel, payload })
}

/// A decoded method: its specification and its arguments, shown ones only, in wire order.
#[derive(Debug, PartialEq)]
pub struct Method {
    pub spec: &'static MethodSpec,
    pub args: Map<String, Value>,
}

impl Method {
    pub fn name(&self) -> &'static str {
        self.spec.name
    }
    pub fn str_arg(&self, name: &str) -> Option<&str> {
        self.args.get(name).and_then(Value::as_str)
    }
    pub fn u64_arg(&self, name: &str) -> Option<u64> {
        self.args.get(name).and_then(Value::as_u64)
    }
    pub fn no_wait(&self) -> bool {
        self.args.get("no_wait").and_then(Value::as_bool).unwrap_or(false)
    }
}

/// The class and method ids a method frame's payload starts with.
pub fn method_ids(payload: &[u8]) -> Option<(u16, u16)> {
    let p = payload.get(..4)?;
    Some((u16::from_be_bytes([p[0], p[1]]), u16::from_be_bytes([p[2], p[3]])))
}

/// Decodes a method frame's payload; the arguments must take exactly the rest of it.
pub fn parse_method(payload: &[u8]) -> Result<Method, WireError> {
    let (class, method) = method_ids(payload).ok_or(WireError::Truncated { what: "the method ids" })?;
    let spec = method_spec(class, method).ok_or(WireError::UnknownMethod { class, method })?;
    let mut r = Reader { data: payload, pos: 4 };
    let mut args = Map::new();
    let mut bits: Option<(u8, u8)> = None; // (octet, next bit)
    for &(name, arg) in spec.args {
        let value = if arg == Bit {
            let (octet, bit) = match bits {
                Some((octet, bit)) if bit < 8 => (octet, bit),
                _ => (r.u8("a bit field")?, 0),
            };
            bits = Some((octet, bit + 1));
            Value::Bool(octet & (1 << bit) != 0)
        } else {
            bits = None;
            r.value(arg)?
        };
        if !name.starts_with("reserved") {
            args.insert(name.to_owned(), value);
        }
    }
    match r.data.len() - r.pos.min(r.data.len()) {
        0 => Ok(Method { spec, args }),
        n => Err(WireError::TrailingBytes(n)),
    }
}

/// The content header frame of the basic class: body size and properties.
#[derive(Debug, PartialEq)]
pub struct ContentHeader {
    pub class: u16,
    pub body_size: u64,
    /// The properties present, by their specification names in snake case.
    pub properties: Map<String, Value>,
}

/// Basic's properties, in property-flag order (bit 15 first).
const BASIC_PROPERTIES: [(&str, Arg); 14] = [
    ("content_type", ShortStr),
    ("content_encoding", ShortStr),
    ("headers", Table),
    ("delivery_mode", Octet),
    ("priority", Octet),
    ("correlation_id", ShortStr),
    ("reply_to", ShortStr),
    ("expiration", ShortStr),
    ("message_id", ShortStr),
    ("timestamp", LongLong),
    ("type", ShortStr),
    ("user_id", ShortStr),
    ("app_id", ShortStr),
    ("cluster_id", ShortStr),
];

/// Decodes a content header frame's payload (class, weight, body size, property flags and list).
pub fn parse_content_header(payload: &[u8]) -> Result<ContentHeader, WireError> {
    let mut r = Reader { data: payload, pos: 0 };
    let class = r.u16("the content class")?;
    let _weight = r.u16("the content weight")?;
    let body_size = r.u64("the body size")?;
    let mut flags = Vec::new();
    loop {
        let word = r.u16("the property flags")?;
        flags.push(word);
        if word & 1 == 0 || flags.len() > 8 {
            break;
        }
    }
    let mut properties = Map::new();
    let first = flags.first().copied().unwrap_or(0);
    if class == 60 {
        for (i, &(name, arg)) in BASIC_PROPERTIES.iter().enumerate() {
            if first & (1 << (15 - i)) != 0 {
                properties.insert(name.to_owned(), r.value(arg)?);
            }
        }
    }
    Ok(ContentHeader { class, body_size, properties })
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).ok_or(WireError::Truncated { what })?;
        let bytes = self.data.get(self.pos..end).ok_or(WireError::Truncated { what })?;
        self.pos = end;
        Ok(bytes)
    }
    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], WireError> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        Ok(self.array::<1>(what)?[0])
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }
    fn u64(&mut self, what: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }
    fn short_str(&mut self, what: &'static str) -> Result<&'a [u8], WireError> {
        let n = self.u8(what)? as usize;
        self.take(n, what)
    }
    fn long_str(&mut self, what: &'static str) -> Result<&'a [u8], WireError> {
        let n = self.u32(what)? as usize;
        self.take(n, what)
    }

    fn value(&mut self, arg: Arg) -> Result<Value, WireError> {
        Ok(match arg {
            Octet => self.u8("an octet")?.into(),
            Short => self.u16("a short")?.into(),
            Long => self.u32("a long")?.into(),
            LongLong => self.u64("a long-long")?.into(),
            ShortStr => text(self.short_str("a short string")?),
            LongStr => text(self.long_str("a long string")?),
            Bit => Value::Bool(self.u8("a bit field")? & 1 != 0),
            Table => self.table(0)?,
        })
    }

    fn table(&mut self, depth: usize) -> Result<Value, WireError> {
        if depth >= MAX_DEPTH {
            return Err(WireError::TooDeep);
        }
        let bytes = self.long_str("a field table")?;
        let mut inner = Reader { data: bytes, pos: 0 };
        let mut map = Map::new();
        while inner.pos < bytes.len() {
            let name = String::from_utf8_lossy(inner.short_str("a field name")?).into_owned();
            let value = inner.field_value(depth)?;
            map.insert(name, value);
        }
        Ok(Value::Object(map))
    }

    fn field_array(&mut self, depth: usize) -> Result<Value, WireError> {
        if depth >= MAX_DEPTH {
            return Err(WireError::TooDeep);
        }
        let bytes = self.long_str("a field array")?;
        let mut inner = Reader { data: bytes, pos: 0 };
        let mut items = Vec::new();
        while inner.pos < bytes.len() {
            items.push(inner.field_value(depth)?);
        }
        Ok(Value::Array(items))
    }

    /// A typed value of a field table or array (RabbitMQ's reading of the types).
    fn field_value(&mut self, depth: usize) -> Result<Value, WireError> {
        let tag = self.u8("a field type")?;
        Ok(match tag {
            b't' => Value::Bool(self.u8("a boolean")? != 0),
            b'b' => (self.u8("a short-short int")? as i8).into(),
            b'B' => self.u8("a short-short uint")?.into(),
            b's' => (self.u16("a short int")? as i16).into(),
            b'u' => self.u16("a short uint")?.into(),
            b'I' => (self.u32("a long int")? as i32).into(),
            b'i' => self.u32("a long uint")?.into(),
            b'l' => (self.u64("a long-long int")? as i64).into(),
            b'L' => self.u64("a long-long uint")?.into(),
            b'f' => f32::from_bits(self.u32("a float")?).to_string().into(),
            b'd' => f64::from_bits(self.u64("a double")?).to_string().into(),
            b'D' => {
                let scale = self.u8("a decimal")?;
                let value = self.u32("a decimal")? as i32;
                decimal(value, scale).into()
            }
            b'S' => text(self.long_str("a long string")?),
            b'x' => base64::engine::general_purpose::STANDARD.encode(self.long_str("a byte array")?).into(),
            b'A' => self.field_array(depth + 1)?,
            b'T' => self.u64("a timestamp")?.into(),
            b'F' => self.table(depth + 1)?,
            b'V' => Value::Null,
            other => return Err(WireError::UnknownFieldType(other)),
        })
    }
}

/// A string as it was sent; bytes that are not UTF-8 are replaced (U+FFFD).
fn text(bytes: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(bytes).into_owned())
}

/// A decimal value (`value` × 10^-`scale`) as text, e.g. "12.50".
fn decimal(value: i32, scale: u8) -> String {
    if scale == 0 {
        return value.to_string();
    }
    let digits = value.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded =
        if digits.len() <= scale { format!("{}{digits}", "0".repeat(scale + 1 - digits.len())) } else { digits };
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{int}.{frac}", if value < 0 { "-" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_ids_are_unique_and_responses_exist() {
        for (i, a) in METHODS.iter().enumerate() {
            for b in &METHODS[i + 1..] {
                assert!((a.class, a.method) != (b.class, b.method), "{} and {}", a.name, b.name);
            }
            for r in a.responses {
                let resp = method_spec(a.class, *r).unwrap();
                assert_eq!(request_of(resp).map(|s| s.name), Some(a.name));
            }
        }
    }

    #[test]
    fn decimals() {
        assert_eq!(decimal(1250, 2), "12.50");
        assert_eq!(decimal(-5, 3), "-0.005");
        assert_eq!(decimal(7, 0), "7");
    }

    #[test]
    fn deep_tables_are_refused_not_recursed() {
        // A table holding a table holding ... MAX_DEPTH + 2 deep.
        let mut t: Vec<u8> = Vec::new();
        for _ in 0..MAX_DEPTH + 2 {
            let mut outer = vec![1, b'k', b'F'];
            outer.extend_from_slice(&(t.len() as u32).to_be_bytes());
            outer.extend_from_slice(&t);
            t = outer;
        }
        let mut payload = vec![0, 60, 0, 20, 0, 0, 1, b'q', 0, 0];
        payload.extend_from_slice(&(t.len() as u32).to_be_bytes());
        payload.extend_from_slice(&t);
        assert_eq!(parse_method(&payload), Err(WireError::TooDeep));
    }
}
