//! The MongoDB wire protocol's messages (MongoDB "Wire Protocol" reference): the 16-byte header,
//! OP_MSG with its sections and optional checksum, OP_COMPRESSED, and the legacy OP_QUERY and
//! OP_REPLY still used for the first handshake. Pure functions over one message's bytes; the
//! documents stay in place.

use super::bson::{declared_len, Doc};
use thiserror::Error;

pub const HEADER_LEN: usize = 16;
/// The largest message a server accepts (maxMessageSizeBytes).
pub const MAX_MESSAGE_LEN: usize = 48_000_000;

pub const OP_REPLY: i32 = 1;
pub const OP_UPDATE: i32 = 2001;
pub const OP_INSERT: i32 = 2002;
pub const OP_QUERY: i32 = 2004;
pub const OP_GET_MORE: i32 = 2005;
pub const OP_DELETE: i32 = 2006;
pub const OP_KILL_CURSORS: i32 = 2007;
pub const OP_COMPRESSED: i32 = 2012;
pub const OP_MSG: i32 = 2013;

/// OP_MSG flag bits.
pub const CHECKSUM_PRESENT: u32 = 1 << 0;
pub const MORE_TO_COME: u32 = 1 << 1;
pub const EXHAUST_ALLOWED: u32 = 1 << 16;
/// Bits a sender may set; the others are reserved and must be zero.
const KNOWN_FLAGS: u32 = CHECKSUM_PRESENT | MORE_TO_COME | EXHAUST_ALLOWED;

/// The name of an opcode the framing accepts.
pub fn op_name(op: i32) -> Option<&'static str> {
    Some(match op {
        OP_REPLY => "OP_REPLY",
        OP_UPDATE => "OP_UPDATE",
        OP_INSERT => "OP_INSERT",
        OP_QUERY => "OP_QUERY",
        OP_GET_MORE => "OP_GET_MORE",
        OP_DELETE => "OP_DELETE",
        OP_KILL_CURSORS => "OP_KILL_CURSORS",
        OP_COMPRESSED => "OP_COMPRESSED",
        OP_MSG => "OP_MSG",
        _ => return None,
    })
}

/// Why a message could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum WireError {
    #[error("message shorter than its {0} header")]
    Short(&'static str),
    #[error("opcode {0} is not a MongoDB message")]
    UnknownOpcode(i32),
    #[error("OP_MSG reserved flag bits set: 0x{0:08x}")]
    ReservedFlags(u32),
    #[error("OP_MSG section kind {kind} unknown at offset {at}")]
    SectionKind { kind: u8, at: usize },
    #[error("OP_MSG document sequence at offset {at} is malformed")]
    BadSequence { at: usize },
    #[error("OP_MSG has no body section")]
    NoBody,
    #[error("{0}")]
    Bson(#[from] super::bson::BsonError),
    #[error("OP_QUERY collection name is not a C string")]
    BadCollectionName,
    #[error("OP_COMPRESSED compressor {0} unknown")]
    UnknownCompressor(u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub length: usize,
    pub request_id: i32,
    pub response_to: i32,
    pub op: i32,
}

fn le_i32(b: &[u8], at: usize) -> Option<i32> {
    b.get(at..at + 4).map(|s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

impl Header {
    /// The header at the start of `b` (at least 16 bytes), without judging it.
    pub fn read(b: &[u8]) -> Option<Header> {
        Some(Header {
            length: le_i32(b, 0)? as u32 as usize,
            request_id: le_i32(b, 4)?,
            response_to: le_i32(b, 8)?,
            op: le_i32(b, 12)?,
        })
    }

    /// A length and opcode a MongoDB peer can send (legacy opcodes included).
    pub fn is_sane(&self) -> bool {
        op_name(self.op).is_some() && self.length > HEADER_LEN && self.length <= MAX_MESSAGE_LEN
    }
}

/// One section of an OP_MSG.
#[derive(Clone, Copy, Debug)]
pub struct Sequence<'a> {
    pub identifier: &'a str,
    /// The documents, back to back.
    pub docs: &'a [u8],
}

impl<'a> Sequence<'a> {
    /// The documents of the sequence (stops at the first malformed one).
    pub fn documents(&self) -> impl Iterator<Item = Doc<'a>> + 'a {
        let mut rest = self.docs;
        std::iter::from_fn(move || {
            let (doc, len) = Doc::parse(rest).ok()?;
            rest = rest.get(len..).unwrap_or_default();
            Some(doc)
        })
    }
}

/// A message's content after the header.
#[derive(Clone, Debug)]
pub enum Body<'a> {
    Msg {
        flags: u32,
        body: Doc<'a>,
        sequences: Vec<Sequence<'a>>,
        checksum: Option<u32>,
    },
    Query {
        flags: i32,
        collection: &'a str,
        skip: i32,
        to_return: i32,
        query: Doc<'a>,
    },
    Reply {
        flags: i32,
        cursor_id: i64,
        starting_from: i32,
        returned: i32,
        docs: &'a [u8],
    },
    Compressed {
        original_op: i32,
        uncompressed_size: usize,
        compressor: u8,
        data: &'a [u8],
    },
    /// A legacy opcode the dissector does not decode (OP_INSERT, OP_GET_MORE, ...).
    Legacy,
}

/// Parses the part of a message after its header (`rest`), for opcode `op`. `partial`: the
/// message was cut by the frame limit, so its documents may be incomplete (read what there is).
pub fn parse_body(op: i32, rest: &[u8], partial: bool) -> Result<Body<'_>, WireError> {
    match op {
        OP_MSG => parse_msg(rest, partial),
        OP_QUERY => {
            let flags = le_i32(rest, 0).ok_or(WireError::Short("OP_QUERY"))?;
            let tail = rest.get(4..).ok_or(WireError::Short("OP_QUERY"))?;
            let end = tail.iter().position(|&c| c == 0).ok_or(WireError::BadCollectionName)?;
            let collection = std::str::from_utf8(&tail[..end]).map_err(|_| WireError::BadCollectionName)?;
            let at = 4 + end + 1;
            let skip = le_i32(rest, at).ok_or(WireError::Short("OP_QUERY"))?;
            let to_return = le_i32(rest, at + 4).ok_or(WireError::Short("OP_QUERY"))?;
            let q = rest.get(at + 8..).ok_or(WireError::Short("OP_QUERY"))?;
            let query = if partial { Doc::partial(q) } else { Doc::parse(q)?.0 };
            Ok(Body::Query { flags, collection, skip, to_return, query })
        }
        OP_REPLY => {
            let flags = le_i32(rest, 0).ok_or(WireError::Short("OP_REPLY"))?;
            let lo = le_i32(rest, 4).ok_or(WireError::Short("OP_REPLY"))? as u32 as u64;
            let hi = le_i32(rest, 8).ok_or(WireError::Short("OP_REPLY"))? as u32 as u64;
            let starting_from = le_i32(rest, 12).ok_or(WireError::Short("OP_REPLY"))?;
            let returned = le_i32(rest, 16).ok_or(WireError::Short("OP_REPLY"))?;
            let docs = rest.get(20..).unwrap_or_default();
            Ok(Body::Reply { flags, cursor_id: (hi << 32 | lo) as i64, starting_from, returned, docs })
        }
        OP_COMPRESSED => {
            let original_op = le_i32(rest, 0).ok_or(WireError::Short("OP_COMPRESSED"))?;
            let size = le_i32(rest, 4).ok_or(WireError::Short("OP_COMPRESSED"))?;
            let compressor = *rest.get(8).ok_or(WireError::Short("OP_COMPRESSED"))?;
            if compressor > 3 {
                return Err(WireError::UnknownCompressor(compressor));
            }
            if op_name(original_op).is_none() || original_op == OP_COMPRESSED {
                return Err(WireError::UnknownOpcode(original_op));
            }
            let data = rest.get(9..).unwrap_or_default();
            Ok(Body::Compressed { original_op, uncompressed_size: size as u32 as usize, compressor, data })
        }
        op if op_name(op).is_some() => Ok(Body::Legacy),
        op => Err(WireError::UnknownOpcode(op)),
    }
}

fn parse_msg(rest: &[u8], partial: bool) -> Result<Body<'_>, WireError> {
    let flags = le_i32(rest, 0).ok_or(WireError::Short("OP_MSG"))? as u32;
    if flags & !KNOWN_FLAGS != 0 {
        return Err(WireError::ReservedFlags(flags));
    }
    let (sections_end, checksum) = if flags & CHECKSUM_PRESENT != 0 && !partial {
        let end = rest.len().checked_sub(4).filter(|&e| e >= 4).ok_or(WireError::Short("OP_MSG"))?;
        (end, le_i32(rest, end).map(|c| c as u32))
    } else {
        (rest.len(), None)
    };
    let mut at = 4;
    let mut body = None;
    let mut sequences = Vec::new();
    while at < sections_end {
        let kind = rest[at];
        let section = &rest[at + 1..sections_end];
        match kind {
            0 => {
                if partial && declared_len(section, 0).is_err() {
                    body.get_or_insert(Doc::partial(section));
                    break;
                }
                let (doc, len) = Doc::parse(section)?;
                if body.is_some() {
                    // Only one body is allowed; keep the first.
                    return Err(WireError::SectionKind { kind, at });
                }
                body = Some(doc);
                at += 1 + len;
            }
            1 => {
                let size = le_i32(section, 0).map(|s| s as u32 as usize);
                let whole = size.and_then(|s| section.get(..s).filter(|_| s >= 4));
                let Some(seq) = whole else {
                    if partial {
                        break;
                    }
                    return Err(WireError::BadSequence { at });
                };
                let id_end = seq[4..].iter().position(|&c| c == 0).ok_or(WireError::BadSequence { at })?;
                let identifier = std::str::from_utf8(&seq[4..4 + id_end]).map_err(|_| WireError::BadSequence { at })?;
                sequences.push(Sequence { identifier, docs: &seq[4 + id_end + 1..] });
                at += 1 + seq.len();
            }
            kind => return Err(WireError::SectionKind { kind, at }),
        }
    }
    let body = body.ok_or(WireError::NoBody)?;
    Ok(Body::Msg { flags, body, sequences, checksum })
}

/// The names of the OP_MSG flags that are set.
pub fn flag_names(flags: u32) -> Vec<&'static str> {
    let mut names = Vec::new();
    if flags & CHECKSUM_PRESENT != 0 {
        names.push("checksumPresent");
    }
    if flags & MORE_TO_COME != 0 {
        names.push("moreToCome");
    }
    if flags & EXHAUST_ALLOWED != 0 {
        names.push("exhaustAllowed");
    }
    names
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of `data`: OP_MSG's checksum covers the
/// whole message, header included, up to the checksum.
pub fn crc32c(data: &[u8]) -> u32 {
    const POLY: u32 = 0x82F6_3B78;
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, slot) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            }
            *slot = c;
        }
        t
    });
    let mut crc = !0u32;
    for &b in data {
        crc = table[((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

/// How sure the first bytes of a stream are to be a MongoDB message, and from which side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plausible {
    No,
    NeedMore,
    Client,
    Server,
}

/// Judges a message start: a sane header and a first section (or legacy fields) that fits it.
/// Legacy write opcodes are not enough to recognise a stream (only to keep framing).
pub fn plausible_start(b: &[u8]) -> Plausible {
    if let Some(l) = b.get(..4) {
        let len = i32::from_le_bytes([l[0], l[1], l[2], l[3]]);
        if len <= HEADER_LEN as i32 || len as usize > MAX_MESSAGE_LEN {
            return Plausible::No;
        }
    }
    let Some(h) = Header::read(b) else { return Plausible::NeedMore };
    if !h.is_sane() {
        return Plausible::No;
    }
    let side = match h.op {
        OP_MSG | OP_COMPRESSED if h.response_to == 0 => Plausible::Client,
        OP_MSG | OP_COMPRESSED => Plausible::Server,
        OP_QUERY if h.response_to == 0 => Plausible::Client,
        OP_REPLY if h.response_to != 0 => Plausible::Server,
        _ => return Plausible::No,
    };
    if h.request_id == 0 && side == Plausible::Client {
        // Drivers number requests from 1; a zero id with a zero responseTo is two zero words.
        return Plausible::No;
    }
    let rest = &b[HEADER_LEN..];
    let verdict = match h.op {
        OP_MSG => {
            // flags (4), kind 0 (1), a document of at least 5 bytes that fits the message.
            let Some(head) = rest.get(..9) else { return Plausible::NeedMore };
            let flags = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
            let doc_len = i32::from_le_bytes([head[5], head[6], head[7], head[8]]);
            let room = h.length.saturating_sub(HEADER_LEN + 5);
            flags & !KNOWN_FLAGS == 0 && (head[4] == 0 || head[4] == 1) && doc_len >= 5 && doc_len as usize <= room
        }
        OP_COMPRESSED => {
            let Some(head) = rest.get(..9) else { return Plausible::NeedMore };
            let original = i32::from_le_bytes([head[0], head[1], head[2], head[3]]);
            let size = i32::from_le_bytes([head[4], head[5], head[6], head[7]]);
            matches!(original, OP_MSG | OP_QUERY | OP_REPLY)
                && size > 0
                && (size as usize) <= MAX_MESSAGE_LEN
                && head[8] <= 3
        }
        OP_QUERY => {
            // flags, then a "db.collection" C string.
            let name = rest.get(4..).unwrap_or_default();
            let Some(end) = name.iter().take(256).position(|&c| c == 0) else {
                return if name.len() < 256 && HEADER_LEN + 4 + name.len() < h.length {
                    Plausible::NeedMore
                } else {
                    Plausible::No
                };
            };
            let name = &name[..end];
            end > 1 && name.contains(&b'.') && name.iter().all(|c| c.is_ascii_graphic())
        }
        OP_REPLY => {
            let Some(head) = rest.get(..20) else { return Plausible::NeedMore };
            let returned = i32::from_le_bytes([head[16], head[17], head[18], head[19]]);
            (0..=1_000_000).contains(&returned)
                && (returned == 0 || h.length >= HEADER_LEN + 20 + 5)
                && head[0] < 16
                && head[1..4] == [0, 0, 0]
        }
        _ => false,
    };
    if verdict {
        side
    } else {
        Plausible::No
    }
}
