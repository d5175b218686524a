//! Classic pcap: a 24-byte file header, then 16-byte record headers each followed by the packet.
//! Both byte orders, microsecond (a1b2c3d4) and nanosecond (a1b23c4d) magic numbers.

use super::bytes::Endian;
use super::error::{CaptureError, Ctx};
use super::input::Input;
use super::{fill, Record, MAX_RECORD_LEN};
use crate::source::LinkType;
use crate::time::Timestamp;

pub(super) const MAGIC_MICROS: u32 = 0xA1B2_C3D4;
pub(super) const MAGIC_NANOS: u32 = 0xA1B2_3C4D;
const FILE_HEADER_LEN: usize = 24;
const RECORD_HEADER_LEN: usize = 16;

pub(super) struct Pcap {
    endian: Endian,
    nanos: bool,
    link_type: LinkType,
}

impl Pcap {
    /// Reads the file header (the magic number has been recognised by the caller).
    pub fn open(input: &mut Input, ctx: &Ctx, endian: Endian, nanos: bool) -> Result<Pcap, CaptureError> {
        if !fill(input, ctx, FILE_HEADER_LEN)? {
            return Err(ctx.truncated(0));
        }
        let h = input.available();
        let (major, minor) = (endian.u16(h, 4), endian.u16(h, 6));
        if major != 2 {
            return Err(ctx.corrupt(4, format!("pcap format version {major}.{minor}, only 2.x exists")));
        }
        // The upper bits may carry FCS information (libpcap's LT_LINKTYPE mask).
        let link_number = endian.u32(h, 20) & 0x03FF_FFFF;
        let link_type =
            LinkType::from_linktype_number(link_number).ok_or_else(|| ctx.unknown_link_type(20, link_number))?;
        input.consume(FILE_HEADER_LEN);
        Ok(Pcap { endian, nanos, link_type })
    }

    /// The next record, `None` at a clean end of file.
    pub fn next(&mut self, input: &mut Input, ctx: &Ctx) -> Result<Option<Record>, CaptureError> {
        let offset = input.offset();
        if !fill(input, ctx, RECORD_HEADER_LEN)? {
            return if input.available().is_empty() { Ok(None) } else { Err(ctx.truncated(offset)) };
        }
        let h = input.available();
        let e = self.endian;
        let (secs, frac, caplen, orig_len) = (e.u32(h, 0), e.u32(h, 4), e.u32(h, 8), e.u32(h, 12));
        if caplen as usize > MAX_RECORD_LEN {
            return Err(ctx.corrupt(
                offset + 8,
                format!(
                    "packet record claims {caplen} captured bytes, more than the {} MiB limit",
                    MAX_RECORD_LEN >> 20
                ),
            ));
        }
        let len = RECORD_HEADER_LEN + caplen as usize;
        if !fill(input, ctx, len)? {
            return Err(ctx.truncated(offset));
        }
        let frac_nanos = if self.nanos { u64::from(frac) } else { u64::from(frac) * 1_000 };
        let ts = Timestamp(u64::from(secs) * 1_000_000_000 + frac_nanos);
        Ok(Some(Record {
            ts,
            link_type: self.link_type,
            capture_point: 0,
            data_at: RECORD_HEADER_LEN,
            caplen: caplen as usize,
            orig_len,
            len,
        }))
    }
}
