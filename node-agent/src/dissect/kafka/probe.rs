//! Recognising Kafka from content (never the port). A client's first bytes are claimed when they
//! start a request: a 4-byte size between [`MIN_REQUEST`] and [`MAX_SIZE`], an API key the
//! protocol guide lists with a version it has (or [`VERSION_SLACK`](super::codes::VERSION_SLACK)
//! newer), a non-negative correlation id, and a client id that is null or printable ASCII
//! within the size. When the whole request is there (it nearly always is: the first request is
//! ApiVersions or Metadata), its body must decode to the end as well. Text protocols fail on the
//! size's first byte (it is 0 for any size below 16 MiB); TLS, PostgreSQL's startup, MongoDB's
//! little-endian lengths and Redis fail on the size, key or client id.
//!
//! Responses cannot be recognised alone (they carry no API key). A connection picked up mid-way
//! is claimed at the first offset where a whole request passes these checks.

use super::codes;
use super::decode::{self, Found};
use super::records::RecordLimits;
use super::schema;
use super::wire::Reader;
use serde_json::Map;

/// The smallest request: size, api key, version, correlation id, empty client id.
pub const MIN_REQUEST: usize = 10;
/// Largest size taken from a frame header (the broker's default `socket.request.max.bytes`, 100 MiB).
pub const MAX_SIZE: usize = 100 * 1024 * 1024;
/// A request longer than this is claimed on its header alone once this many bytes of it arrived.
pub const HEADER_CLAIM: usize = 512;
/// A connection's first request up to this long must decode entirely (longer ones: the header
/// decides, so a first request longer than the engine's probe buffer is still recognised).
pub const FIRST_CHECKED: usize = 4096;
/// Requests longer than this are not decoded while resynchronising (the header decides).
pub const MAX_CHECKED: usize = 64 * 1024;

/// The verdict on the bytes at the front of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Candidate {
    No,
    /// Plausible so far; more bytes are needed to tell.
    NeedMore,
    /// A request starts here, `len` bytes long (size prefix included); `checked` when its whole
    /// body decoded.
    Request {
        len: usize,
        checked: bool,
    },
}

fn printable(id: &[u8]) -> bool {
    id.iter().all(|b| (0x20..0x7f).contains(b))
}

const PROBE_LIMITS: RecordLimits = RecordLimits { value_bytes: 0, max_records: 0, decompressed: 0 };

/// Whether a complete request (without its size prefix) decodes to its last byte.
pub fn body_decodes(msg: &[u8]) -> bool {
    let mut r = Reader::new(msg);
    let Ok(h) = decode::request_header(&mut r) else { return false };
    match schema::api(h.api_key) {
        None => true,
        Some(api) => {
            let mut found = Found::default();
            let mut out = Map::new();
            decode::decode_request(api, h.api_version, &mut r, &PROBE_LIMITS, &mut found, &mut out).is_ok()
                && r.remaining() == 0
        }
    }
}

/// Classifies the bytes at the front of `buf` as the start of a request. `decode_up_to`: a
/// complete request up to this long must decode entirely to be claimed.
pub fn request_candidate(buf: &[u8], decode_up_to: usize) -> Candidate {
    let Some(size) = buf.get(..4) else { return Candidate::NeedMore };
    let size = i32::from_be_bytes([size[0], size[1], size[2], size[3]]);
    let Ok(size) = usize::try_from(size) else { return Candidate::No };
    if !(MIN_REQUEST - 4..=MAX_SIZE).contains(&size) {
        return Candidate::No;
    }
    let len = size + 4;
    let avail = buf.get(4..len).unwrap_or_else(|| buf.get(4..).unwrap_or(&[]));
    // Bytes missing from the header: more may come, unless the message ended already.
    let short = if avail.len() >= size { Candidate::No } else { Candidate::NeedMore };
    let mut r = Reader::new(avail);
    let (Ok(key), Ok(version)) = (r.i16("api key"), r.i16("api version")) else {
        return short;
    };
    if !codes::known_version(key, version) {
        return Candidate::No;
    }
    let Ok(correlation) = r.i32("correlation id") else { return short };
    if correlation < 0 {
        return Candidate::No;
    }
    if !(key == 7 && version == 0) {
        let Ok(n) = r.i16("client id") else { return short };
        if n < -1 || 10 + i64::from(n.max(0)) > len as i64 {
            return Candidate::No;
        }
        if n > 0 {
            let id = r.rest().get(..n as usize);
            match id {
                None if avail.len() < size => {
                    return if printable(r.rest()) { Candidate::NeedMore } else { Candidate::No };
                }
                Some(id) if printable(id) => {}
                _ => return Candidate::No,
            }
        }
    }
    if avail.len() < size {
        return if size > decode_up_to && avail.len() >= HEADER_CLAIM {
            Candidate::Request { len, checked: false }
        } else {
            Candidate::NeedMore
        };
    }
    if size <= decode_up_to || schema::api(key).is_some() {
        if body_decodes(avail) {
            Candidate::Request { len, checked: true }
        } else {
            Candidate::No
        }
    } else {
        Candidate::Request { len, checked: false }
    }
}

/// A request start after lost sync: the probe's checks with a non-empty client id (real clients
/// send one; an empty or null one is what zeros inside a message look like) and requests over
/// [`MAX_CHECKED`] bytes taken on their header.
pub fn resync_candidate(buf: &[u8]) -> Candidate {
    match buf.get(12..14) {
        None => {
            if buf.len() >= 4 && request_candidate(buf, MAX_CHECKED) == Candidate::No {
                Candidate::No
            } else {
                Candidate::NeedMore
            }
        }
        Some(n) if i16::from_be_bytes([n[0], n[1]]) <= 0 && buf.get(4..8) != Some(&[0, 7, 0, 0]) => Candidate::No,
        Some(_) => request_candidate(buf, MAX_CHECKED),
    }
}

/// The probe of a connection's first bytes. `mid_stream`: the capture missed the connection's
/// start, so a request may start further in.
pub fn stream(data: &[u8], mid_stream: bool) -> crate::dissect::Probe {
    use crate::dissect::Probe;
    match request_candidate(data, FIRST_CHECKED) {
        Candidate::Request { .. } => return Probe::Client,
        Candidate::NeedMore => return Probe::NeedMore,
        Candidate::No if !mid_stream => return Probe::No,
        Candidate::No => {}
    }
    let mut need_more = false;
    for at in 1..data.len() {
        let rest = data.get(at..).unwrap_or(&[]);
        match resync_candidate(rest) {
            Candidate::Request { checked: true, .. } => return Probe::Client,
            Candidate::NeedMore | Candidate::Request { checked: false, .. } => need_more = true,
            Candidate::No => {}
        }
    }
    if need_more {
        Probe::NeedMore
    } else {
        Probe::No
    }
}
