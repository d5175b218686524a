//! Out-of-order bytes of one direction, held until the bytes before them arrive.
//!
//! Held pieces never overlap: a new segment only adds the parts of its range that no held piece
//! covers yet, so the first copy of every byte wins. An empty buffer owns no heap memory.

use crate::time::Timestamp;
use std::collections::BTreeMap;

use super::budget::SEGMENT_OVERHEAD;

/// One held run of bytes and the capture time of the segment that carried it.
#[derive(Debug)]
pub(crate) struct Piece {
    pub(crate) data: Box<[u8]>,
    pub(crate) ts: Timestamp,
}

/// A range of stream offsets, `start..end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u64,
    pub(crate) end: u64,
}

impl Span {
    pub(crate) fn len(self) -> u64 {
        self.end.saturating_sub(self.start)
    }
}

#[derive(Debug, Default)]
pub(crate) struct SegmentBuffer {
    /// Pieces by start offset; non-overlapping.
    pieces: BTreeMap<u64, Piece>,
    /// Payload bytes held.
    bytes: usize,
}

impl SegmentBuffer {
    pub(crate) fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// Payload bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Pieces held.
    pub(crate) fn pieces(&self) -> usize {
        self.pieces.len()
    }

    /// What holding `bytes` in `pieces` pieces costs against the memory budget.
    pub(crate) fn cost(bytes: usize, pieces: usize) -> usize {
        bytes.saturating_add(pieces.saturating_mul(SEGMENT_OVERHEAD))
    }

    /// What everything held costs against the memory budget.
    pub(crate) fn charged(&self) -> usize {
        Self::cost(self.bytes, self.pieces.len())
    }

    /// Offset of the first held byte.
    pub(crate) fn first_start(&self) -> Option<u64> {
        self.pieces.first_key_value().map(|(&start, _)| start)
    }

    /// Removes and returns the first piece and its start offset.
    pub(crate) fn pop_first(&mut self) -> Option<(u64, Piece)> {
        let (start, piece) = self.pieces.pop_first()?;
        self.bytes = self.bytes.saturating_sub(piece.data.len());
        Some((start, piece))
    }

    /// Appends to `out` the parts of `span` that no held piece covers, in order.
    pub(crate) fn uncovered(&self, span: Span, out: &mut Vec<Span>) {
        let mut cur = span.start;
        // The last piece starting before the span may reach into it.
        if let Some((&start, piece)) = self.pieces.range(..span.start).next_back() {
            cur = cur.max(end_of(start, piece));
        }
        for (&start, piece) in self.pieces.range(span.start..span.end) {
            if start > cur {
                out.push(Span { start: cur, end: start });
            }
            cur = cur.max(end_of(start, piece));
        }
        if cur < span.end {
            out.push(Span { start: cur, end: span.end });
        }
    }

    /// Holds `data` at `start`. The caller guarantees it overlaps no held piece.
    pub(crate) fn insert(&mut self, start: u64, data: &[u8], ts: Timestamp) {
        debug_assert!(self.is_free(Span { start, end: start + data.len() as u64 }));
        self.bytes += data.len();
        self.pieces.insert(start, Piece { data: data.into(), ts });
    }

    /// Drops every byte at or after `offset` (cutting a piece that straddles it); returns the
    /// payload bytes and pieces removed.
    pub(crate) fn truncate_from(&mut self, offset: u64) -> (usize, usize) {
        let mut removed = self.pieces.split_off(&offset);
        let mut bytes: usize = removed.values().map(|p| p.data.len()).sum();
        let mut pieces = removed.len();
        removed.clear();
        if let Some(mut entry) = self.pieces.last_entry() {
            let start = *entry.key();
            let keep = usize::try_from(offset.saturating_sub(start)).unwrap_or(usize::MAX);
            let piece = entry.get_mut();
            if keep < piece.data.len() {
                bytes += piece.data.len() - keep;
                if keep == 0 {
                    entry.remove();
                    pieces += 1;
                } else {
                    piece.data = piece.data.get(..keep).unwrap_or_default().into();
                }
            }
        }
        self.bytes = self.bytes.saturating_sub(bytes);
        (bytes, pieces)
    }

    /// Drops everything; returns the payload bytes and pieces removed. Frees the tree's memory.
    pub(crate) fn clear(&mut self) -> (usize, usize) {
        let removed = (self.bytes, self.pieces.len());
        self.pieces = BTreeMap::new();
        self.bytes = 0;
        removed
    }

    fn is_free(&self, span: Span) -> bool {
        let mut parts = Vec::new();
        self.uncovered(span, &mut parts);
        parts == [span] || span.len() == 0
    }
}

fn end_of(start: u64, piece: &Piece) -> u64 {
    start.saturating_add(piece.data.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer(pieces: &[(u64, &[u8])]) -> SegmentBuffer {
        let mut b = SegmentBuffer::default();
        for &(start, data) in pieces {
            b.insert(start, data, Timestamp(start));
        }
        b
    }

    fn uncovered(b: &SegmentBuffer, start: u64, end: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        b.uncovered(Span { start, end }, &mut out);
        out.into_iter().map(|s| (s.start, s.end)).collect()
    }

    #[test]
    fn uncovered_parts_exclude_held_pieces() {
        let b = buffer(&[(10, b"0123456789"), (30, b"abcde")]);
        assert_eq!(uncovered(&b, 0, 10), [(0, 10)]);
        assert_eq!(uncovered(&b, 0, 12), [(0, 10)]);
        assert_eq!(uncovered(&b, 12, 18), []);
        assert_eq!(uncovered(&b, 15, 40), [(20, 30), (35, 40)]);
        assert_eq!(uncovered(&b, 5, 35), [(5, 10), (20, 30)]);
        assert_eq!(uncovered(&b, 20, 30), [(20, 30)]);
        assert_eq!(uncovered(&b, 35, 36), [(35, 36)]);
        assert_eq!(b.bytes(), 15);
        assert_eq!(b.pieces(), 2);
        assert_eq!(b.charged(), 15 + 2 * SEGMENT_OVERHEAD);
    }

    #[test]
    fn truncate_cuts_a_straddling_piece() {
        let mut b = buffer(&[(10, b"0123456789"), (30, b"abcde"), (40, b"xyz")]);
        assert_eq!(b.truncate_from(32), (3 + 3, 1));
        assert_eq!(b.bytes(), 12);
        let (_, last) = (b.pop_first(), b.pop_first());
        let (start, piece) = last.expect("second piece kept");
        assert_eq!((start, &*piece.data), (30, &b"ab"[..]));
        let mut b = buffer(&[(10, b"0123456789")]);
        assert_eq!(b.truncate_from(10), (10, 1));
        assert!(b.is_empty());
        assert_eq!(b.bytes(), 0);
    }

    #[test]
    fn pop_and_clear_keep_byte_count() {
        let mut b = buffer(&[(10, b"0123"), (20, b"ab")]);
        let (start, piece) = b.pop_first().expect("a piece");
        assert_eq!((start, &*piece.data, piece.ts), (10, &b"0123"[..], Timestamp(10)));
        assert_eq!(b.bytes(), 2);
        assert_eq!(b.first_start(), Some(20));
        assert_eq!(b.clear(), (2, 1));
        assert!(b.is_empty());
        assert_eq!(b.first_start(), None);
    }
}
