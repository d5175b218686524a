//! The memory budget shared by all connections of one engine.

/// Bytes charged for each held out-of-order piece on top of its payload: the bookkeeping (tree
/// entry, allocation header) that a flood of tiny segments would otherwise make free.
pub const SEGMENT_OVERHEAD: usize = 64;

/// Shared by all connections of one engine: bytes currently held out of order, with a hard cap
/// (default 256 MiB). Each held piece costs its payload plus [`SEGMENT_OVERHEAD`].
///
/// A reassembler must always be given the same budget, and must be flushed or
/// [discarded](super::TcpReassembler::discard) before it is dropped, or its charge stays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryBudget {
    limit: usize,
    used: usize,
}

impl MemoryBudget {
    pub const DEFAULT_LIMIT: usize = 256 << 20;

    pub fn new(limit: usize) -> Self {
        MemoryBudget { limit, used: 0 }
    }

    /// Bytes currently charged.
    pub fn used(&self) -> usize {
        self.used
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Charges `n` bytes if they fit under the limit; false (and nothing charged) otherwise.
    pub(crate) fn try_charge(&mut self, n: usize) -> bool {
        match self.used.checked_add(n) {
            Some(total) if total <= self.limit => {
                self.used = total;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn release(&mut self, n: usize) {
        debug_assert!(n <= self.used, "releasing {n} bytes but only {} charged", self.used);
        self.used = self.used.saturating_sub(n);
    }
}

impl Default for MemoryBudget {
    fn default() -> Self {
        MemoryBudget::new(Self::DEFAULT_LIMIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_up_to_the_limit_only() {
        let mut b = MemoryBudget::new(100);
        assert!(b.try_charge(60));
        assert!(!b.try_charge(41));
        assert_eq!(b.used(), 60);
        assert!(b.try_charge(40));
        assert_eq!(b.used(), 100);
        assert!(!b.try_charge(usize::MAX));
        b.release(30);
        assert_eq!(b.used(), 70);
        assert_eq!(b.limit(), 100);
        assert_eq!(MemoryBudget::default().limit(), 256 << 20);
    }
}
