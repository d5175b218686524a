//! Capture counters: ours, and the kernel's accumulated across `PACKET_STATISTICS` reads (each
//! read resets the kernel's counters, so they are only correct if every read is added up).

use super::sys::KernelStats;
use crate::source::SourceStats;

/// Everything a live capture counts. `kernel_packets == packets + unsupported_link +
/// loopback_echoes + kernel_drops`, plus frames in blocks not yet read and frames lost to
/// malformed blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Packets handed to the callback.
    pub packets: u64,
    /// Their bytes on the wire (`orig_len`, including a re-inserted VLAN tag).
    pub bytes: u64,
    /// Packets the kernel's filter accepted for our sockets, dropped ones included.
    pub kernel_packets: u64,
    /// Packets the kernel dropped because the ring was full.
    pub kernel_drops: u64,
    /// Times the kernel found the ring full and froze it (`tp_freeze_q_cnt`).
    pub kernel_ring_full: u64,
    /// Frames skipped because their device's link type cannot be decoded.
    pub unsupported_link: u64,
    /// Leaving copies of loopback packets, skipped because the arriving copy is kept.
    pub loopback_echoes: u64,
    /// Ring blocks whose frame headers were inconsistent; the rest of such a block is skipped.
    pub malformed_blocks: u64,
    /// Packets whose VLAN tag the kernel had stripped and we put back.
    pub vlan_tags_restored: u64,
}

impl LiveStats {
    pub(super) fn add_kernel(&mut self, k: KernelStats) {
        self.kernel_packets += u64::from(k.packets);
        self.kernel_drops += u64::from(k.drops);
        self.kernel_ring_full += u64::from(k.freezes);
    }

    pub(super) fn count_packet(&mut self, orig_len: u32) {
        self.packets += 1;
        self.bytes += u64::from(orig_len);
    }
}

impl From<LiveStats> for SourceStats {
    fn from(s: LiveStats) -> Self {
        SourceStats { packets: s.packets, bytes: s.bytes, kernel_drops: s.kernel_drops }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_counters_accumulate_across_reads() {
        let mut s = LiveStats::default();
        s.add_kernel(KernelStats { packets: u32::MAX, drops: 10, freezes: 1 });
        s.add_kernel(KernelStats { packets: 5, drops: 3, freezes: 0 });
        s.count_packet(1500);
        assert_eq!((s.kernel_packets, s.kernel_drops, s.kernel_ring_full), (u64::from(u32::MAX) + 5, 13, 1));
        assert_eq!(SourceStats::from(s), SourceStats { packets: 1, bytes: 1500, kernel_drops: 13 });
    }
}
