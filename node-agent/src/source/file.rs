//! Capture files: pcap (both byte orders, micro- and nanosecond timestamps) and pcapng (several
//! sections and interfaces, any timestamp resolution). Packets are handed out one at a time as
//! slices of one reusable read buffer: no allocation per packet.
//!
//! ```no_run
//! # use node_agent::source::file::CaptureFile;
//! let mut file = CaptureFile::open("trace.pcapng".as_ref())?;
//! while let Some(packet) = file.next_packet() {
//!     let packet = packet?;
//!     println!("{} {} bytes", packet.ts, packet.data.len());
//! }
//! # Ok::<(), node_agent::source::file::CaptureError>(())
//! ```

mod bytes;
mod error;
mod input;
mod pcap;
mod pcapng;

pub use error::CaptureError;

use super::{LinkType, RawPacket, SourceStats};
use crate::time::Timestamp;
use bytes::Endian;
use error::Ctx;
use input::Input;
use pcap::Pcap;
use pcapng::Pcapng;
use std::io::Read;
use std::path::Path;

/// Records (pcap packet records, pcapng blocks we parse) larger than this are refused as corrupt
/// rather than buffered. Far above any real snap length (libpcap's maximum is 256 KiB).
pub const MAX_RECORD_LEN: usize = 16 << 20;

/// The container format of a capture file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Pcap,
    Pcapng,
}

/// A capture file being read, one packet at a time.
pub struct CaptureFile {
    ctx: Ctx,
    input: Input,
    format: Format,
    /// Bytes of the packet handed out last, consumed before the next one is read.
    pending: usize,
    done: bool,
    stats: SourceStats,
}

enum Format {
    Pcap(Pcap),
    Pcapng(Pcapng),
}

/// One packet record as a format parser finds it, relative to the read position.
struct Record {
    ts: Timestamp,
    link_type: LinkType,
    capture_point: u32,
    /// Offset of the packet bytes from the start of the record.
    data_at: usize,
    caplen: usize,
    orig_len: u32,
    /// Bytes the whole record occupies.
    len: usize,
}

impl CaptureFile {
    /// Opens a file and reads its header.
    pub fn open(path: &Path) -> Result<CaptureFile, CaptureError> {
        let name = path.display().to_string();
        let file =
            std::fs::File::open(path).map_err(|source| CaptureError::Io { file: name.clone(), offset: 0, source })?;
        CaptureFile::from_reader(file, name)
    }

    /// Reads a capture from any byte stream (a pipe, stdin, memory); `name` appears in errors.
    pub fn from_reader(r: impl Read + Send + 'static, name: String) -> Result<CaptureFile, CaptureError> {
        let ctx = Ctx { name };
        let mut input = Input::new(Box::new(r));
        if !fill(&mut input, &ctx, 4)? {
            return Err(ctx.not_a_capture_file(input.available()));
        }
        let magic = input.available().get(..4).unwrap_or_default();
        let magic_le = Endian::Little.u32(magic, 0);
        let magic_be = Endian::Big.u32(magic, 0);
        let format = if magic_le == pcapng::SHB {
            Format::Pcapng(Pcapng::open(&mut input, &ctx)?)
        } else if let Some((endian, nanos)) = [
            (magic_le == pcap::MAGIC_MICROS, Endian::Little, false),
            (magic_be == pcap::MAGIC_MICROS, Endian::Big, false),
            (magic_le == pcap::MAGIC_NANOS, Endian::Little, true),
            (magic_be == pcap::MAGIC_NANOS, Endian::Big, true),
        ]
        .into_iter()
        .find_map(|(hit, endian, nanos)| hit.then_some((endian, nanos)))
        {
            Format::Pcap(Pcap::open(&mut input, &ctx, endian, nanos)?)
        } else {
            fill(&mut input, &ctx, 16)?;
            let shown = input.available().len().min(16);
            return Err(ctx.not_a_capture_file(input.available().get(..shown).unwrap_or_default()));
        };
        Ok(CaptureFile { ctx, input, format, pending: 0, done: false, stats: SourceStats::default() })
    }

    /// The name given at opening (the path, for [`CaptureFile::open`]).
    pub fn name(&self) -> &str {
        &self.ctx.name
    }

    pub fn format(&self) -> FileFormat {
        match self.format {
            Format::Pcap(_) => FileFormat::Pcap,
            Format::Pcapng(_) => FileFormat::Pcapng,
        }
    }

    /// The next packet; `None` at the end of the file and after an error. The packet borrows the
    /// reader's buffer until the next call.
    pub fn next_packet(&mut self) -> Option<Result<RawPacket<'_>, CaptureError>> {
        if self.done {
            return None;
        }
        self.input.consume(std::mem::take(&mut self.pending));
        let record = match &mut self.format {
            Format::Pcap(p) => p.next(&mut self.input, &self.ctx),
            Format::Pcapng(p) => p.next(&mut self.input, &self.ctx),
        };
        let record = match record {
            Ok(Some(r)) => r,
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        let Some(data) = self.input.peek(record.data_at, record.caplen) else {
            // The parsers buffer whole records before returning them; this is a bug, reported
            // as such rather than as a panic.
            self.done = true;
            let offset = self.input.offset();
            return Some(Err(self.ctx.corrupt(offset, "internal error: record not fully buffered")));
        };
        self.pending = record.len;
        self.stats.packets += 1;
        self.stats.bytes += data.len() as u64;
        Some(Ok(RawPacket {
            ts: record.ts,
            link_type: record.link_type,
            capture_point: record.capture_point,
            data,
            orig_len: record.orig_len,
        }))
    }

    /// Packets and captured bytes handed out so far.
    pub fn stats(&self) -> SourceStats {
        self.stats
    }
}

/// [`Input::fill`] with the I/O error reported at the current offset.
fn fill(input: &mut Input, ctx: &Ctx, n: usize) -> Result<bool, CaptureError> {
    input.fill(n).map_err(|e| ctx.io(input.offset(), e))
}

#[cfg(test)]
mod tests;
