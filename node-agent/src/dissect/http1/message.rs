//! Assembled messages: a parsed head with its captured body and where it sat on the wire.
//! Built by the session, rendered once by `json`.

use super::body::BodyCapture;
use super::parser::{Header, RequestHead, ResponseHead};
use crate::time::Timestamp;

#[derive(Debug)]
pub(crate) struct RequestMsg {
    pub head: RequestHead,
    pub body: BodyCapture,
    pub trailers: Vec<Header>,
    /// First byte.
    pub ts: Timestamp,
    /// Last byte.
    pub end: Timestamp,
    /// Head and body bytes on the wire (chunk framing included).
    pub wire: u64,
    pub notes: Vec<String>,
}

/// A 1xx response before the final one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Interim {
    pub status: u16,
    pub reason: String,
    pub wire: u64,
}

#[derive(Debug)]
pub(crate) struct ResponseMsg {
    pub head: ResponseHead,
    pub body: BodyCapture,
    pub trailers: Vec<Header>,
    pub interim: Vec<Interim>,
    pub ts: Timestamp,
    pub end: Timestamp,
    pub wire: u64,
    pub notes: Vec<String>,
}
