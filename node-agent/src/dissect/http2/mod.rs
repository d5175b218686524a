//! HTTP/2 (RFC 9113): one entry per stream (`"protocol": "http"`, `request.version` `"HTTP/2"`),
//! and gRPC calls (`"grpc"`, see [`super::grpc`]) on the same connections.
//!
//! Layout, pure parsing below the stateful code:
//! - [`hpack`]: header decompression (RFC 7541), one decoder per direction;
//! - [`frame`]: frame headers and typed payloads, zero-copy, the connection preface, and
//!   heuristics for frames seen from the middle of a connection;
//! - [`wire`]: one direction's bytes into frames on the shared [`super::framing::Framer`]
//!   (partial frames, the preface, DATA frames too large to buffer, gaps);
//! - [`connection`]: one connection's frames into [`connection::Event`]s (header blocks assembled
//!   and decoded, data, resets, GOAWAY, push promises), settings that affect decoding applied;
//! - `session`: the events into streams and streams into entries (`json`, or a gRPC call);
//! - [`codes`]: error codes and setting identifiers by name.

pub mod codes;
pub mod connection;
pub mod frame;
pub mod hpack;
mod json;
mod session;
pub mod wire;

#[cfg(test)]
mod session_tests;
#[cfg(test)]
mod tests;

use super::grpc::exchange::{CallLimits, GrpcContext};
use super::registry::Protocol;
use super::settings::ProtocolSettings;
use super::{FlowInfo, Probe, StreamDissector, StreamSession, Upgrade};
use crate::redact::Secrets;
use frame::{looks_like_frames, match_preface, FrameGuess, FrameHeader, FrameType, PrefaceMatch, FRAME_HEADER_LEN};
use session::Shared;
pub use session::{Http2Session, Limits};
use std::sync::Arc;

/// HTTP/2's registration: its entries are `"http"`, like HTTP/1's, and the two are enabled together.
pub const PROTOCOL: Protocol = Protocol {
    about: "HTTP/2: prior-knowledge h2c, the h2c upgrade, and connections seen mid-way",
    http_semantics: true,
    secrets: Secrets::HTTP_HEADERS,
    stream: Some(dissector),
    ..Protocol::named("http")
};

fn dissector(settings: &ProtocolSettings) -> Box<dyn StreamDissector> {
    Box::new(Http2Dissector::from_settings(settings))
}

/// Bytes after which a direction that shows frames but no sign of who sent them is taken for the
/// client's (the other direction had its chance to tell first).
const PROBE_UNSURE_DECIDE: usize = 4096;

/// The HTTP/2 dissector: detects the client preface, or frames on a connection seen mid-way.
pub struct Http2Dissector {
    name: &'static str,
    shared: Arc<Shared>,
    /// Whether it probes connections at all (see [`Http2Dissector::grpc_only`]).
    probing: bool,
}

impl Http2Dissector {
    /// A dissector that makes HTTP entries, and gRPC entries when `grpc` is given.
    pub fn new(limits: Limits, grpc: Option<Arc<GrpcContext>>) -> Self {
        Http2Dissector { name: "http2", shared: Arc::new(Shared { limits, grpc, http: true }), probing: true }
    }

    /// HTTP/2 as the settings want it: gRPC calls as gRPC entries when gRPC is enabled (with the
    /// schema of `--proto-path`, loaded here, once).
    pub fn from_settings(settings: &ProtocolSettings) -> Self {
        let grpc = settings.is_enabled("grpc").then(|| Arc::new(grpc_context(settings)));
        Http2Dissector::new(limits_of(settings), grpc)
    }

    /// gRPC's own dissector: when HTTP is disabled (`--protocols grpc`), HTTP/2 connections are
    /// still dissected for their gRPC calls (other streams are dropped); when HTTP is enabled the
    /// HTTP/2 dissector does it all and this one probes nothing.
    pub fn grpc_only(settings: &ProtocolSettings) -> Self {
        let probing = !settings.is_enabled("http");
        let grpc = probing.then(|| Arc::new(grpc_context(settings)));
        let shared = Shared { limits: limits_of(settings), grpc, http: false };
        Http2Dissector { name: "grpc", shared: Arc::new(shared), probing }
    }

    pub fn limits(&self) -> &Limits {
        &self.shared.limits
    }
}

impl Default for Http2Dissector {
    fn default() -> Self {
        let limits = Limits::default();
        Http2Dissector::new(
            limits,
            Some(Arc::new(GrpcContext::new(None, CallLimits::with_body_limit(limits.body_limit)))),
        )
    }
}

fn limits_of(settings: &ProtocolSettings) -> Limits {
    Limits { body_limit: settings.body_limit, max_streams: settings.max_streams.max(1), ..Limits::default() }
}

fn grpc_context(settings: &ProtocolSettings) -> GrpcContext {
    GrpcContext::new(settings.proto_path.as_deref(), CallLimits::with_body_limit(settings.body_limit))
}

/// Decides from the first bytes of a direction: the client preface makes a client; frames (a
/// connection seen mid-way) make a client or a server by what their first header block starts
/// with (`:method`/`:path`/`:scheme`/`:authority` or `:status`), or a PUSH_PROMISE.
pub fn probe(data: &[u8]) -> Probe {
    match match_preface(data) {
        PrefaceMatch::Complete => return Probe::Client,
        PrefaceMatch::Partial => return Probe::NeedMore,
        PrefaceMatch::Mismatch => {}
    }
    let enough = data.len() >= PROBE_UNSURE_DECIDE;
    match looks_like_frames(data) {
        FrameGuess::No => Probe::No,
        // One plausible header of a frame longer than what came so far: a large DATA frame.
        FrameGuess::NeedMore if enough => sender_of(data).unwrap_or(Probe::Client),
        FrameGuess::NeedMore => Probe::NeedMore,
        FrameGuess::Frames => match sender_of(data) {
            Some(p) => p,
            None if enough => Probe::Client,
            None => Probe::NeedMore,
        },
    }
}

/// Who sent these frames, by the first header block among them (pseudo-header fields come first
/// in a block: `:method`, `:path`, `:scheme`, `:authority` from a client, `:status` from a
/// server), decoded as far as a decoder that never saw the connection's start can; or by a
/// PUSH_PROMISE, which only servers send.
fn sender_of(mut data: &[u8]) -> Option<Probe> {
    for _ in 0..64 {
        let h = FrameHeader::parse(data)?;
        let payload = data.get(FRAME_HEADER_LEN..h.frame_len().min(data.len()))?;
        match h.frame_type {
            FrameType::PushPromise => return Some(Probe::Server),
            FrameType::Headers => {
                let padded = usize::from(h.flags & frame::flags::PADDED != 0);
                let priority = if h.flags & frame::flags::PRIORITY != 0 { 5 } else { 0 };
                let block = payload.get(padded + priority..)?;
                let mut fields = hpack::HeaderList::new();
                // Errors (a block cut by the end of the bytes) leave the fields decoded before them.
                let _ = hpack::Decoder::mid_stream(hpack::Limits::default()).decode(block, &mut fields);
                let first = fields.iter().find(|f| f.known == hpack::Known::All)?;
                return match first.name {
                    b":status" => Some(Probe::Server),
                    b":method" | b":path" | b":scheme" | b":authority" | b":protocol" => Some(Probe::Client),
                    _ => None,
                };
            }
            _ => {}
        }
        data = data.get(h.frame_len()..)?;
    }
    None
}

impl StreamDissector for Http2Dissector {
    fn name(&self) -> &'static str {
        self.name
    }

    fn probe(&self, _flow: &FlowInfo, data: &[u8]) -> Probe {
        if self.probing {
            probe(data)
        } else {
            Probe::No
        }
    }

    fn new_session(&self, flow: &FlowInfo) -> Box<dyn StreamSession> {
        Box::new(Http2Session::new(self.shared.clone(), !flow.saw_handshake))
    }

    fn continue_session(&self, _flow: &FlowInfo, upgrade: &Upgrade) -> Box<dyn StreamSession> {
        Box::new(Http2Session::after_upgrade(self.shared.clone(), upgrade))
    }
}
