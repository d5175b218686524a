//! HTTP/2 (RFC 9113) below the session: pure, I/O-free parsing.
//!
//! - [`hpack`]: header decompression (RFC 7541), one decoder per direction;
//! - [`frame`]: frame headers and typed payloads, zero-copy, the connection preface, and
//!   heuristics for frames seen from the middle of a connection;
//! - [`reader`]: one direction's bytes into frames (partial frames, the preface, gaps);
//! - [`connection`]: one connection's frames into [`connection::Event`]s (header blocks assembled
//!   and decoded, data, resets, GOAWAY, push promises), settings that affect decoding applied;
//! - [`codes`]: error codes and setting identifiers by name.
//!
//! A session wires them as: one [`connection::H2Connection`] (`Start::Beginning` when the SYN
//! was seen, else `Start::MidStream`) and one [`reader::FrameReader`] per direction
//! (`FrameReader::new(true, ..)` for the client from the start, `FrameReader::resyncing(..)` for a
//! flow seen mid-way); `on_data` → `reader.feed(&mut conn, dir, data, &mut |event| ..)`,
//! `on_gap` → `reader.on_gap(..)`, `on_end` → `reader.on_end(..)`; memory is
//! `reader.buffered_bytes()` of both readers plus `conn.buffered_bytes()`. Pairing events by
//! stream id into exchanges is the session's part.

pub mod codes;
pub mod connection;
pub mod frame;
pub mod hpack;
pub mod reader;

#[cfg(test)]
mod tests;
