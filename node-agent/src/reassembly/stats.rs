//! Per-connection reassembly counters.

use std::ops::AddAssign;

/// Counters of one connection (both directions); the engine totals them with `+=`.
///
/// Every payload byte the reassembler is given ends up in exactly one of `bytes_delivered`,
/// `duplicate_bytes`, `overlap_bytes` or `discarded_bytes`, or is still held
/// ([`buffered_bytes`](super::TcpReassembler::buffered_bytes)). Gap bytes were never seen, so they
/// are counted apart.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ReassemblyStats {
    /// Segments given to the reassembler.
    pub segments: u64,
    /// Bytes handed out in `Data` events.
    pub bytes_delivered: u64,
    /// Bytes of segments that brought nothing new (exact duplicates, retransmissions of data
    /// already delivered, held or skipped as a gap, keep-alive probes).
    pub duplicate_bytes: u64,
    /// Already-known bytes of segments that also brought new bytes (re-sent with different
    /// boundaries, overlapping); the first copy of each byte is the one delivered.
    pub overlap_bytes: u64,
    /// Segments that arrived ahead of the next expected byte and brought new bytes.
    pub out_of_order_segments: u64,
    /// `Gap` events.
    pub gaps: u64,
    /// Bytes skipped by `Gap` events.
    pub gap_bytes: u64,
    /// Bytes of holes given up on because a per-direction or the global limit was reached
    /// (included in `gap_bytes`).
    pub dropped_by_limit_bytes: u64,
    /// Bytes received but thrown away: held when a reset arrived or on discard, sent beyond a
    /// FIN, after a reset, or implausibly far from the stream (outside any TCP window).
    pub discarded_bytes: u64,
}

impl AddAssign for ReassemblyStats {
    fn add_assign(&mut self, o: ReassemblyStats) {
        // Destructured so that a new field cannot be forgotten here.
        let ReassemblyStats {
            segments,
            bytes_delivered,
            duplicate_bytes,
            overlap_bytes,
            out_of_order_segments,
            gaps,
            gap_bytes,
            dropped_by_limit_bytes,
            discarded_bytes,
        } = o;
        self.segments += segments;
        self.bytes_delivered += bytes_delivered;
        self.duplicate_bytes += duplicate_bytes;
        self.overlap_bytes += overlap_bytes;
        self.out_of_order_segments += out_of_order_segments;
        self.gaps += gaps;
        self.gap_bytes += gap_bytes;
        self.dropped_by_limit_bytes += dropped_by_limit_bytes;
        self.discarded_bytes += discarded_bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_assign_sums_every_field() {
        let a = ReassemblyStats {
            segments: 1,
            bytes_delivered: 2,
            duplicate_bytes: 3,
            overlap_bytes: 4,
            out_of_order_segments: 5,
            gaps: 6,
            gap_bytes: 7,
            dropped_by_limit_bytes: 8,
            discarded_bytes: 9,
        };
        let mut t = a;
        t += a;
        let doubled = ReassemblyStats {
            segments: 2,
            bytes_delivered: 4,
            duplicate_bytes: 6,
            overlap_bytes: 8,
            out_of_order_segments: 10,
            gaps: 12,
            gap_bytes: 14,
            dropped_by_limit_bytes: 16,
            discarded_bytes: 18,
        };
        assert_eq!(t, doubled);
    }
}
