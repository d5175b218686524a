//! What can go wrong opening or running a live capture.

use std::io;

use super::filter::FilterError;

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// `socket(AF_PACKET)` refused: not root and no CAP_NET_RAW.
    #[error("live capture needs root or the CAP_NET_RAW capability: socket(AF_PACKET, SOCK_RAW) failed: {source}")]
    PermissionDenied { source: io::Error },

    #[error("no network interface named {name:?} in this network namespace; available: {}", available.join(", "))]
    NoSuchInterface { name: String, available: Vec<String> },

    /// The interface went down (or was down when capture started). Not fatal: the socket is still
    /// bound and capture resumes if the interface comes back; call `next_batch` again.
    #[error("network interface {name:?} is down")]
    InterfaceDown { name: String },

    #[error("invalid live capture configuration: {0}")]
    InvalidConfig(String),

    #[error("invalid capture filter: {0}")]
    Filter(#[from] FilterError),

    /// A system call failed; `interface` is the interface name, or "all interfaces".
    #[error("{op} failed on {interface}: {source}")]
    Io { op: &'static str, interface: String, source: io::Error },
}
