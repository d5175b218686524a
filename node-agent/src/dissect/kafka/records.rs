//! Record sets (protocol guide, "Record Batch" and the older "Message Sets"): the batches of a
//! Produce request's or a Fetch response's partition, their records' offsets, timestamps, keys,
//! values and headers. Compressed batches are decompressed (gzip, snappy raw or xerial-framed,
//! LZ4 frames, zstd) with the output capped, so a decompression bomb costs at most the cap.
//! A fetch response may end its record set in the middle of a batch (the broker fills up to a
//! byte limit): that partial batch is reported as such, not as damage.

use super::wire::{Reader, WireError};
use base64::Engine as _;
use serde_json::{Map, Value};
use std::io::Read;
use thiserror::Error;

/// What record decoding may spend on one message.
#[derive(Clone, Copy, Debug)]
pub struct RecordLimits {
    /// Bytes of keys, values and header values shown per message, all records together (each
    /// one is cut where the budget runs out).
    pub value_bytes: usize,
    /// Records shown per message (all are counted).
    pub max_records: usize,
    /// Bytes all the batches of one message may decompress to.
    pub decompressed: usize,
}

/// What record decoding found in one message, across its record sets.
#[derive(Clone, Debug, Default)]
pub struct RecordTally {
    /// Records counted (from the batch headers).
    pub records: u64,
    pub shown: usize,
    /// Bytes of keys and values shown so far.
    pub shown_bytes: usize,
    pub decompressed: usize,
    pub notes: Vec<String>,
}

impl RecordTally {
    fn note(&mut self, note: String) {
        if self.notes.len() < 8 && !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }
}

#[derive(Debug, Error)]
pub enum DecompressError {
    #[error("unknown compression codec {0}")]
    UnknownCodec(u8),
    #[error("{codec} data is corrupt: {reason}")]
    Corrupt { codec: &'static str, reason: String },
    #[error("{codec} data decompresses to more than {cap} bytes")]
    TooLarge { codec: &'static str, cap: usize },
}

pub fn codec_name(codec: u8) -> &'static str {
    match codec {
        0 => "none",
        1 => "gzip",
        2 => "snappy",
        3 => "lz4",
        4 => "zstd",
        _ => "unknown",
    }
}

const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];

fn read_capped(mut reader: impl Read, codec: &'static str, cap: usize) -> Result<Vec<u8>, DecompressError> {
    let mut out = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    (&mut reader)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| DecompressError::Corrupt { codec, reason: e.to_string() })?;
    if out.len() > cap {
        return Err(DecompressError::TooLarge { codec, cap });
    }
    Ok(out)
}

fn snappy_block(block: &[u8], out: &mut Vec<u8>, cap: usize) -> Result<(), DecompressError> {
    let corrupt = |e: snap::Error| DecompressError::Corrupt { codec: "snappy", reason: e.to_string() };
    let len = snap::raw::decompress_len(block).map_err(corrupt)?;
    if out.len().saturating_add(len) > cap {
        return Err(DecompressError::TooLarge { codec: "snappy", cap });
    }
    let start = out.len();
    out.resize(start + len, 0);
    let written = snap::raw::Decoder::new().decompress(block, &mut out[start..]).map_err(corrupt)?;
    out.truncate(start + written);
    Ok(())
}

/// Kafka's snappy: the xerial framing (magic, version, compatible version, then blocks each
/// behind a 4-byte length) as the Java client writes it, or one raw snappy block.
fn snappy(data: &[u8], cap: usize) -> Result<Vec<u8>, DecompressError> {
    let mut out = Vec::new();
    if data.starts_with(&XERIAL_MAGIC) {
        let mut r = Reader::new(data.get(16..).unwrap_or(&[]));
        while r.remaining() > 0 {
            let block = r
                .i32("xerial block length")
                .and_then(|n| r.take(usize::try_from(n).unwrap_or(usize::MAX), "xerial block"))
                .map_err(|e| DecompressError::Corrupt { codec: "snappy", reason: e.to_string() })?;
            snappy_block(block, &mut out, cap)?;
        }
    } else {
        snappy_block(data, &mut out, cap)?;
    }
    Ok(out)
}

/// Decompresses a batch's records with `codec` (the attributes' low 3 bits), to at most `cap` bytes.
pub fn decompress(codec: u8, data: &[u8], cap: usize) -> Result<Vec<u8>, DecompressError> {
    match codec {
        1 => read_capped(flate2::read::MultiGzDecoder::new(data), "gzip", cap),
        2 => snappy(data, cap),
        3 => read_capped(lz4_flex::frame::FrameDecoder::new(data), "lz4", cap),
        4 => {
            let corrupt = |e: std::io::Error| DecompressError::Corrupt { codec: "zstd", reason: e.to_string() };
            let mut decoder = zstd::stream::read::Decoder::with_buffer(data).map_err(corrupt)?;
            // Refuse frames that ask for a window over 8 MiB: the window is allocated up front.
            decoder.window_log_max(23).map_err(corrupt)?;
            read_capped(decoder, "zstd", cap)
        }
        other => Err(DecompressError::UnknownCodec(other)),
    }
}

/// A key, value or header value as JSON: the text when it is UTF-8, else base64; at most
/// `limit` bytes of it. Returns the value and whether it was cut.
fn blob(bytes: &[u8], limit: usize) -> (Value, bool) {
    let cut = bytes.len() > limit;
    let shown = bytes.get(..limit).unwrap_or(bytes);
    match std::str::from_utf8(shown) {
        Ok(text) => (Value::String(text.to_owned()), cut),
        // A multi-byte character cut by the limit is still text.
        Err(e) if cut && e.error_len().is_none() => {
            (Value::String(String::from_utf8_lossy(shown.get(..e.valid_up_to()).unwrap_or(&[])).into_owned()), cut)
        }
        Err(_) => {
            let mut m = Map::new();
            m.insert("base64".into(), Value::String(base64::engine::general_purpose::STANDARD.encode(shown)));
            (Value::Object(m), cut)
        }
    }
}

fn put_blob(m: &mut Map<String, Value>, name: &str, bytes: Option<&[u8]>, budget: usize, tally: &mut RecordTally) {
    let limit = budget.saturating_sub(tally.shown_bytes);
    match bytes {
        None => {
            m.insert(name.into(), Value::Null);
        }
        Some(b) => {
            let (v, cut) = blob(b, limit);
            tally.shown_bytes += b.len().min(limit);
            m.insert(name.into(), v);
            if cut {
                m.insert(format!("{name}_size"), Value::from(b.len()));
                tally.note(format!("record keys and values shown up to {budget} bytes per message"));
            }
        }
    }
}

/// A varint length then that many bytes; -1 is null.
fn var_bytes<'a>(r: &mut Reader<'a>, what: &'static str) -> Result<Option<&'a [u8]>, WireError> {
    let at = r.pos();
    match r.varint(what)? {
        -1 => Ok(None),
        n if n < 0 => Err(WireError::Invalid { what, at }),
        n => r.take(usize::try_from(n).map_err(|_| WireError::Invalid { what, at })?, what).map(Some),
    }
}

/// One record of a v2 batch.
fn record(
    r: &mut Reader<'_>,
    base_offset: i64,
    base_ts: i64,
    limits: &RecordLimits,
    tally: &mut RecordTally,
) -> Result<Value, WireError> {
    let at = r.pos();
    let len = r.varint("record length")?;
    let len = usize::try_from(len).map_err(|_| WireError::Invalid { what: "record length", at })?;
    let mut r = Reader::new(r.take(len, "record")?);
    let _attributes = r.i8("record attributes")?;
    let ts_delta = r.varint("timestamp delta")?;
    let offset_delta = r.varint("offset delta")?;
    let mut m = Map::new();
    m.insert("offset".into(), Value::from(base_offset.wrapping_add(offset_delta)));
    m.insert("timestamp".into(), Value::from(base_ts.wrapping_add(ts_delta)));
    put_blob(&mut m, "key", var_bytes(&mut r, "record key")?, limits.value_bytes, tally);
    put_blob(&mut m, "value", var_bytes(&mut r, "record value")?, limits.value_bytes, tally);
    let at = r.pos();
    let count = r.varint("header count")?;
    let count = usize::try_from(count).map_err(|_| WireError::Invalid { what: "header count", at })?;
    if count > r.remaining() {
        return Err(WireError::Truncated { what: "record headers", at });
    }
    let mut headers = Vec::with_capacity(count);
    for _ in 0..count {
        let key = var_bytes(&mut r, "header key")?.unwrap_or_default();
        let value = var_bytes(&mut r, "header value")?;
        let key = Value::String(String::from_utf8_lossy(key).into_owned());
        let value = value.map_or(Value::Null, |v| {
            let limit = limits.value_bytes.saturating_sub(tally.shown_bytes);
            tally.shown_bytes += v.len().min(limit);
            blob(v, limit).0
        });
        headers.push(Value::Array(vec![key, value]));
    }
    m.insert("headers".into(), Value::Array(headers));
    Ok(Value::Object(m))
}

/// A v2 batch whose 61-byte header was read; `body` is its (possibly compressed) records.
fn batch_v2(
    r: &mut Reader<'_>,
    base_offset: i64,
    limits: &RecordLimits,
    tally: &mut RecordTally,
) -> Result<Value, WireError> {
    let mut m = Map::new();
    let leader_epoch = r.i32("partition leader epoch")?;
    let magic = r.i8("magic")?;
    let _crc = r.u32("crc")?;
    let attributes = r.i16("attributes")?;
    let last_offset_delta = r.i32("last offset delta")?;
    let base_ts = r.i64("base timestamp")?;
    let max_ts = r.i64("max timestamp")?;
    let producer_id = r.i64("producer id")?;
    let producer_epoch = r.i16("producer epoch")?;
    let base_sequence = r.i32("base sequence")?;
    let at = r.pos();
    let count = r.i32("record count")?;
    let count = u32::try_from(count).map_err(|_| WireError::Invalid { what: "record count", at })?;
    let codec = (attributes & 0x7) as u8;
    m.insert("base_offset".into(), Value::from(base_offset));
    m.insert("partition_leader_epoch".into(), Value::from(leader_epoch));
    m.insert("magic".into(), Value::from(magic));
    m.insert("compression".into(), Value::from(codec_name(codec)));
    m.insert("timestamp_type".into(), Value::from(if attributes & 0x8 != 0 { "log_append" } else { "create" }));
    m.insert("transactional".into(), Value::from(attributes & 0x10 != 0));
    m.insert("control".into(), Value::from(attributes & 0x20 != 0));
    m.insert("last_offset_delta".into(), Value::from(last_offset_delta));
    m.insert("base_timestamp".into(), Value::from(base_ts));
    m.insert("max_timestamp".into(), Value::from(max_ts));
    m.insert("producer_id".into(), Value::from(producer_id));
    m.insert("producer_epoch".into(), Value::from(producer_epoch));
    m.insert("base_sequence".into(), Value::from(base_sequence));
    m.insert("record_count".into(), Value::from(count));
    tally.records += u64::from(count);
    let body = r.rest();
    if tally.shown >= limits.max_records {
        // Nothing more is shown: do not spend a decompression on it.
        tally.note(format!("only the first {} records of the message shown", limits.max_records));
        m.insert("records".into(), Value::Array(Vec::new()));
        return Ok(Value::Object(m));
    }
    let decompressed;
    let plain: &[u8] = if codec == 0 {
        body
    } else {
        let cap = limits.decompressed.saturating_sub(tally.decompressed);
        match decompress(codec, body, cap) {
            Ok(out) => {
                tally.decompressed += out.len();
                decompressed = out;
                &decompressed
            }
            Err(e) => {
                tally.note(format!("records not shown: {e}"));
                m.insert("records".into(), Value::Array(Vec::new()));
                return Ok(Value::Object(m));
            }
        }
    };
    let mut rr = Reader::new(plain);
    let mut records = Vec::new();
    for _ in 0..count {
        if tally.shown >= limits.max_records {
            tally.note(format!("only the first {} records of the message shown", limits.max_records));
            break;
        }
        match record(&mut rr, base_offset, base_ts, limits, tally) {
            Ok(rec) => {
                records.push(rec);
                tally.shown += 1;
            }
            Err(e) => {
                tally.note(format!("record batch at offset {base_offset}: {e}"));
                break;
            }
        }
    }
    m.insert("records".into(), Value::Array(records));
    Ok(Value::Object(m))
}

/// A legacy message (magic 0 or 1), and the messages inside it when it is a compressed wrapper.
fn legacy_message(
    r: &mut Reader<'_>,
    offset: i64,
    magic: i8,
    depth: u8,
    limits: &RecordLimits,
    tally: &mut RecordTally,
    out: &mut Vec<Value>,
) -> Result<(), WireError> {
    let attributes = r.i8("attributes")?;
    let timestamp = if magic == 1 { Some(r.i64("timestamp")?) } else { None };
    let key = r.bytes(false, "message key")?;
    let value = r.bytes(false, "message value")?;
    let codec = (attributes & 0x7) as u8;
    if codec != 0 && depth == 0 {
        let Some(value) = value else { return Ok(()) };
        let cap = limits.decompressed.saturating_sub(tally.decompressed);
        match decompress(codec, value, cap) {
            Ok(inner) => {
                tally.decompressed += inner.len();
                legacy_set(&inner, depth + 1, limits, tally, out);
            }
            Err(e) => tally.note(format!("records not shown: {e}")),
        }
        return Ok(());
    }
    tally.records += 1;
    if tally.shown >= limits.max_records {
        tally.note(format!("only the first {} records of the message shown", limits.max_records));
        return Ok(());
    }
    let mut m = Map::new();
    m.insert("offset".into(), Value::from(offset));
    m.insert("magic".into(), Value::from(magic));
    m.insert("compression".into(), Value::from(codec_name(codec)));
    if let Some(ts) = timestamp {
        m.insert("timestamp".into(), Value::from(ts));
    }
    put_blob(&mut m, "key", key, limits.value_bytes, tally);
    put_blob(&mut m, "value", value, limits.value_bytes, tally);
    out.push(Value::Object(m));
    tally.shown += 1;
    Ok(())
}

fn legacy_set(data: &[u8], depth: u8, limits: &RecordLimits, tally: &mut RecordTally, out: &mut Vec<Value>) {
    let mut r = Reader::new(data);
    while r.remaining() >= 12 {
        let Ok(offset) = r.i64("offset") else { break };
        let Ok(size) = r.i32("message size") else { break };
        let Some(body) = usize::try_from(size).ok().and_then(|n| r.take(n, "message").ok()) else {
            break; // a message cut by the fetch size limit
        };
        let mut m = Reader::new(body);
        let result = m.u32("crc").and_then(|_| m.i8("magic")).and_then(|magic| {
            if matches!(magic, 0 | 1) {
                legacy_message(&mut m, offset, magic, depth, limits, tally, out)
            } else {
                Err(WireError::Invalid { what: "message magic", at: 4 })
            }
        });
        if let Err(e) = result {
            tally.note(format!("message at offset {offset}: {e}"));
            break;
        }
    }
}

/// A partition's record set as JSON: `{"size", "batches": [...]}` for v2 batches (each with
/// its `records`), or `{"size", "messages": [...]}` for legacy message sets.
pub fn decode(data: &[u8], limits: &RecordLimits, tally: &mut RecordTally) -> Value {
    let mut out = Map::new();
    out.insert("size".into(), Value::from(data.len()));
    // The magic byte sits at offset 16 in both formats (after offset, length, and the v2
    // leader epoch or the legacy crc).
    if data.get(16).is_some_and(|m| matches!(m, 0 | 1)) {
        let mut messages = Vec::new();
        legacy_set(data, 0, limits, tally, &mut messages);
        out.insert("messages".into(), Value::Array(messages));
        return Value::Object(out);
    }
    let mut r = Reader::new(data);
    let mut batches = Vec::new();
    while r.remaining() > 0 {
        let header = r.i64("base offset").and_then(|o| Ok((o, r.i32("batch length")?)));
        let Ok((base_offset, len)) = header else {
            out.insert("partial_batch".into(), Value::from(true));
            break;
        };
        let Some(body) = usize::try_from(len).ok().and_then(|n| r.take(n, "batch").ok()) else {
            // The fetch size limit cut the last batch: normal, the client fetches it again.
            out.insert("partial_batch".into(), Value::from(true));
            break;
        };
        let mut br = Reader::new(body);
        if body.get(4) != Some(&2) {
            tally.note(format!("record batch at offset {base_offset} has an unknown magic"));
            break;
        }
        match batch_v2(&mut br, base_offset, limits, tally) {
            Ok(b) => batches.push(b),
            Err(e) => {
                tally.note(format!("record batch at offset {base_offset}: {e}"));
                break;
            }
        }
    }
    out.insert("batches".into(), Value::Array(batches));
    Value::Object(out)
}
