//! DNS over UDP and over TCP (RFC 1035, RFC 7766).
//!
//! Modules, one job each:
//! - [`parser`]: wire format to values (pure; own implementation, see below),
//! - [`rdata`]: RDATA decoding and presentation, [`mnemonic`]: numbers to names,
//! - `probe`: recognising DNS from content, `json`: values to the entry's JSON,
//! - `pairing`: queries to responses (shared), `udp` / `tcp`: the sessions.
//!
//! The wire parser is written here rather than taken from simple-dns: simple-dns parses a packet
//! all or nothing (one bad record loses the whole message), while a dissector must show what it
//! can of a damaged or truncated message and say where the damage is; it also gives control
//! over the pointer rules (only strictly backward jumps, so no loops by construction) and over
//! presentation (tshark-like names). simple-dns stays in use as an independent encoder in tests.
//!
//! # Exchanges
//!
//! `summary` is "<TYPE> <name>" of the first question ("A example.com"; the opcode goes first
//! unless it is QUERY: "NOTIFY SOA example.com"), `status` the response code ("NOERROR",
//! "NXDOMAIN", EDNS-extended when the response has OPT; null without response), `ts` the query's
//! first byte, `end_ts` the response's last, sizes the DNS message bytes (no TCP length prefix).
//!
//! ```json
//! "request": {
//!   "id": 4660, "opcode": "QUERY", "flags": ["rd", "ad"],
//!   "questions": [{"name": "example.com", "type": "A", "class": "IN"}],
//!   "additionals": [ ...records, only when the query has some (EDNS OPT, UPDATE)... ],
//!   "retransmissions": 2            // only when > 0
//! },
//! "response": {
//!   "id": 4660, "rcode": "NOERROR", "flags": ["qr", "rd", "ra"],
//!   "answers": [{"name": "example.com", "type": "A", "class": "IN", "ttl": 300, "data": "192.0.2.1"}],
//!   "authorities": [],
//!   "additionals": [{"name": "<Root>", "type": "OPT", "udp_payload_size": 1232,
//!                    "extended_rcode": 0, "version": 0, "flags": ["do"],
//!                    "options": [{"code": 10, "name": "COOKIE", "data": "0102..."}]}]
//! }
//! ```
//! Flags are the set header bits among qr, aa, tc, rd, ra, z, ad, cd. Names are in presentation
//! form without the trailing dot, the root as "<Root>"; types, classes, opcodes and rcodes are
//! mnemonics ("TYPE65280", "CLASS42", "RCODE12" when unassigned). `data` formats are listed in
//! [`rdata`]. Answer, authority and query sections in `request` follow the same shapes.
//!
//! Pairing is per flow by (id, first question); see `pairing` for retransmissions, responses
//! without a captured query (request rebuilt from the response's question, note "query not
//! captured"), timeouts and the memory bounds. Unanswered queries are reported with `response`
//! null after the timeout (default 5 s; packet time offline, wall time live), or when the flow
//! closes. Notes also report parse damage and skipped non-DNS messages.

pub mod mnemonic;
pub mod parser;
pub mod rdata;

mod json;
mod pairing;
mod probe;
mod tcp;
mod udp;

#[cfg(test)]
mod tests;

pub use pairing::{MAX_PENDING, MAX_PENDING_BYTES};
pub use tcp::{DnsTcpSession, MAX_BUFFER as MAX_TCP_BUFFER};
pub use udp::DnsUdpSession;

use super::registry::Protocol;
use super::settings::ProtocolSettings;
use super::{DatagramDissector, DatagramSession, FlowInfo, Probe, StreamDissector, StreamSession};
use crate::entry::Outcome;

/// DNS's registration: over TCP and UDP, no credentials.
pub const PROTOCOL: Protocol = Protocol {
    about: "DNS over UDP and TCP",
    stream: Some(tcp_dissector),
    datagram: Some(udp_dissector),
    ..Protocol::named("dns")
};

fn tcp_dissector(_: &ProtocolSettings) -> Box<dyn StreamDissector> {
    Box::new(DnsTcpDissector)
}

fn udp_dissector(_: &ProtocolSettings) -> Box<dyn DatagramDissector> {
    Box::new(DnsUdpDissector::default())
}

/// The common outcome of a response code: NOERROR and NXDOMAIN answer the question (a name that
/// does not exist is an answer); SERVFAIL and NOTIMP are the server's failure; the rest (FORMERR,
/// REFUSED, the UPDATE and EDNS codes) refuse what the client sent.
pub fn rcode_outcome(rcode: u16) -> Outcome {
    match rcode {
        0 | 3 => Outcome::Ok,
        2 | 4 => Outcome::ServerError,
        _ => Outcome::ClientError,
    }
}

/// How long a query waits for its response before it is reported unanswered.
pub const DEFAULT_TIMEOUT_NS: u64 = 5_000_000_000;

/// DNS over TCP. Queries time out after [`DEFAULT_TIMEOUT_NS`], measured in segment time.
pub struct DnsTcpDissector;

impl StreamDissector for DnsTcpDissector {
    fn name(&self) -> &'static str {
        "dns"
    }

    fn probe(&self, _flow: &FlowInfo, data: &[u8]) -> Probe {
        probe::stream(data)
    }

    fn new_session(&self, flow: &FlowInfo) -> Box<dyn StreamSession> {
        Box::new(DnsTcpSession::new(DEFAULT_TIMEOUT_NS, !flow.saw_handshake))
    }
}

/// DNS over UDP.
#[derive(Clone, Copy, Debug)]
pub struct DnsUdpDissector {
    timeout_ns: u64,
}

impl Default for DnsUdpDissector {
    fn default() -> Self {
        DnsUdpDissector { timeout_ns: DEFAULT_TIMEOUT_NS }
    }
}

impl DnsUdpDissector {
    /// Reports queries unanswered after `nanos` instead of [`DEFAULT_TIMEOUT_NS`].
    pub fn with_timeout(nanos: u64) -> Self {
        DnsUdpDissector { timeout_ns: nanos }
    }
}

impl DatagramDissector for DnsUdpDissector {
    fn name(&self) -> &'static str {
        "dns"
    }

    fn probe(&self, _flow: &FlowInfo, payload: &[u8]) -> Probe {
        probe::datagram(payload)
    }

    fn new_session(&self, _flow: &FlowInfo) -> Box<dyn DatagramSession> {
        Box::new(DnsUdpSession::new(self.timeout_ns))
    }
}
