//! Exporting the packets behind an entry: every stored packet of one connection (both directions)
//! within a time range, from the ring's files into one pcapng.

use super::pcapng_writer::PcapngWriter;
use crate::packet;
use crate::source::file::{CaptureError, CaptureFile};
use crate::time::Timestamp;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::Path;

/// Which packets to export: one transport connection, between `from` and `to` (inclusive).
#[derive(Clone, Copy, Debug)]
pub struct ConnectionFilter {
    pub a: (IpAddr, u16),
    pub b: (IpAddr, u16),
    pub from: Timestamp,
    pub to: Timestamp,
}

impl ConnectionFilter {
    fn matches(&self, src: (IpAddr, u16), dst: (IpAddr, u16), ts: Timestamp) -> bool {
        let same = (src == self.a && dst == self.b) || (src == self.b && dst == self.a);
        same && ts >= self.from && ts <= self.to
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("reading stored packets: {0}")]
    Read(#[from] CaptureError),
    #[error("writing the exported capture: {0}")]
    Write(#[from] io::Error),
}

/// Writes the matching packets of `files` (oldest first, e.g. [`super::PcapRing::files`]) as a
/// pcapng to `out`; returns how many were written. Files removed by the ring meanwhile are skipped.
pub fn export_connection<'a>(
    files: impl IntoIterator<Item = &'a Path>,
    filter: &ConnectionFilter,
    out: impl Write,
) -> Result<u64, ExportError> {
    let mut writer = PcapngWriter::new(out)?;
    let mut written = 0;
    for path in files {
        let mut file = match CaptureFile::open(path) {
            Ok(f) => f,
            // The ring deleted it since the list was taken: its packets are gone.
            Err(CaptureError::Io { ref source, .. }) if source.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        };
        while let Some(next) = file.next_packet() {
            let raw = match next {
                Ok(raw) => raw,
                // The newest file may end in a packet still being written.
                Err(CaptureError::Truncated { .. }) => break,
                Err(e) => return Err(e.into()),
            };
            let Ok(Some(d)) = packet::decode(&raw) else { continue };
            if filter.matches((d.src_ip, d.src_port), (d.dst_ip, d.dst_port), raw.ts) {
                writer.write_packet(&raw)?;
                written += 1;
            }
        }
    }
    writer.flush()?;
    Ok(written)
}
