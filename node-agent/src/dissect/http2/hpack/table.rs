//! The static table (RFC 7541 Appendix A) and the dynamic table (§2.3.2, §4).

use std::collections::VecDeque;

use super::header_list::Known;

/// Per-entry overhead counted in a table's size (RFC 7541 §4.1).
pub const ENTRY_OVERHEAD: usize = 32;

/// The static table; index 1 is the first entry.
pub(super) const STATIC_TABLE: [(&[u8], &[u8]); 61] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// One dynamic-table entry: name then value in one allocation.
#[derive(Debug)]
struct Entry {
    bytes: Box<[u8]>,
    name_len: usize,
    known: Known,
}

impl Entry {
    /// The size RFC 7541 §4.1 counts, except that an unknown name counts as empty.
    fn size(&self) -> usize {
        self.bytes.len() + ENTRY_OVERHEAD
    }
}

/// A field read from a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct TableField<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
    pub known: Known,
}

/// What an index refers to.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Lookup<'a> {
    Found(TableField<'a>),
    /// A dynamic-table entry that was inserted before the decoder could see it.
    Unknown,
    /// No such entry can exist.
    Invalid,
}

/// The dynamic table of one direction, newest entry first.
///
/// The table may know only the encoder's newest entries: those inserted before the decoder
/// started (a connection captured mid-way) or lost track (a decoding error, a gap) are unknown,
/// and so are entries this table dropped to stay within `hard_cap` while the encoder kept them.
/// The known entries are always the encoder's newest ones in order, so indices stay right, and
/// `tail_unknown` says older ones may exist. Keeping more entries than the encoder is harmless (a
/// correct encoder never refers to an evicted entry); keeping fewer only turns references into
/// unknown placeholders. So whenever the real state is uncertain the table errs towards keeping.
#[derive(Debug)]
pub(super) struct DynamicTable {
    entries: VecDeque<Entry>,
    /// Sum of the entries' sizes (an undercount when some names are unknown).
    size: usize,
    /// The maximum size the encoder set (RFC 7541 §4.2), an upper bound of it, or a guess.
    max_size: usize,
    /// The encoder's maximum size is known to be at most `max_size` (it is exact after a size
    /// update); false while `max_size` is a guess (a connection seen mid-way, settings unseen).
    max_size_certain: bool,
    /// Bytes this table keeps at most, whatever the peer allows.
    hard_cap: usize,
    /// Entries older than the known ones may exist in the encoder's table.
    tail_unknown: bool,
}

impl DynamicTable {
    /// A table at the start of a connection: empty, with the protocol's initial maximum size.
    pub fn new(max_size: usize, hard_cap: usize) -> Self {
        DynamicTable {
            entries: VecDeque::new(),
            size: 0,
            max_size,
            max_size_certain: true,
            hard_cap,
            tail_unknown: false,
        }
    }

    /// A table whose past is unknown; `max_size_guess` bounds what it keeps.
    pub fn unknown(max_size_guess: usize, hard_cap: usize) -> Self {
        DynamicTable { max_size_certain: false, tail_unknown: true, ..DynamicTable::new(max_size_guess, hard_cap) }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn max_size(&self) -> usize {
        self.max_size
    }

    pub fn tail_unknown(&self) -> bool {
        self.tail_unknown
    }

    /// Forgets every entry: the encoder's table is unknown from here on. `bound` is the most the
    /// encoder may use (the acknowledged SETTINGS_HEADER_TABLE_SIZE), when known.
    pub fn forget(&mut self, bound: Option<usize>) {
        self.entries.clear();
        self.size = 0;
        self.tail_unknown = true;
        match bound {
            Some(b) => {
                self.max_size = b;
                self.max_size_certain = true;
            }
            None => self.max_size_certain = false,
        }
    }

    /// A dynamic table size update (RFC 7541 §6.3), already checked against the allowed bound.
    pub fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size;
        self.max_size_certain = true;
        if max_size == 0 {
            // Everything is evicted: from here on the whole table is known.
            self.entries.clear();
            self.size = 0;
            self.tail_unknown = false;
        }
        self.evict_to(self.capacity());
    }

    /// The encoder may use at most `bound` bytes from now on (an acknowledged
    /// SETTINGS_HEADER_TABLE_SIZE). Below the current maximum the encoder has to shrink (its size
    /// update must start the next block); shrinking now keeps memory within the new bound.
    pub fn set_bound(&mut self, bound: usize) {
        if !self.max_size_certain || self.max_size > bound {
            self.max_size = bound;
            self.max_size_certain = true;
            self.evict_to(self.capacity());
        }
    }

    fn capacity(&self) -> usize {
        self.max_size.min(self.hard_cap)
    }

    fn evict_to(&mut self, limit: usize) {
        while self.size > limit {
            let Some(old) = self.entries.pop_back() else { break };
            self.size -= old.size();
            if self.capacity() < self.max_size || !self.max_size_certain {
                // The encoder may still have this entry; only we dropped it.
                self.tail_unknown = true;
            }
        }
    }

    /// Entry `index` counted from 0 for the newest.
    pub fn get(&self, index: usize) -> Lookup<'_> {
        if let Some(e) = self.entries.get(index) {
            let (name, value) = e.bytes.split_at(e.name_len.min(e.bytes.len()));
            return Lookup::Found(TableField { name, value, known: e.known });
        }
        if !self.tail_unknown {
            return Lookup::Invalid;
        }
        if !self.max_size_certain {
            return Lookup::Unknown;
        }
        // Each older entry takes at least ENTRY_OVERHEAD of the bytes the known ones leave free.
        let older = index - self.entries.len();
        if older < self.max_size.saturating_sub(self.size) / ENTRY_OVERHEAD {
            Lookup::Unknown
        } else {
            Lookup::Invalid
        }
    }

    /// Adds a field (RFC 7541 §4.4), evicting as needed. An unknown name (`known` is not `All`)
    /// is passed empty, so the size then undercounts the entry.
    pub fn insert(&mut self, name: &[u8], value: &[u8], known: Known) {
        let size = name.len() + value.len() + ENTRY_OVERHEAD;
        let capacity = self.capacity();
        if size > capacity {
            // Larger than the encoder's maximum, it empties the encoder's table and is not added
            // (§4.4): the whole table is known. Otherwise the encoder keeps it, and maybe more.
            self.entries.clear();
            self.size = 0;
            self.tail_unknown = !self.max_size_certain || size <= self.max_size;
            return;
        }
        self.evict_to(capacity - size);
        let mut bytes = Vec::with_capacity(name.len() + value.len());
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(value);
        self.entries.push_front(Entry { bytes: bytes.into_boxed_slice(), name_len: name.len(), known });
        self.size += size;
    }
}

/// Looks an index up in the static table, then the dynamic one (RFC 7541 §2.3.3).
pub(super) fn lookup(dynamic: &DynamicTable, index: usize) -> Lookup<'_> {
    match index {
        0 => Lookup::Invalid,
        1..=61 => match STATIC_TABLE.get(index - 1) {
            Some(&(name, value)) => Lookup::Found(TableField { name, value, known: Known::All }),
            None => Lookup::Invalid,
        },
        _ => dynamic.get(index - 62),
    }
}
