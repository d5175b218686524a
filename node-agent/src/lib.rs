//! kubectl-shark's traffic engine: packet sources, TCP reassembly, protocol dissectors and the entry
//! model. Everything here except `source::live` is portable; the CLI uses it for `view` and `local`,
//! and the node-agent binary uses it inside the cluster.

pub mod dedup;
pub mod dissect;
pub mod engine;
pub mod entry;
pub mod filter;
#[cfg(feature = "link")]
pub mod link;
pub mod packet;
pub mod pipeline;
pub mod reassembly;
pub mod redact;
pub mod resolve;
pub mod scope;
pub mod source;
pub mod storage;
pub mod time;

pub use entry::{Endpoint, Entry, Outcome, Transport};
pub use time::Timestamp;
