//! Exporting the packets behind an entry: every stored packet of one connection (both directions)
//! within a time range, from the ring's files into one pcapng.

use super::pcapng_writer::PcapngWriter;
use crate::packet;
use crate::source::file::{CaptureError, CaptureFile};
use crate::time::Timestamp;
use std::collections::HashMap;
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
    export_connections(files, std::slice::from_ref(filter), out)
}

/// Like [`export_connection`] for several connections at once, in one pass over the files: a
/// packet is written once when it matches any of `filters`.
pub fn export_connections<'a>(
    files: impl IntoIterator<Item = &'a Path>,
    filters: &[ConnectionFilter],
    out: impl Write,
) -> Result<u64, ExportError> {
    // Time ranges per connection, keyed by its endpoints in a fixed order.
    type Endpoints = ((IpAddr, u16), (IpAddr, u16));
    let key = |x: (IpAddr, u16), y: (IpAddr, u16)| -> Endpoints {
        if x <= y {
            (x, y)
        } else {
            (y, x)
        }
    };
    let mut ranges: HashMap<Endpoints, Vec<(Timestamp, Timestamp)>> = HashMap::new();
    for f in filters {
        ranges.entry(key(f.a, f.b)).or_default().push((f.from, f.to));
    }
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
            let Some(times) = ranges.get(&key((d.src_ip, d.src_port), (d.dst_ip, d.dst_port))) else { continue };
            if times.iter().any(|&(from, to)| raw.ts >= from && raw.ts <= to) {
                writer.write_packet(&raw)?;
                written += 1;
            }
        }
    }
    writer.flush()?;
    Ok(written)
}
