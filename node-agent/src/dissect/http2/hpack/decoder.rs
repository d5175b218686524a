//! The HPACK decoder (RFC 7541 §3, §5, §6): one per direction of a connection.

use super::header_list::{HeaderList, Known};
use super::huffman::{self, HuffmanError};
use super::table::{lookup, DynamicTable, Lookup};
use super::{HpackError, Limits};

/// The initial SETTINGS_HEADER_TABLE_SIZE (RFC 7540 §6.5.2).
pub const DEFAULT_TABLE_SIZE: usize = 4096;

/// Whether a literal is added to the dynamic table, and how it may be indexed downstream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Indexing {
    Incremental,
    Without,
    Never,
}

/// Decodes the header blocks one encoder sent, in order, keeping the dynamic table in step.
///
/// State after an error: a limit error ([`HpackError::is_limit`]) leaves the table in step with the
/// encoder (the whole block was still processed); any other error means the block could not be
/// followed, so the table forgets its entries and later references to them decode as unknown
/// placeholders, as for a decoder that started mid-way ([`Decoder::mid_stream`]).
#[derive(Debug)]
pub struct Decoder {
    table: DynamicTable,
    /// The SETTINGS_HEADER_TABLE_SIZE in force (the most a size update may set).
    bound: usize,
    /// False when the connection was seen mid-way and no acknowledged setting told the bound.
    bound_known: bool,
    limits: Limits,
}

impl Decoder {
    /// A decoder that sees the connection from its start.
    pub fn new(limits: Limits) -> Self {
        Decoder {
            table: DynamicTable::new(DEFAULT_TABLE_SIZE, limits.max_table_size),
            bound: DEFAULT_TABLE_SIZE,
            bound_known: true,
            limits,
        }
    }

    /// A decoder for a connection captured mid-way: references to dynamic-table entries it never
    /// saw decode as placeholders ([`Known::Nothing`] / [`Known::ValueOnly`]) instead of errors;
    /// entries inserted from here on are known.
    pub fn mid_stream(limits: Limits) -> Self {
        Decoder {
            table: DynamicTable::unknown(DEFAULT_TABLE_SIZE, limits.max_table_size),
            bound: DEFAULT_TABLE_SIZE,
            bound_known: false,
            limits,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The peer acknowledged our SETTINGS_HEADER_TABLE_SIZE: size updates may now go up to `bound`.
    pub fn set_table_size_bound(&mut self, bound: u32) {
        self.bound = bound as usize;
        self.bound_known = true;
        self.table.set_bound(self.bound);
    }

    /// The acknowledged SETTINGS_HEADER_TABLE_SIZE may have changed unseen (a capture gap): size
    /// updates above the last known bound are believed from now on.
    pub fn forget_table_size_bound(&mut self) {
        self.bound_known = false;
    }

    /// Part of the encoder's output was not seen (a capture gap): forget the dynamic table.
    pub fn desynchronize(&mut self) {
        self.table.forget(self.bound_known.then_some(self.bound));
    }

    /// True when every dynamic-table entry the encoder may refer to is known, so every field
    /// decodes fully. False after starting mid-way or losing track, until the encoder empties its
    /// table (a size update to 0, or an entry larger than the table).
    pub fn is_synchronized(&self) -> bool {
        !self.table.tail_unknown()
    }

    /// The dynamic table's size as RFC 7541 §4.1 counts it (unknown names count as empty).
    pub fn table_size(&self) -> usize {
        self.table.size()
    }

    /// Known dynamic-table entries.
    pub fn table_len(&self) -> usize {
        self.table.len()
    }

    /// The dynamic table's maximum size (RFC 7541 §4.2), or the guess of it mid-way.
    pub fn max_table_size(&self) -> usize {
        self.table.max_size()
    }

    /// Heap bytes the decoder holds at most (for memory accounting): the table's cap.
    pub fn max_heap_bytes(&self) -> usize {
        self.limits.max_table_size
    }

    /// Decodes one complete header block into `out` (cleared first). On error `out` holds the
    /// fields decoded before it (for a limit error, those within the limits).
    pub fn decode(&mut self, block: &[u8], out: &mut HeaderList) -> Result<(), HpackError> {
        out.clear();
        let mut over_limit = None;
        match self.decode_fields(block, out, &mut over_limit) {
            Ok(()) => over_limit.map_or(Ok(()), Err),
            Err(e) => {
                out.drop_unfinished_field();
                self.desynchronize();
                Err(e)
            }
        }
    }

    fn decode_fields(
        &mut self,
        block: &[u8],
        out: &mut HeaderList,
        over_limit: &mut Option<HpackError>,
    ) -> Result<(), HpackError> {
        let mut r = Reader { block, pos: 0 };
        let mut seen_field = false;
        while let Some(first) = r.peek() {
            let at = r.pos;
            if first & 0x80 != 0 {
                let index = r.integer(7)?;
                let field = match lookup(&self.table, index) {
                    Lookup::Found(f) => f,
                    Lookup::Unknown => super::table::TableField { name: b"", value: b"", known: Known::Nothing },
                    Lookup::Invalid => return Err(HpackError::InvalidIndex { index, at }),
                };
                if self.admit(out, field.name.len() + field.value.len(), over_limit) {
                    out.push(field.name, field.value, false, field.known);
                }
            } else if first & 0x40 != 0 {
                self.literal(&mut r, 6, Indexing::Incremental, out, over_limit)?;
            } else if first & 0x20 != 0 {
                if seen_field {
                    return Err(HpackError::SizeUpdateAfterField { at });
                }
                let size = r.integer(5)?;
                if size > self.bound {
                    if self.bound_known {
                        return Err(HpackError::SizeUpdateAboveBound { size, bound: self.bound, at });
                    }
                    // Mid-way the acknowledged setting is unknown: the encoder just told it.
                    self.bound = size;
                }
                self.table.set_max_size(size);
                continue;
            } else {
                let indexing = if first & 0x10 != 0 { Indexing::Never } else { Indexing::Without };
                self.literal(&mut r, 4, indexing, out, over_limit)?;
            }
            seen_field = true;
        }
        Ok(())
    }

    /// Reads a literal field (RFC 7541 §6.2) and appends it to `out` if the limits allow; adds it
    /// to the dynamic table when the representation says so, whether or not it was kept.
    fn literal(
        &mut self,
        r: &mut Reader<'_>,
        prefix: u8,
        indexing: Indexing,
        out: &mut HeaderList,
        over_limit: &mut Option<HpackError>,
    ) -> Result<(), HpackError> {
        let at = r.pos;
        let index = r.integer(prefix)?;
        let start = out.bytes_mut().len();
        let known = if index == 0 {
            r.string(out.bytes_mut())?;
            Known::All
        } else {
            match lookup(&self.table, index) {
                Lookup::Found(f) if f.known == Known::All => {
                    out.bytes_mut().extend_from_slice(f.name);
                    Known::All
                }
                Lookup::Found(_) | Lookup::Unknown => Known::ValueOnly,
                Lookup::Invalid => return Err(HpackError::InvalidIndex { index, at }),
            }
        };
        let name_len = out.bytes_mut().len() - start;
        r.string(out.bytes_mut())?;
        let bytes = out.bytes_mut();
        let value_len = bytes.len() - start - name_len;
        if indexing == Indexing::Incremental {
            let (name, value) = bytes.get(start..).unwrap_or_default().split_at(name_len);
            self.table.insert(name, value, known);
        }
        if self.admit_sizes(out.len(), start, name_len + value_len, over_limit) {
            out.push_span(start, name_len, indexing == Indexing::Never, known);
        } else {
            out.bytes_mut().truncate(start);
        }
        Ok(())
    }

    /// Whether a field of `len` name and value bytes fits the limits after the fields already in
    /// `out`; records the first limit hit.
    fn admit(&self, out: &HeaderList, len: usize, over_limit: &mut Option<HpackError>) -> bool {
        self.admit_sizes(out.len(), out.byte_len(), len, over_limit)
    }

    fn admit_sizes(&self, fields: usize, bytes_before: usize, len: usize, over_limit: &mut Option<HpackError>) -> bool {
        if over_limit.is_some() {
            return false;
        }
        let overhead = super::table::ENTRY_OVERHEAD;
        if fields >= self.limits.max_fields {
            *over_limit = Some(HpackError::TooManyFields { max: self.limits.max_fields });
            return false;
        }
        if bytes_before + len + (fields + 1) * overhead > self.limits.max_list_size {
            *over_limit = Some(HpackError::ListTooLarge { max: self.limits.max_list_size });
            return false;
        }
        true
    }
}

/// A cursor over one header block.
pub(super) struct Reader<'a> {
    pub(super) block: &'a [u8],
    pub(super) pos: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.block.get(self.pos).copied()
    }

    fn next(&mut self, at: usize) -> Result<u8, HpackError> {
        let b = self.peek().ok_or(HpackError::Truncated { at })?;
        self.pos += 1;
        Ok(b)
    }

    /// An integer with an N-bit prefix (RFC 7541 §5.1), at most 2^32 - 1.
    pub(super) fn integer(&mut self, prefix: u8) -> Result<usize, HpackError> {
        let at = self.pos;
        let max_prefix = ((1u16 << prefix) - 1) as u8;
        let first = self.next(at)? & max_prefix;
        if first < max_prefix {
            return Ok(usize::from(first));
        }
        let mut value = u64::from(max_prefix);
        let mut shift = 0u32;
        loop {
            let b = self.next(at)?;
            value += u64::from(b & 0x7f) << shift;
            if value > u64::from(u32::MAX) {
                return Err(HpackError::IntegerOverflow { at });
            }
            if b & 0x80 == 0 {
                return usize::try_from(value).map_err(|_| HpackError::IntegerOverflow { at });
            }
            shift += 7;
            if shift > 28 {
                // Only zero-valued continuation bytes could follow: refuse the padding.
                return Err(HpackError::IntegerOverflow { at });
            }
        }
    }

    /// A string literal (RFC 7541 §5.2), decoded and appended to `out`.
    fn string(&mut self, out: &mut Vec<u8>) -> Result<(), HpackError> {
        let at = self.pos;
        let huffman_coded = self.peek().ok_or(HpackError::Truncated { at })? & 0x80 != 0;
        let len = self.integer(7)?;
        let end = self.pos.checked_add(len).filter(|&e| e <= self.block.len()).ok_or(HpackError::Truncated { at })?;
        let raw = self.block.get(self.pos..end).ok_or(HpackError::Truncated { at })?;
        self.pos = end;
        if huffman_coded {
            huffman::decode(raw, out).map_err(|e| match e {
                HuffmanError::Eos => HpackError::HuffmanEos { at },
                HuffmanError::Padding => HpackError::HuffmanPadding { at },
            })
        } else {
            out.extend_from_slice(raw);
            Ok(())
        }
    }
}
