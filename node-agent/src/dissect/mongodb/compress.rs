//! OP_COMPRESSED payloads (MongoDB wire compression): noop, snappy (raw format), zlib and zstd,
//! each decompressed to at most a cap, so a small message cannot claim a large output.

use std::io::Read;
use thiserror::Error;

pub const NOOP: u8 = 0;
pub const SNAPPY: u8 = 1;
pub const ZLIB: u8 = 2;
pub const ZSTD: u8 = 3;

pub fn compressor_name(id: u8) -> &'static str {
    match id {
        NOOP => "noop",
        SNAPPY => "snappy",
        ZLIB => "zlib",
        ZSTD => "zstd",
        _ => "unknown",
    }
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum DecompressError {
    #[error("{compressor} data is corrupt")]
    Corrupt { compressor: &'static str },
    #[error("compressor {0} unknown")]
    Unknown(u8),
}

/// The decompressed bytes, at most `cap` of them; `true` when the output was cut at the cap.
pub fn decompress(compressor: u8, data: &[u8], cap: usize) -> Result<(Vec<u8>, bool), DecompressError> {
    let corrupt = DecompressError::Corrupt { compressor: compressor_name(compressor) };
    match compressor {
        NOOP => {
            let shown = data.get(..cap).unwrap_or(data);
            Ok((shown.to_vec(), shown.len() < data.len()))
        }
        SNAPPY => {
            // The raw format states its length first: refuse before allocating more than the cap.
            let len = snap::raw::decompress_len(data).map_err(|_| corrupt.clone())?;
            if len > cap {
                return Ok((Vec::new(), true));
            }
            let out = snap::raw::Decoder::new().decompress_vec(data).map_err(|_| corrupt)?;
            Ok((out, false))
        }
        ZLIB => read_capped(flate2::read::ZlibDecoder::new(data), cap).ok_or(corrupt),
        ZSTD => {
            let decoder = ruzstd::decoding::StreamingDecoder::new(data).map_err(|_| corrupt.clone())?;
            read_capped(decoder, cap).ok_or(corrupt)
        }
        other => Err(DecompressError::Unknown(other)),
    }
}

/// Reads up to `cap` bytes; whether there was more. `None` when the stream is corrupt before the cap.
fn read_capped<R: Read>(reader: R, cap: usize) -> Option<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    let mut limited = reader.take(cap as u64 + 1);
    limited.read_to_end(&mut out).ok()?;
    let cut = out.len() > cap;
    out.truncate(cap);
    Some((out, cut))
}
