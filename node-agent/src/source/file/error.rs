//! Why a capture file could not be read. Every variant names the file and, where it applies, the
//! byte offset of the record or field at fault.

use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{file}: read failed at byte {offset}: {source}")]
    Io {
        file: String,
        offset: u64,
        #[source]
        source: std::io::Error,
    },
    /// The first bytes are neither a pcap nor a pcapng magic number.
    #[error("{file}: not a pcap or pcapng file: {}", FirstBytes(first_bytes))]
    NotACaptureFile { file: String, first_bytes: Vec<u8> },
    /// A link type we cannot decode; `offset` is where the file declares it (pcap header or pcapng
    /// interface description block).
    #[error(
        "{file}: link type {link_type} declared at byte {offset} is not supported (Ethernet, Linux SLL/SLL2, raw IP and BSD null/loop are)"
    )]
    UnknownLinkType { file: String, offset: u64, link_type: u32 },
    /// The file ends inside the record (pcap) or block (pcapng) that starts at `offset`.
    #[error("{file}: truncated: the file ends inside the record that starts at byte {offset}")]
    Truncated { file: String, offset: u64 },
    /// A structural inconsistency at `offset` (a record or field).
    #[error("{file}: corrupt at byte {offset}: {what}")]
    Corrupt { file: String, offset: u64, what: String },
}

/// Formats a file's first bytes in hex for [`CaptureError::NotACaptureFile`].
struct FirstBytes<'a>(&'a [u8]);

impl fmt::Display for FirstBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("the file is empty");
        }
        f.write_str("it starts with")?;
        for b in self.0 {
            write!(f, " {b:02x}")?;
        }
        Ok(())
    }
}

/// Builds errors that carry the file name.
#[derive(Clone, Debug)]
pub(super) struct Ctx {
    pub name: String,
}

impl Ctx {
    pub fn io(&self, offset: u64, source: std::io::Error) -> CaptureError {
        CaptureError::Io { file: self.name.clone(), offset, source }
    }
    pub fn truncated(&self, offset: u64) -> CaptureError {
        CaptureError::Truncated { file: self.name.clone(), offset }
    }
    pub fn corrupt(&self, offset: u64, what: impl Into<String>) -> CaptureError {
        CaptureError::Corrupt { file: self.name.clone(), offset, what: what.into() }
    }
    pub fn unknown_link_type(&self, offset: u64, link_type: u32) -> CaptureError {
        CaptureError::UnknownLinkType { file: self.name.clone(), offset, link_type }
    }
    pub fn not_a_capture_file(&self, first_bytes: &[u8]) -> CaptureError {
        CaptureError::NotACaptureFile { file: self.name.clone(), first_bytes: first_bytes.to_vec() }
    }
}
