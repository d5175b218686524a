//! A decoded header list: every name and value in one buffer, fields as spans into it.

use super::table::ENTRY_OVERHEAD;

/// How much of a field the decoder knows. Parts it does not know are empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Known {
    /// Name and value.
    All,
    /// The value; the name came from a dynamic-table entry the decoder never saw.
    ValueOnly,
    /// Neither: the field is a dynamic-table entry the decoder never saw (a placeholder).
    Nothing,
}

/// One field of a [`HeaderList`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderField<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
    /// Sent as "never indexed" (RFC 7541 §6.2.3): a sensitive value to redact.
    pub never_indexed: bool,
    pub known: Known,
}

impl HeaderField<'_> {
    /// True for a field with a part the decoder could not know (see [`Known`]).
    pub fn is_unknown(&self) -> bool {
        self.known != Known::All
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    start: u32,
    name_len: u32,
    value_len: u32,
    never_indexed: bool,
    known: Known,
}

/// The fields of one header block, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderList {
    bytes: Vec<u8>,
    spans: Vec<Span>,
}

impl HeaderList {
    pub fn new() -> Self {
        HeaderList::default()
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.spans.clear();
    }

    pub fn get(&self, i: usize) -> Option<HeaderField<'_>> {
        self.spans.get(i).map(|s| self.field(s))
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = HeaderField<'_>> + '_ {
        self.spans.iter().map(|s| self.field(s))
    }

    /// The value of the first field named `name` (names are lowercase in HTTP/2).
    pub fn value_of(&self, name: &[u8]) -> Option<&[u8]> {
        self.iter().find(|f| f.name == name && f.known == Known::All).map(|f| f.value)
    }

    /// The list's size as HTTP/2 counts it against SETTINGS_MAX_HEADER_LIST_SIZE: names and
    /// values plus 32 bytes per field (RFC 7540 §6.5.2).
    pub fn list_size(&self) -> usize {
        self.bytes.len() + ENTRY_OVERHEAD * self.spans.len()
    }

    /// Heap bytes held (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.spans.capacity() * std::mem::size_of::<Span>()
    }

    /// Appends a field.
    pub fn push(&mut self, name: &[u8], value: &[u8], never_indexed: bool, known: Known) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(name);
        self.bytes.extend_from_slice(value);
        self.push_span(start, name.len(), never_indexed, known);
    }

    /// The buffer fields are written into, for the decoder to append a name and value directly.
    pub(super) fn bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// Bytes of names and values.
    pub(super) fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// Drops bytes after the last complete field (a field whose decoding failed).
    pub(super) fn drop_unfinished_field(&mut self) {
        let end = self.spans.last().map_or(0, |s| (s.start + s.name_len + s.value_len) as usize);
        self.bytes.truncate(end);
    }

    /// Records the field whose name and value are `bytes[start..]`, the name first.
    pub(super) fn push_span(&mut self, start: usize, name_len: usize, never_indexed: bool, known: Known) {
        let value_len = self.bytes.len().saturating_sub(start + name_len);
        self.spans.push(Span {
            start: start as u32,
            name_len: name_len as u32,
            value_len: value_len as u32,
            never_indexed,
            known,
        });
    }

    fn field(&self, s: &Span) -> HeaderField<'_> {
        let start = s.start as usize;
        let mid = start + s.name_len as usize;
        let end = mid + s.value_len as usize;
        HeaderField {
            name: self.bytes.get(start..mid).unwrap_or_default(),
            value: self.bytes.get(mid..end).unwrap_or_default(),
            never_indexed: s.never_indexed,
            known: s.known,
        }
    }
}
