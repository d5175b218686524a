//! TCP sequence-number arithmetic. Sequence numbers are 32-bit and wrap, so they are only ever
//! compared through their signed wrapping distance; each direction maps them onto 64-bit stream
//! offsets (offset 0 = first payload byte of the direction) that never wrap.

/// The farthest a plausible segment or acknowledgement can be from the next expected byte: the
/// largest window TCP can advertise (65535 << 14, rounded up to 2^30).
pub(crate) const MAX_WINDOW: i64 = 1 << 30;

/// Signed distance from `from` to `to` in sequence space, in -2^31..2^31.
pub(crate) fn distance(from: u32, to: u32) -> i64 {
    i64::from(to.wrapping_sub(from) as i32)
}

/// True when `a` comes after `b` in sequence space.
pub(crate) fn after(a: u32, b: u32) -> bool {
    distance(b, a) > 0
}

/// The sequence space of one direction: which sequence number stream offset 0 has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SeqSpace {
    base: u32,
}

impl SeqSpace {
    /// A space whose offset 0 is sequence number `base`.
    pub(crate) fn starting_at(base: u32) -> Self {
        SeqSpace { base }
    }

    /// The sequence number of stream offset `offset` (offsets wrap onto sequence numbers mod 2^32).
    pub(crate) fn seq_at(self, offset: u64) -> u32 {
        self.base.wrapping_add(offset as u32)
    }

    /// Signed distance from stream offset `anchor` to sequence number `seq`.
    pub(crate) fn distance_from(self, anchor: u64, seq: u32) -> i64 {
        distance(self.seq_at(anchor), seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_is_signed_and_wraps() {
        assert_eq!(distance(10, 15), 5);
        assert_eq!(distance(15, 10), -5);
        assert_eq!(distance(u32::MAX - 2, 3), 6);
        assert_eq!(distance(3, u32::MAX - 2), -6);
        assert!(after(2, u32::MAX));
        assert!(!after(u32::MAX, 2));
        assert!(!after(7, 7));
    }

    #[test]
    fn offsets_map_across_wraparound() {
        let s = SeqSpace::starting_at(u32::MAX - 9);
        assert_eq!(s.seq_at(0), u32::MAX - 9);
        assert_eq!(s.seq_at(10), 0);
        assert_eq!(s.seq_at(15), 5);
        // Offsets beyond 2^32 still map (mod 2^32) and distances stay local.
        let far = (1u64 << 32) + 15;
        assert_eq!(s.seq_at(far), 5);
        assert_eq!(s.distance_from(far, 5), 0);
        assert_eq!(s.distance_from(far, 105), 100);
        assert_eq!(s.distance_from(far, 0), -5);
    }
}
