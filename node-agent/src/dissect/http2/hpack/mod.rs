//! HPACK header compression for HTTP/2 (RFC 7541), decoding only.
//!
//! Written here rather than taken from a crate so that malformed input is an error, never a
//! panic, memory stays within [`Limits`], and a connection captured mid-way can still be decoded
//! (see [`Decoder::mid_stream`]).

mod decoder;
mod header_list;
mod huffman;
mod table;

#[cfg(test)]
pub(crate) mod tests;

pub use decoder::{Decoder, DEFAULT_TABLE_SIZE};
pub use header_list::{HeaderField, HeaderList, Known};
pub use table::ENTRY_OVERHEAD;

/// Memory bounds of one decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest decoded header list, counted as HTTP/2 does (names, values and 32 bytes per field).
    pub max_list_size: usize,
    /// Most fields in one header list.
    pub max_fields: usize,
    /// Bytes the dynamic table keeps at most, whatever size the peers agreed on; entries beyond it
    /// decode as unknown placeholders.
    pub max_table_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_list_size: 64 << 10, max_fields: 512, max_table_size: 64 << 10 }
    }
}

/// Why a header block could not be decoded; `at` is the offset in the block of the field
/// representation (or string) at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HpackError {
    #[error("hpack: header block ends inside the representation at byte {at}")]
    Truncated { at: usize },
    #[error("hpack: integer at byte {at} exceeds 2^32-1")]
    IntegerOverflow { at: usize },
    #[error("hpack: index {index} at byte {at} refers to no table entry")]
    InvalidIndex { index: usize, at: usize },
    #[error("hpack: Huffman string at byte {at} contains EOS")]
    HuffmanEos { at: usize },
    #[error("hpack: Huffman string at byte {at} has invalid padding")]
    HuffmanPadding { at: usize },
    #[error("hpack: dynamic table size update at byte {at} follows a header field")]
    SizeUpdateAfterField { at: usize },
    #[error("hpack: dynamic table size update at byte {at} to {size} exceeds the allowed {bound}")]
    SizeUpdateAboveBound { size: usize, bound: usize, at: usize },
    #[error("hpack: header list has more than {max} fields")]
    TooManyFields { max: usize },
    #[error("hpack: header list exceeds {max} bytes")]
    ListTooLarge { max: usize },
}

impl HpackError {
    /// A limit of ours was hit: the block was well-formed and the decoder is still in step.
    pub fn is_limit(&self) -> bool {
        matches!(self, HpackError::TooManyFields { .. } | HpackError::ListTooLarge { .. })
    }
}
