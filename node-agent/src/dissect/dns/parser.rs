//! DNS wire format (RFC 1035 §4) to owned values: header, questions and resource records.
//!
//! Pure and stateless: no I/O, no pairing, no JSON. Everything derived from input is checked, so any
//! byte string yields either a [`Message`] or a [`ParseError`] saying what was wrong and where;
//! nothing here panics or allocates more than a small constant times the input length.
//!
//! Parsing is lenient past the header: a message whose later sections are cut short or malformed
//! still yields everything before the damage, with [`Message::stopped`] saying where parsing stopped;
//! a record whose RDATA does not decode keeps its raw bytes ([`RData::Raw`]) and adds to
//! [`Message::problems`]. [`Message::is_clean`] tells whether nothing of that sort happened.
//!
//! Names are kept in presentation form: labels joined by ".", no trailing dot, the root as
//! "<Root>" (as tshark shows it). Inside a label, "." and "\" are escaped with a backslash and bytes
//! outside printable ASCII (space included) are written as `\DDD` (decimal), as in RFC 1035 §5.1.
//! Compression pointers must point into the message body (past the header) and strictly before
//! the label sequence that contains them; that rules out loops and forward references, so a name
//! costs at most one pass over the message.

use super::rdata::{self, RData};
use std::fmt;
use thiserror::Error;

/// Length of the fixed header.
pub const HEADER_LEN: usize = 12;
/// Longest name on the wire, length octets and the final zero included (RFC 1035 §2.3.4).
pub const MAX_NAME_WIRE_LEN: usize = 255;
/// At most this many problems are kept per message; the rest are counted in `problems_dropped`.
pub const MAX_PROBLEMS: usize = 8;
/// Presentation of the root name.
pub const ROOT: &str = "<Root>";

/// Which part of a message something was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Header,
    Question,
    Answer,
    Authority,
    Additional,
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Section::Header => "header",
            Section::Question => "question",
            Section::Answer => "answer",
            Section::Authority => "authority",
            Section::Additional => "additional",
        })
    }
}

/// What was wrong.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ErrorKind {
    #[error("message of {len} bytes is shorter than the 12-byte header")]
    ShortHeader { len: usize },
    #[error("{what} needs {need} bytes but only {have} remain")]
    Truncated { what: &'static str, need: usize, have: usize },
    #[error("compression pointer to offset {target} does not point before the name it continues (loop or forward reference)")]
    PointerNotBackward { target: usize },
    #[error("compression pointer to offset {target} points into the header")]
    PointerIntoHeader { target: usize },
    #[error("name is longer than 255 bytes")]
    NameTooLong,
    #[error("label type bits 0x{bits:02x} are not a length or a pointer (RFC 6891 reserved them)")]
    BadLabelType { bits: u8 },
    #[error("{rtype} RDATA of {len} bytes is malformed: {why}")]
    BadRdata { rtype: String, len: usize, why: String },
}

/// A parse failure with its place: the section, the entry's index in it and the byte offset.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{kind} ({section} {index}, byte {offset})")]
pub struct ParseError {
    pub section: Section,
    pub index: usize,
    pub offset: usize,
    pub kind: ErrorKind,
}

/// The fixed header (RFC 1035 §4.1.1, flags per RFC 2535/4035 for AD and CD).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub id: u16,
    pub flags: u16,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
}

impl Header {
    /// Reads the header from the first 12 bytes.
    pub fn parse(buf: &[u8]) -> Result<Header, ParseError> {
        let b = buf.get(..HEADER_LEN).ok_or(ParseError {
            section: Section::Header,
            index: 0,
            offset: 0,
            kind: ErrorKind::ShortHeader { len: buf.len() },
        })?;
        let w = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        Ok(Header { id: w(0), flags: w(2), qdcount: w(4), ancount: w(6), nscount: w(8), arcount: w(10) })
    }
    /// True for a response (QR bit).
    pub fn qr(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xf) as u8
    }
    /// The 4-bit header RCODE (see [`Message::rcode`] for the EDNS-extended one).
    pub fn rcode(&self) -> u8 {
        (self.flags & 0xf) as u8
    }
    /// The reserved Z bit (must be zero).
    pub fn z(&self) -> bool {
        self.flags & 0x0040 != 0
    }
    /// Names of the set flag bits in header order: qr, aa, tc, rd, ra, z, ad, cd.
    pub fn flag_names(&self) -> Vec<&'static str> {
        const BITS: [(u16, &str); 8] = [
            (0x8000, "qr"),
            (0x0400, "aa"),
            (0x0200, "tc"),
            (0x0100, "rd"),
            (0x0080, "ra"),
            (0x0040, "z"),
            (0x0020, "ad"),
            (0x0010, "cd"),
        ];
        BITS.iter().filter(|(bit, _)| self.flags & bit != 0).map(|(_, n)| *n).collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub rtype: u16,
    /// For OPT this is the requestor's UDP payload size (RFC 6891).
    pub class: u16,
    /// For OPT this holds extended RCODE, version and flags (RFC 6891).
    pub ttl: u32,
    pub data: RData,
}

/// One parsed message. Sections hold the entries parsed before any damage (see module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub header: Header,
    pub questions: Vec<Question>,
    pub answers: Vec<Record>,
    pub authorities: Vec<Record>,
    pub additionals: Vec<Record>,
    /// Where and why parsing stopped early; the sections after that point are incomplete.
    pub stopped: Option<ParseError>,
    /// Records whose RDATA did not decode (kept as [`RData::Raw`]), at most [`MAX_PROBLEMS`].
    pub problems: Vec<ParseError>,
    pub problems_dropped: usize,
    /// Bytes after the last section (zero for a well-formed message).
    pub trailing: usize,
}

impl Message {
    /// Everything parsed, every RDATA decoded, nothing left over.
    pub fn is_clean(&self) -> bool {
        self.stopped.is_none() && self.problems.is_empty() && self.trailing == 0
    }

    /// The OPT pseudo-record, if any (the first one in the additional section).
    pub fn opt(&self) -> Option<&Record> {
        self.additionals.iter().find(|r| r.rtype == rdata::TYPE_OPT)
    }

    /// The response code with the EDNS extension (RFC 6891 §6.1.3): the OPT record's upper
    /// 8 bits above the header's 4.
    pub fn rcode(&self) -> u16 {
        let ext = self.opt().map_or(0, |o| (o.ttl >> 24) as u16);
        (ext << 4) | self.header.rcode() as u16
    }
}

/// A bounds-checked cursor over a message.
pub(super) struct Reader<'a> {
    pub(super) msg: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(msg: &'a [u8], pos: usize) -> Self {
        Reader { msg, pos }
    }
    pub(super) fn remaining(&self) -> usize {
        self.msg.len().saturating_sub(self.pos)
    }
    pub(super) fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ErrorKind> {
        let have = self.remaining();
        if n > have {
            return Err(ErrorKind::Truncated { what, need: n, have });
        }
        let s = &self.msg[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub(super) fn u8(&mut self, what: &'static str) -> Result<u8, ErrorKind> {
        Ok(self.bytes(1, what)?[0])
    }
    pub(super) fn u16(&mut self, what: &'static str) -> Result<u16, ErrorKind> {
        let b = self.bytes(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    pub(super) fn u32(&mut self, what: &'static str) -> Result<u32, ErrorKind> {
        let b = self.bytes(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// Reads a possibly compressed name at the cursor (pointers may reach anywhere earlier in
    /// `msg`) and leaves the cursor after it.
    pub(super) fn name(&mut self) -> Result<String, ErrorKind> {
        let mut out = String::new();
        self.pos = read_name(self.msg, self.pos, &mut out)?;
        Ok(out)
    }
}

/// Appends the presentation form of the name at `start` to `out`; returns the offset just after
/// the name's bytes at `start` (after its first pointer, if compressed).
pub fn read_name(msg: &[u8], start: usize, out: &mut String) -> Result<usize, ErrorKind> {
    let out_start = out.len();
    let mut pos = start;
    // Start of the label sequence being read: pointers must go strictly below it.
    let mut seg_start = start;
    let mut end = None;
    let mut wire_len = 0usize;
    loop {
        let len = *msg.get(pos).ok_or(ErrorKind::Truncated { what: "name label length", need: 1, have: 0 })?;
        match len & 0xc0 {
            0x00 => {
                wire_len += 1 + len as usize;
                if wire_len > MAX_NAME_WIRE_LEN {
                    return Err(ErrorKind::NameTooLong);
                }
                if len == 0 {
                    pos += 1;
                    break;
                }
                let label = msg.get(pos + 1..pos + 1 + len as usize).ok_or(ErrorKind::Truncated {
                    what: "name label",
                    need: len as usize,
                    have: msg.len().saturating_sub(pos + 1),
                })?;
                if out.len() > out_start {
                    out.push('.');
                }
                push_label(out, label);
                pos += 1 + len as usize;
            }
            0xc0 => {
                let low =
                    *msg.get(pos + 1).ok_or(ErrorKind::Truncated { what: "compression pointer", need: 2, have: 1 })?;
                let target = (((len & 0x3f) as usize) << 8) | low as usize;
                if target < HEADER_LEN {
                    return Err(ErrorKind::PointerIntoHeader { target });
                }
                if target >= seg_start {
                    return Err(ErrorKind::PointerNotBackward { target });
                }
                end.get_or_insert(pos + 2);
                seg_start = target;
                pos = target;
            }
            bits => return Err(ErrorKind::BadLabelType { bits }),
        }
    }
    if out.len() == out_start {
        out.push_str(ROOT);
    }
    Ok(end.unwrap_or(pos))
}

/// Escapes one label for presentation (see module docs).
fn push_label(out: &mut String, label: &[u8]) {
    for &b in label {
        match b {
            b'.' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x21..=0x7e => out.push(b as char),
            _ => {
                out.push('\\');
                out.push((b'0' + b / 100) as char);
                out.push((b'0' + b / 10 % 10) as char);
                out.push((b'0' + b % 10) as char);
            }
        }
    }
}

/// Parses a whole message. Fails only when the 12-byte header is incomplete; later damage is
/// recorded in the returned message (see module docs).
pub fn parse_message(buf: &[u8]) -> Result<Message, ParseError> {
    let header = Header::parse(buf)?;
    let mut m = Message {
        header,
        questions: Vec::new(),
        answers: Vec::new(),
        authorities: Vec::new(),
        additionals: Vec::new(),
        stopped: None,
        problems: Vec::new(),
        problems_dropped: 0,
        trailing: 0,
    };
    let mut r = Reader::new(buf, HEADER_LEN);
    // A question takes at least 5 bytes and a record 11: never reserve more than the input can hold.
    let cap = |count: u16, min: usize, r: &Reader| (count as usize).min(r.remaining() / min);
    m.questions.reserve(cap(header.qdcount, 5, &r));
    for index in 0..header.qdcount as usize {
        let at = r.pos;
        match parse_question(&mut r) {
            Ok(q) => m.questions.push(q),
            Err(kind) => {
                m.stopped = Some(ParseError { section: Section::Question, index, offset: at, kind });
                return Ok(m);
            }
        }
    }
    let sections = [
        (Section::Answer, header.ancount),
        (Section::Authority, header.nscount),
        (Section::Additional, header.arcount),
    ];
    for (section, count) in sections {
        let mut records = Vec::with_capacity(cap(count, 11, &r));
        for index in 0..count as usize {
            let at = r.pos;
            match parse_record(&mut r) {
                Ok((rec, problem)) => {
                    if let Some(kind) = problem {
                        let e = ParseError { section, index, offset: at, kind };
                        if m.problems.len() < MAX_PROBLEMS {
                            m.problems.push(e);
                        } else {
                            m.problems_dropped += 1;
                        }
                    }
                    records.push(rec);
                }
                Err(kind) => {
                    m.stopped = Some(ParseError { section, index, offset: at, kind });
                    break;
                }
            }
        }
        match section {
            Section::Answer => m.answers = records,
            Section::Authority => m.authorities = records,
            _ => m.additionals = records,
        }
        if m.stopped.is_some() {
            return Ok(m);
        }
    }
    m.trailing = r.remaining();
    Ok(m)
}

fn parse_question(r: &mut Reader) -> Result<Question, ErrorKind> {
    let name = r.name()?;
    let qtype = r.u16("question type")?;
    let qclass = r.u16("question class")?;
    Ok(Question { name, qtype, qclass })
}

/// A record, plus the reason its RDATA stayed raw if it did not decode.
fn parse_record(r: &mut Reader) -> Result<(Record, Option<ErrorKind>), ErrorKind> {
    let name = r.name()?;
    let rtype = r.u16("record type")?;
    let class = r.u16("record class")?;
    let ttl = r.u32("record TTL")?;
    let rdlen = r.u16("record RDLENGTH")? as usize;
    let start = r.pos;
    r.bytes(rdlen, "record RDATA")?;
    let (data, problem) = match rdata::decode(r.msg, start, rdlen, rtype) {
        Ok(d) => (d, None),
        Err(why) => (
            RData::Raw(r.msg[start..start + rdlen].to_vec()),
            Some(ErrorKind::BadRdata { rtype: super::mnemonic::rr_type(rtype).into_owned(), len: rdlen, why }),
        ),
    };
    Ok((Record { name, rtype, class, ttl, data }, problem))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn name_at(msg: &[u8], at: usize) -> Result<(String, usize), ErrorKind> {
        let mut s = String::new();
        let end = read_name(msg, at, &mut s)?;
        Ok((s, end))
    }

    /// 12 zero bytes standing in for a header, then `body`.
    fn with_header(body: &[u8]) -> Vec<u8> {
        let mut v = vec![0u8; HEADER_LEN];
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn plain_and_root_names() {
        let m = with_header(b"\x07example\x03com\x00\x00");
        assert_eq!(name_at(&m, 12), Ok(("example.com".into(), 25)));
        assert_eq!(name_at(&m, 25), Ok((ROOT.into(), 26)));
    }

    #[test]
    fn compressed_name_continues_earlier_name() {
        // "example.com" at 12, then "www" + pointer to 12 at 25.
        let m = with_header(b"\x07example\x03com\x00\x03www\xc0\x0c");
        assert_eq!(name_at(&m, 25), Ok(("www.example.com".into(), 31)));
        // A pointer chain: pointer at 31 to 25, which points on to 12.
        let mut m2 = m.clone();
        m2.extend_from_slice(b"\x04mail\xc0\x19");
        assert_eq!(name_at(&m2, 31), Ok(("mail.www.example.com".into(), 38)));
    }

    #[test]
    fn pointer_loops_and_forward_pointers_are_refused() {
        // A pointer to itself.
        let m = with_header(b"\xc0\x0c");
        assert_eq!(name_at(&m, 12), Err(ErrorKind::PointerNotBackward { target: 12 }));
        // Two names pointing at each other: 12 -> 16 is forward.
        let m = with_header(b"\x01a\xc0\x10\x01b\xc0\x0c");
        assert_eq!(name_at(&m, 12), Err(ErrorKind::PointerNotBackward { target: 16 }));
        // From 16 the jump to 12 is backward, but 12 then jumps forward to 16: refused, not looped.
        assert_eq!(name_at(&m, 16), Err(ErrorKind::PointerNotBackward { target: 16 }));
        // A pointer back into the same label sequence (to its own first label).
        let m = with_header(b"\x01a\x01b\xc0\x0c");
        assert_eq!(name_at(&m, 12), Err(ErrorKind::PointerNotBackward { target: 12 }));
        // Into the header.
        let m = with_header(b"\xc0\x02");
        assert_eq!(name_at(&m, 12), Err(ErrorKind::PointerIntoHeader { target: 2 }));
    }

    #[test]
    fn truncated_and_reserved_labels() {
        let m = with_header(b"\x07exam");
        assert!(matches!(name_at(&m, 12), Err(ErrorKind::Truncated { .. })));
        let m = with_header(b"\x03com");
        assert!(matches!(name_at(&m, 12), Err(ErrorKind::Truncated { .. })));
        let m = with_header(b"\xc0");
        assert!(matches!(name_at(&m, 12), Err(ErrorKind::Truncated { .. })));
        let m = with_header(b"\x41abc\x00");
        assert_eq!(name_at(&m, 12), Err(ErrorKind::BadLabelType { bits: 0x40 }));
        let m = with_header(b"\x81abc\x00");
        assert_eq!(name_at(&m, 12), Err(ErrorKind::BadLabelType { bits: 0x80 }));
    }

    #[test]
    fn name_length_limit() {
        // 4 labels of 63 bytes = 256 bytes on the wire with the zero: one too many.
        let mut body = Vec::new();
        for _ in 0..4 {
            body.push(63);
            body.extend_from_slice(&[b'a'; 63]);
        }
        body.push(0);
        assert_eq!(name_at(&with_header(&body), 12), Err(ErrorKind::NameTooLong));
        // 3 x 63 + a 61-byte label = 255 bytes: allowed.
        let mut body = Vec::new();
        for _ in 0..3 {
            body.push(63);
            body.extend_from_slice(&[b'a'; 63]);
        }
        body.push(61);
        body.extend_from_slice(&[b'b'; 61]);
        body.push(0);
        let (n, _) = name_at(&with_header(&body), 12).unwrap();
        assert_eq!(n.len(), 63 * 3 + 61 + 3);
        // The limit counts names expanded through pointers: a 193-byte name at 12, then a name of
        // one 62-byte label pointing to it (63 + 193 = 256 bytes), then one of 61 (255 bytes).
        let mut body = Vec::new();
        for c in [b'a', b'b', b'c'] {
            body.push(63);
            body.extend_from_slice(&[c; 63]);
        }
        body.push(0);
        for n in [62usize, 61] {
            body.push(n as u8);
            body.extend(std::iter::repeat_n(b'z', n));
            body.extend_from_slice(&[0xc0, 0x0c]);
        }
        let m = with_header(&body);
        assert_eq!(name_at(&m, 205), Err(ErrorKind::NameTooLong));
        let (n, end) = name_at(&m, 205 + 65).unwrap();
        assert_eq!((n.len(), end), (61 + 1 + 63 * 3 + 2, 205 + 65 + 64));
    }

    #[test]
    fn escapes_in_labels() {
        let m = with_header(b"\x04a.b\\\x03x y\x02\x00\xff\x00");
        assert_eq!(name_at(&m, 12).unwrap().0, "a\\.b\\\\.x\\032y.\\000\\255");
    }

    #[test]
    fn header_fields_and_flags() {
        // id 0x1234, flags 0x8583 = qr, opcode 0, aa, rd, ra, rcode 3; counts 1 0 1 0.
        let h = Header::parse(b"\x12\x34\x85\x83\x00\x01\x00\x00\x00\x01\x00\x00").unwrap();
        assert_eq!(h.id, 0x1234);
        assert!(h.qr());
        assert_eq!(h.opcode(), 0);
        assert_eq!(h.rcode(), 3);
        assert_eq!(h.flag_names(), vec!["qr", "aa", "rd", "ra"]);
        assert_eq!((h.qdcount, h.ancount, h.nscount, h.arcount), (1, 0, 1, 0));
        // NOTIFY (opcode 4) with ad and cd.
        let h = Header::parse(b"\x00\x01\x20\x30\x00\x01\x00\x00\x00\x00\x00\x00").unwrap();
        assert_eq!(h.opcode(), 4);
        assert_eq!(h.flag_names(), vec!["ad", "cd"]);
        let e = Header::parse(b"\x00\x01").unwrap_err();
        assert_eq!(e.kind, ErrorKind::ShortHeader { len: 2 });
        assert_eq!(e.to_string(), "message of 2 bytes is shorter than the 12-byte header (header 0, byte 0)");
    }

    /// A response for example.com A with one compressed answer (192.0.2.1, TTL 300).
    pub(crate) const RESPONSE_A: &[u8] = b"\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\
\x07example\x03com\x00\x00\x01\x00\x01\
\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\xc0\x00\x02\x01";

    #[test]
    fn whole_message() {
        let m = parse_message(RESPONSE_A).unwrap();
        assert!(m.is_clean(), "{m:?}");
        assert_eq!(m.questions, vec![Question { name: "example.com".into(), qtype: 1, qclass: 1 }]);
        assert_eq!(m.answers.len(), 1);
        let a = &m.answers[0];
        assert_eq!((a.name.as_str(), a.rtype, a.class, a.ttl), ("example.com", 1, 1, 300));
        assert_eq!(a.data, RData::A([192, 0, 2, 1].into()));
        assert_eq!(m.rcode(), 0);
    }

    #[test]
    fn truncated_message_keeps_what_came_before() {
        for cut in HEADER_LEN..RESPONSE_A.len() {
            let m = parse_message(&RESPONSE_A[..cut]).unwrap();
            let stop = m.stopped.as_ref().expect("a cut message must say where it stopped");
            if cut < 29 {
                assert_eq!((stop.section, m.questions.len()), (Section::Question, 0), "cut {cut}");
            } else {
                assert_eq!((stop.section, stop.index, stop.offset), (Section::Answer, 0, 29));
                assert_eq!(m.questions.len(), 1);
            }
            assert!(!m.is_clean());
        }
        assert!(parse_message(&RESPONSE_A[..11]).is_err());
    }

    #[test]
    fn bad_counts() {
        // ancount says 3 but there is one answer: stops in the answer section at index 1.
        let mut v = RESPONSE_A.to_vec();
        v[7] = 3;
        let m = parse_message(&v).unwrap();
        let stop = m.stopped.unwrap();
        assert_eq!((stop.section, stop.index, stop.offset), (Section::Answer, 1, v.len()));
        assert_eq!(m.answers.len(), 1);
        // Counts of 65535 on a short message: no huge allocation, just a stop.
        let mut v = RESPONSE_A.to_vec();
        v[4..12].copy_from_slice(&[0xff; 8]);
        let m = parse_message(&v).unwrap();
        assert!(m.stopped.is_some());
        assert!(m.questions.capacity() < 16);
        // Fewer records than the bytes: trailing bytes are counted.
        let mut v = RESPONSE_A.to_vec();
        v[7] = 0;
        let m = parse_message(&v).unwrap();
        assert_eq!(m.trailing, 16);
        assert!(!m.is_clean());
    }

    #[test]
    fn malformed_rdata_is_kept_raw() {
        // The A record claims 3 bytes of RDATA (and has them).
        let mut v = RESPONSE_A[..RESPONSE_A.len() - 1].to_vec();
        let rdlen_low = v.len() - 4;
        v[rdlen_low] = 3;
        let m = parse_message(&v).unwrap();
        assert!(m.stopped.is_none());
        assert_eq!(m.answers[0].data, RData::Raw(vec![192, 0, 2]));
        assert_eq!(m.problems.len(), 1);
        assert_eq!(m.problems[0].to_string(), "A RDATA of 3 bytes is malformed: A needs 4 bytes (answer 0, byte 29)");
    }
}
