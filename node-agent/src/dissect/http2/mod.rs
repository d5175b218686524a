//! HTTP/2 (RFC 9113) below the session: pure, I/O-free parsing.
//!
//! - [`hpack`]: header decompression (RFC 7541), one decoder per direction;
//! - [`frame`]: frame headers and typed payloads, zero-copy, plus the connection preface and a
//!   heuristic for frames seen from the middle of a connection;
//! - [`connection`]: one connection's frames per direction into events (header blocks assembled
//!   and decoded, data, resets, GOAWAY, push promises), with settings that affect decoding.

pub mod codes;
pub mod connection;
pub mod frame;
pub mod hpack;
pub mod reader;

#[cfg(test)]
mod tests;
