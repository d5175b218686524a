//! pcapng: a sequence of blocks (type, total length, body, total length again). Handles several
//! sections (each with its own byte order and interfaces), Interface Description Blocks with
//! if_tsresol (decimal and power-of-2) and if_tsoffset, Enhanced, Simple and obsolete Packet
//! Blocks. Every other block is skipped without being buffered.
//!
//! `capture_point` numbers interfaces across the whole file: the interfaces of earlier sections
//! come first, so in a single-section file it is the interface id.

use super::bytes::Endian;
use super::error::{CaptureError, Ctx};
use super::input::Input;
use super::{fill, Record, MAX_RECORD_LEN};
use crate::source::LinkType;
use crate::time::Timestamp;

pub(super) const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const OBSOLETE_PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;

/// Blocks larger than this are corrupt, whether we buffer them or skip them.
const MAX_BLOCK_LEN: u32 = 256 << 20;
/// Interfaces one section may define (each costs a few dozen bytes).
const MAX_INTERFACES: usize = 1 << 16;

const OPT_END: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

pub(super) struct Pcapng {
    endian: Endian,
    interfaces: Vec<Interface>,
    /// Capture point of interface 0 of the current section.
    section_base: u32,
    /// Timestamp of the last packet that had one (Simple Packet Blocks have none).
    last_ts: Timestamp,
}

struct Interface {
    /// The link type, or the number we do not support.
    link_type: Result<LinkType, u32>,
    /// Offset of the Interface Description Block.
    declared_at: u64,
    snaplen: u32,
    clock: Clock,
}

/// Converts an interface's timestamp units to Unix nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Clock {
    resolution: Resolution,
    /// if_tsoffset in nanoseconds.
    offset_ns: i128,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resolution {
    /// Units of 10^-n s with n <= 9: multiply.
    Mul(u128),
    /// Units of 10^-n s with n > 9: divide.
    Div(u128),
    /// Units of 2^-n s.
    Pow2(u32),
}

impl Clock {
    const MICROSECONDS: Clock = Clock { resolution: Resolution::Mul(1_000), offset_ns: 0 };

    fn new(tsresol: u8, tsoffset_secs: i64) -> Clock {
        let n = u32::from(tsresol & 0x7F);
        let resolution = if tsresol & 0x80 != 0 {
            Resolution::Pow2(n)
        } else if n <= 9 {
            Resolution::Mul(10u128.pow(9 - n))
        } else {
            // 10^38 is the largest power of ten in a u128; finer units all round to 0 ns.
            Resolution::Div(10u128.checked_pow(n - 9).unwrap_or(u128::MAX))
        };
        Clock { resolution, offset_ns: i128::from(tsoffset_secs) * 1_000_000_000 }
    }

    fn timestamp(&self, units: u64) -> Timestamp {
        let units = u128::from(units);
        let ns = match self.resolution {
            Resolution::Mul(m) => units * m,
            Resolution::Div(d) => units / d,
            Resolution::Pow2(n) => (units * 1_000_000_000) >> n,
        };
        // ns < 2^94, so it fits an i128; the sum is clamped to what a Timestamp holds.
        let t = ns as i128 + self.offset_ns;
        Timestamp(t.clamp(0, i128::from(u64::MAX)) as u64)
    }
}

impl Pcapng {
    /// Reads the first Section Header Block (the magic number has been recognised by the caller).
    pub fn open(input: &mut Input, ctx: &Ctx) -> Result<Pcapng, CaptureError> {
        let mut p =
            Pcapng { endian: Endian::Little, interfaces: Vec::new(), section_base: 0, last_ts: Timestamp::ZERO };
        p.section(input, ctx)?;
        Ok(p)
    }

    /// The next packet, `None` at a clean end of file.
    pub fn next(&mut self, input: &mut Input, ctx: &Ctx) -> Result<Option<Record>, CaptureError> {
        loop {
            let offset = input.offset();
            if !fill(input, ctx, 8)? {
                return if input.available().is_empty() { Ok(None) } else { Err(ctx.truncated(offset)) };
            }
            let block_type = self.endian.u32(input.available(), 0);
            if block_type == SHB {
                self.section(input, ctx)?;
                continue;
            }
            let len = self.block_len(input, ctx, 12)?;
            if !matches!(block_type, IDB | EPB | SPB | OBSOLETE_PB) {
                skip_block(input, ctx, self.endian, len)?;
                continue;
            }
            if len > MAX_RECORD_LEN {
                return Err(ctx.corrupt(
                    offset + 4,
                    format!(
                        "block of {len} bytes is larger than the {} MiB limit for one record",
                        MAX_RECORD_LEN >> 20
                    ),
                ));
            }
            if !fill(input, ctx, len)? {
                return Err(ctx.truncated(offset));
            }
            check_trailer(input, ctx, self.endian, len)?;
            match block_type {
                IDB => {
                    self.interface(input, ctx, len)?;
                    input.consume(len);
                }
                _ => return self.packet(input, ctx, block_type, len).map(Some),
            }
        }
    }

    /// Reads the block length at the current position and checks it (at least `min`, a multiple
    /// of 4, not absurd).
    fn block_len(&self, input: &Input, ctx: &Ctx, min: usize) -> Result<usize, CaptureError> {
        let offset = input.offset();
        let len = self.endian.u32(input.available(), 4);
        if len > MAX_BLOCK_LEN {
            return Err(
                ctx.corrupt(offset + 4, format!("block length {len} is absurd (limit {} MiB)", MAX_BLOCK_LEN >> 20))
            );
        }
        if (len as usize) < min || !len.is_multiple_of(4) {
            return Err(
                ctx.corrupt(offset + 4, format!("block length {len} is not a multiple of 4 of at least {min} bytes"))
            );
        }
        Ok(len as usize)
    }

    /// A Section Header Block: a new byte order and a fresh set of interfaces.
    fn section(&mut self, input: &mut Input, ctx: &Ctx) -> Result<(), CaptureError> {
        let offset = input.offset();
        if !fill(input, ctx, 16)? {
            return Err(ctx.truncated(offset));
        }
        let h = input.available();
        self.endian = match h.get(8..12) {
            Some([0x1A, 0x2B, 0x3C, 0x4D]) => Endian::Big,
            Some([0x4D, 0x3C, 0x2B, 0x1A]) => Endian::Little,
            other => {
                return Err(ctx.corrupt(
                    offset + 8,
                    format!("section header byte-order magic is {other:02x?}, expected 1a2b3c4d in either byte order"),
                ))
            }
        };
        let (major, minor) = (self.endian.u16(h, 12), self.endian.u16(h, 14));
        let len = self.block_len(input, ctx, 28)?;
        if major != 1 {
            return Err(ctx.corrupt(offset + 12, format!("pcapng version {major}.{minor}, only 1.x exists")));
        }
        skip_block(input, ctx, self.endian, len)?;
        let defined = u32::try_from(self.interfaces.len()).unwrap_or(u32::MAX);
        self.section_base = self.section_base.saturating_add(defined);
        self.interfaces.clear();
        Ok(())
    }

    /// An Interface Description Block (`len` bytes, buffered and length-checked).
    fn interface(&mut self, input: &Input, ctx: &Ctx, len: usize) -> Result<(), CaptureError> {
        let offset = input.offset();
        if len < 20 {
            return Err(
                ctx.corrupt(offset + 4, format!("interface description block of {len} bytes, the minimum is 20"))
            );
        }
        if self.interfaces.len() >= MAX_INTERFACES {
            return Err(ctx.corrupt(offset, format!("more than {MAX_INTERFACES} interfaces in one section")));
        }
        let b = input.peek(0, len).unwrap_or_default();
        let e = self.endian;
        let link_number = u32::from(e.u16(b, 8));
        let snaplen = e.u32(b, 12);
        let (mut tsresol, mut tsoffset) = (6u8, 0i64);
        let mut at = 16;
        let end = len - 4;
        while at + 4 <= end {
            let (code, opt_len) = (e.u16(b, at), usize::from(e.u16(b, at + 2)));
            if code == OPT_END {
                break;
            }
            let value = at + 4;
            if value + opt_len > end {
                return Err(ctx.corrupt(
                    offset + at as u64,
                    format!("interface option {code} of {opt_len} bytes runs past the end of its block"),
                ));
            }
            let wrong_len = |expected: usize| {
                ctx.corrupt(offset + at as u64, format!("option {code} has length {opt_len}, expected {expected}"))
            };
            match code {
                OPT_IF_TSRESOL if opt_len != 1 => return Err(wrong_len(1)),
                OPT_IF_TSRESOL => tsresol = b.get(value).copied().unwrap_or(6),
                OPT_IF_TSOFFSET if opt_len != 8 => return Err(wrong_len(8)),
                OPT_IF_TSOFFSET => tsoffset = e.i64(b, value),
                _ => {}
            }
            at = value + opt_len.next_multiple_of(4);
        }
        let clock = if (tsresol, tsoffset) == (6, 0) { Clock::MICROSECONDS } else { Clock::new(tsresol, tsoffset) };
        self.interfaces.push(Interface {
            link_type: LinkType::from_linktype_number(link_number).ok_or(link_number),
            declared_at: offset,
            snaplen,
            clock,
        });
        Ok(())
    }

    /// An Enhanced, Simple or obsolete Packet Block (`len` bytes, buffered and length-checked).
    fn packet(&mut self, input: &Input, ctx: &Ctx, block_type: u32, len: usize) -> Result<Record, CaptureError> {
        let offset = input.offset();
        let b = input.peek(0, len).unwrap_or_default();
        let e = self.endian;
        let min = if block_type == SPB { 16 } else { 32 };
        if len < min {
            return Err(ctx.corrupt(offset + 4, format!("packet block of {len} bytes, the minimum is {min}")));
        }
        let (interface_id, ts, data_at, caplen, orig_len) = if block_type == SPB {
            let orig_len = e.u32(b, 8);
            (0, None, 12, orig_len as usize, orig_len)
        } else {
            let interface_id = if block_type == EPB { e.u32(b, 8) } else { u32::from(e.u16(b, 8)) };
            let units = (u64::from(e.u32(b, 12)) << 32) | u64::from(e.u32(b, 16));
            (interface_id, Some(units), 28, e.u32(b, 20) as usize, e.u32(b, 24))
        };
        let Some(interface) = self.interfaces.get(interface_id as usize) else {
            return Err(ctx.corrupt(
                offset + 8,
                format!("packet refers to interface {interface_id}, but its section defines {}", self.interfaces.len()),
            ));
        };
        let link_type = interface.link_type.map_err(|n| ctx.unknown_link_type(interface.declared_at, n))?;
        let room = len - 4 - data_at;
        let caplen = if block_type == SPB {
            // The captured length is implied: the original length, cut to the snap length.
            let snap = if interface.snaplen == 0 { usize::MAX } else { interface.snaplen as usize };
            caplen.min(room).min(snap)
        } else if caplen > room {
            return Err(ctx.corrupt(
                offset + 20,
                format!("captured length {caplen} does not fit in a packet block of {len} bytes"),
            ));
        } else {
            caplen
        };
        let ts = match ts {
            Some(units) => {
                let ts = interface.clock.timestamp(units);
                self.last_ts = ts;
                ts
            }
            None => self.last_ts,
        };
        Ok(Record {
            ts,
            link_type,
            capture_point: self.section_base.saturating_add(interface_id),
            data_at,
            caplen,
            orig_len,
            len,
        })
    }
}

/// Checks that a buffered block's trailing length equals its leading one.
fn check_trailer(input: &Input, ctx: &Ctx, endian: Endian, len: usize) -> Result<(), CaptureError> {
    let b = input.peek(0, len).unwrap_or_default();
    let (lead, trail) = (endian.u32(b, 4), endian.u32(b, len - 4));
    if lead == trail {
        Ok(())
    } else {
        Err(ctx.corrupt(
            input.offset() + len as u64 - 4,
            format!("block length mismatch: {lead} at the start, {trail} at the end"),
        ))
    }
}

/// Skips a block without buffering its body, checking the trailing length.
fn skip_block(input: &mut Input, ctx: &Ctx, endian: Endian, len: usize) -> Result<(), CaptureError> {
    let offset = input.offset();
    let lead = endian.u32(input.available(), 4);
    let body = (len - 4) as u64;
    if !input.skip(body).map_err(|e| ctx.io(input.offset(), e))? || !fill(input, ctx, 4)? {
        return Err(ctx.truncated(offset));
    }
    let trail = endian.u32(input.available(), 0);
    if lead != trail {
        return Err(
            ctx.corrupt(offset + body, format!("block length mismatch: {lead} at the start, {trail} at the end"))
        );
    }
    input.consume(4);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_resolutions() {
        let t = 1_700_000_000u64;
        assert_eq!(Clock::MICROSECONDS.timestamp(t * 1_000_000 + 5), Timestamp(t * 1_000_000_000 + 5_000));
        assert_eq!(Clock::new(9, 0).timestamp(t * 1_000_000_000 + 5), Timestamp(t * 1_000_000_000 + 5));
        assert_eq!(Clock::new(0, 0).timestamp(t), Timestamp(t * 1_000_000_000));
        // 10^-12: picoseconds, rounded down to ns.
        assert_eq!(
            Clock::new(12, 0).timestamp(5_000_000 * 1_000_000_000_000 + 4_999),
            Timestamp(5_000_000 * 1_000_000_000 + 4)
        );
        // 2^-10 s units: 1024 per second; 512 units = 0.5 s.
        assert_eq!(Clock::new(0x80 | 10, 0).timestamp(t * 1024 + 512), Timestamp(t * 1_000_000_000 + 500_000_000));
        // 2^-30: one unit is 0.931 ns.
        assert_eq!(Clock::new(0x80 | 30, 0).timestamp(3u64 << 30), Timestamp(3_000_000_000));
        // Offsets in seconds, both signs, clamped at the epoch.
        assert_eq!(Clock::new(6, 100).timestamp(1), Timestamp(100_000_001_000));
        assert_eq!(Clock::new(6, -1).timestamp(2_500_000), Timestamp(1_500_000_000));
        assert_eq!(Clock::new(6, -10).timestamp(1), Timestamp(0));
        // Absurd resolutions do not overflow.
        assert_eq!(Clock::new(127, 0).timestamp(u64::MAX), Timestamp(0));
        assert_eq!(Clock::new(0, 0).timestamp(u64::MAX), Timestamp(u64::MAX));
        assert_eq!(Clock::new(0xFF, i64::MAX).timestamp(u64::MAX), Timestamp(u64::MAX));
    }
}
