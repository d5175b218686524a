//! Recognising AMQP 0-9-1 from content, and where frames start after lost sync.
//!
//! A connection seen from its start begins with the client's protocol header
//! ("AMQP\x00\x00\x09\x01"). A connection picked up mid-way is recognised by whole frames: type
//! 1, 2, 3 or 8, a payload no longer than [`MAX_FRAME`], the frame-end octet 0xCE where the size
//! says; the first method frame that only one side may send (`basic.publish`: the client,
//! `basic.deliver`: the server) tells the direction. Methods are checked strictly: known class
//! and method ids, arguments that take exactly the payload.

use super::wire::{
    self, frame_header, Sender, FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_HEADER_TYPE, FRAME_HEARTBEAT, FRAME_METHOD,
    PROTOCOL_HEADER,
};
use crate::dissect::Probe;

/// The largest frame (header, payload, frame-end) kept whole: RabbitMQ's default `frame_max`
/// (128 KiB) plus a margin. Larger body frames stream through; other larger frames are skipped.
pub const MAX_FRAME: usize = 128 * 1024 + 8;
/// Frames the probe looks at before it gives up on telling the direction.
const PROBE_FRAMES: usize = 32;

/// What a whole frame at the start of some bytes is.
#[derive(Debug, PartialEq, Eq)]
pub enum Candidate {
    /// The protocol header, a heartbeat, a method frame whose method decodes cleanly, or a content
    /// header or body frame (`strict` off); `len` bytes long; `sender`: who may send it.
    Frame {
        len: usize,
        sender: Option<Sender>,
    },
    /// Could be a frame; more bytes are needed to tell.
    Incomplete,
    No,
}

/// Judges the bytes at the start of `data`. `strict`: only a method frame or a heartbeat counts
/// (after lost sync a content frame cannot be placed anyway).
pub fn candidate(data: &[u8], strict: bool) -> Candidate {
    if data.first() == Some(&b'A') {
        let n = data.len().min(PROTOCOL_HEADER.len());
        return if data[..n] != PROTOCOL_HEADER[..n] {
            Candidate::No
        } else if n < PROTOCOL_HEADER.len() {
            Candidate::Incomplete
        } else {
            Candidate::Frame { len: PROTOCOL_HEADER.len(), sender: Some(Sender::Client) }
        };
    }
    match data.first() {
        Some(&(FRAME_METHOD | FRAME_HEADER_TYPE | FRAME_BODY | FRAME_HEARTBEAT)) => {}
        Some(_) => return Candidate::No,
        None => return Candidate::Incomplete,
    }
    let Some((kind, channel, size)) = frame_header(data) else { return Candidate::Incomplete };
    let size = size as usize;
    let len = FRAME_HEADER + size + 1;
    if len > MAX_FRAME {
        return Candidate::No;
    }
    match kind {
        FRAME_HEARTBEAT if channel != 0 || size != 0 => return Candidate::No,
        FRAME_METHOD if size < 4 => return Candidate::No,
        FRAME_METHOD => {
            // The method ids can be judged before the whole frame is there.
            match data.get(FRAME_HEADER..FRAME_HEADER + 4).and_then(wire::method_ids) {
                Some((class, method)) if wire::method_spec(class, method).is_none() => return Candidate::No,
                None => return Candidate::Incomplete,
                Some(_) => {}
            }
        }
        FRAME_HEADER_TYPE | FRAME_BODY if strict => return Candidate::No,
        FRAME_HEADER_TYPE if size < 14 => return Candidate::No,
        _ => {}
    }
    let Some(frame) = data.get(..len) else { return Candidate::Incomplete };
    if frame.last() != Some(&FRAME_END) {
        return Candidate::No;
    }
    let payload = &frame[FRAME_HEADER..len - 1];
    let sender = match kind {
        FRAME_METHOD => match wire::parse_method(payload) {
            Ok(m) => Some(m.spec.sender),
            Err(_) => return Candidate::No,
        },
        FRAME_HEADER_TYPE => match wire::parse_content_header(payload) {
            Ok(_) => None,
            Err(_) => return Candidate::No,
        },
        _ => None,
    };
    Candidate::Frame { len, sender }
}

/// What [`candidate`] spent on the bytes at the start of `data`: the payload of a whole method frame
/// of a known method whose arguments it decoded, else 1. Depends on the bytes only (a frame is
/// decoded only once all of it is there), so a budget counted with it does not depend on segmentation.
pub fn decode_cost(data: &[u8]) -> u64 {
    match frame_header(data) {
        Some((FRAME_METHOD, _, size)) => {
            let len = FRAME_HEADER + size as usize + 1;
            let known = data
                .get(FRAME_HEADER..FRAME_HEADER + 4)
                .and_then(wire::method_ids)
                .is_some_and(|(c, m)| wire::method_spec(c, m).is_some());
            if size >= 4 && len <= MAX_FRAME && known && data.get(len - 1) == Some(&FRAME_END) {
                size as u64
            } else {
                1
            }
        }
        _ => 1,
    }
}

/// The probe: the protocol header, or whole frames until one tells the direction.
pub fn probe(data: &[u8]) -> Probe {
    let mut at = 0;
    for _ in 0..PROBE_FRAMES {
        let Some(rest) = data.get(at..).filter(|r| !r.is_empty()) else { return Probe::NeedMore };
        match candidate(rest, false) {
            Candidate::No => return Probe::No,
            Candidate::Incomplete => return Probe::NeedMore,
            Candidate::Frame { len, sender } => {
                match sender {
                    Some(Sender::Client) => return Probe::Client,
                    Some(Sender::Server) => return Probe::Server,
                    _ => {}
                }
                at += len;
            }
        }
    }
    // Many valid frames, none telling the direction (heartbeats, acks, content): take the side
    // seen first as the client; the pairing does not depend on it.
    Probe::Client
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_foreign_first_bytes() {
        assert_eq!(probe(b"AMQP\x00\x00\x09\x01"), Probe::Client);
        assert_eq!(probe(b"AMQ"), Probe::NeedMore);
        assert_eq!(probe(b"AMQP\x00\x01\x00\x00"), Probe::No, "AMQP 1.0 is another protocol");
        for foreign in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
            b"*1\r\n$4\r\nPING\r\n",
            b"\x00\x00\x00\x08\x04\xd2\x16\x2f",
            b"\x4a\x00\x00\x00\x0a\x35\x2e\x37\x2e",
            b"\x3a\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xd4\x07\x00\x00",
        ] {
            assert_eq!(probe(foreign), Probe::No, "{foreign:?}");
        }
    }

    #[test]
    fn heartbeats_alone_do_not_tell_the_direction() {
        let hb = b"\x08\x00\x00\x00\x00\x00\x00\xce";
        assert_eq!(probe(hb), Probe::NeedMore);
        assert_eq!(probe(b"\x08\x00\x01\x00\x00\x00\x00\xce"), Probe::No);
        assert_eq!(probe(b"\x08\x00\x00\x00\x00\x00\x00\xcf"), Probe::No);
    }
}
