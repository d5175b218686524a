//! Live capture with `AF_PACKET` sockets and TPACKET_V3 memory-mapped rings (Linux only).
//!
//! One socket per named interface, or a single socket bound to every interface of the calling
//! thread's network namespace. Each socket has its own ring of `block_count` blocks of
//! `block_size` bytes (so memory is `block_size * block_count` per socket), which the kernel fills
//! with frames and hands over a block at a time: when it is full or `block_timeout_ms` after its
//! first packet. [`LiveCapture::next_batch`] walks every handed-over block, calls back once per
//! frame with a [`RawPacket`] borrowing the ring, and gives the block back.
//!
//! How long the reader may stall before packets are dropped: at high rates, until the ring's
//! bytes are full; at rates too low to fill a block within `block_timeout_ms`, each block is
//! handed over part-empty, so the ring holds only `block_count * block_timeout_ms` of traffic
//! (12.8 s with the defaults). Many small blocks are therefore better than a few big ones.
//!
//! - **Directions**: incoming and outgoing packets are both captured (pod traffic on a veth is
//!   "outgoing" on one end). With several interfaces, or all of them, the same packet can be seen
//!   on each interface it crosses; `capture_point` (the interface index) tells the copies apart,
//!   and removing them is the deduplicator's job.
//! - **Link types**: Ethernet and loopback devices give [`LinkType::Ethernet`]; devices without a
//!   link-layer header (tun, WireGuard, IP-in-IP, ...) give [`LinkType::RawIp`]; frames of other
//!   devices are skipped and counted in [`LiveStats::unsupported_link`].
//! - **Loopback** shows each packet twice (leaving and arriving); the leaving copy is dropped and
//!   counted in [`LiveStats::loopback_echoes`], as libpcap does.
//! - **VLAN**: the kernel strips the 802.1Q tag into the frame header; it is put back, so the
//!   packet (and its `orig_len`) look as they did on the wire.
//! - **Filter**: a classic BPF program built from [`CaptureFilter`] runs in the kernel, before the
//!   ring, and also enforces the snap length. It is attached before the socket is bound, so no
//!   unfiltered packet ever reaches the ring.
//! - **Snap length**: frames are cut to `snaplen`, and also to what fits in one block (about
//!   `block_size - 130` bytes); `orig_len` always says how long the packet was.
//! - **Drops**: when the ring is full the kernel drops packets and counts them. The counters are
//!   read with `PACKET_STATISTICS`, which resets them, so [`LiveCapture::stats`] adds every read
//!   up. Invariant once everything is read: `kernel_packets == packets + unsupported_link +
//!   loopback_echoes + kernel_drops`.
//!
//! All `unsafe` code (system calls, the shared ring memory) is in `sys.rs`.
#![deny(unsafe_code)]

mod block;
mod cbpf;
#[cfg(test)]
mod cbpf_interp;
mod error;
mod filter;
mod frame;
mod interfaces;
mod socket;
mod stats;
mod sys;

pub use error::LiveError;
pub use filter::{CaptureFilter, FilterError, IPV6_MAX_EXTENSION_HEADERS, MAX_EXCLUDED_PORTS};
pub use interfaces::{list as list_interfaces, InterfaceInfo};
pub use stats::LiveStats;

use std::fmt;
use std::time::{Duration, Instant};

use crate::source::{RawPacket, SourceStats};
use frame::Outcome;
use socket::{CaptureSocket, Geometry};
use sys::PollSet;

/// What and how to capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveConfig {
    /// Interface names; empty = every interface of the network namespace, including ones that
    /// appear after the capture started.
    pub interfaces: Vec<String>,
    /// Bytes kept of each packet (default 262144).
    pub snaplen: u32,
    /// Bytes per ring block: a multiple of the page size (default 256 KiB).
    pub block_size: usize,
    /// Blocks per ring (default 256: 64 MiB per socket).
    pub block_count: usize,
    /// A block is handed over at the latest this long after its first packet, which bounds the
    /// delivery latency (default 50 ms; 0 lets the kernel choose).
    pub block_timeout_ms: u32,
    pub filter: CaptureFilter,
    /// Put named interfaces in promiscuous mode while capturing (default true): on a node bridge,
    /// frames between two pods are otherwise not delivered to the capture. Undone by the kernel
    /// when the capture closes. Not applicable to "all interfaces" (each veth sees its pod's frames).
    pub promiscuous: bool,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            interfaces: Vec::new(),
            snaplen: 262_144,
            block_size: 256 << 10,
            block_count: 256,
            block_timeout_ms: 50,
            filter: CaptureFilter::default(),
            promiscuous: true,
        }
    }
}

impl LiveConfig {
    fn geometry(&self) -> Result<Geometry, LiveError> {
        let page = socket::page_size();
        let invalid = |msg: String| Err(LiveError::InvalidConfig(msg));
        if self.block_size == 0 || !self.block_size.is_multiple_of(page) {
            return invalid(format!(
                "block_size {} is not a positive multiple of the page size {page}",
                self.block_size
            ));
        }
        if u32::try_from(self.block_size).is_err() || u32::try_from(self.block_count).is_err() {
            return invalid(format!(
                "block_size {} or block_count {} exceeds 2^32 - 1",
                self.block_size, self.block_count
            ));
        }
        if self.block_count == 0 {
            return invalid("block_count must be at least 1".into());
        }
        if self.block_size.checked_mul(self.block_count).is_none_or(|total| total > isize::MAX as usize) {
            return invalid(format!("ring of {} blocks of {} bytes is too large", self.block_count, self.block_size));
        }
        Ok(Geometry {
            block_size: self.block_size,
            block_count: self.block_count,
            retire_timeout_ms: self.block_timeout_ms,
        })
    }
}

/// A running live capture.
pub struct LiveCapture {
    sockets: Vec<CaptureSocket>,
    interfaces: Vec<InterfaceInfo>,
    poll: PollSet,
    stats: LiveStats,
    /// Where a frame with a re-inserted VLAN tag is assembled (at most one frame plus 4 bytes).
    scratch: Vec<u8>,
}

impl LiveCapture {
    /// Opens the sockets and starts capturing, in the calling thread's network namespace.
    pub fn open(cfg: &LiveConfig) -> Result<LiveCapture, LiveError> {
        let geometry = cfg.geometry()?;
        let program = cfg.filter.compile(cfg.snaplen)?;
        let interfaces = interfaces::resolve(&cfg.interfaces)?;
        let sockets = if cfg.interfaces.is_empty() {
            vec![CaptureSocket::open(0, "all interfaces", geometry, &program, false)?]
        } else {
            interfaces
                .iter()
                .map(|i| CaptureSocket::open(i.index, &i.name, geometry, &program, cfg.promiscuous))
                .collect::<Result<Vec<_>, _>>()?
        };
        let poll = PollSet::new(sockets.iter().map(|s| s.fd()));
        Ok(LiveCapture { sockets, interfaces, poll, stats: LiveStats::default(), scratch: Vec::new() })
    }

    /// Waits up to `timeout` for packets, then hands every packet the kernel has delivered to
    /// `on_packet` and returns how many there were. `Ok(0)` when the timeout passed without any,
    /// or when a signal interrupted the wait (so the caller can check its shutdown flag).
    /// A zero timeout never blocks.
    pub fn next_batch(
        &mut self,
        timeout: Duration,
        on_packet: &mut dyn FnMut(RawPacket<'_>),
    ) -> Result<usize, LiveError> {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            let n = self.drain(on_packet);
            if n > 0 {
                return Ok(n);
            }
            let remaining = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => timeout,
            };
            if remaining.is_zero() {
                return Ok(0);
            }
            match self.poll.wait(remaining) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return Ok(0),
                Err(source) => {
                    let interface = self.sockets.iter().map(|s| s.label()).collect::<Vec<_>>().join(", ");
                    return Err(LiveError::Io { op: "poll", interface, source });
                }
            }
            for (i, socket) in self.sockets.iter().enumerate() {
                if self.poll.has_error(i) {
                    if let Some(err) = socket.take_error()? {
                        return Err(err);
                    }
                }
            }
        }
    }

    /// Walks every block the kernel has handed over, on every socket.
    fn drain(&mut self, on_packet: &mut dyn FnMut(RawPacket<'_>)) -> usize {
        let LiveCapture { sockets, stats, scratch, .. } = self;
        let mut n = 0;
        for socket in sockets.iter_mut() {
            socket.drain(&mut |bytes| {
                for frame in block::frames(bytes) {
                    let Ok(frame) = frame else {
                        stats.malformed_blocks += 1;
                        continue;
                    };
                    match frame::to_packet(&frame, scratch) {
                        Outcome::Packet(packet, vlan_restored) => {
                            stats.count_packet(packet.orig_len);
                            stats.vlan_tags_restored += u64::from(vlan_restored);
                            n += 1;
                            on_packet(packet);
                        }
                        Outcome::Unsupported => stats.unsupported_link += 1,
                        Outcome::LoopbackEcho => stats.loopback_echoes += 1,
                    }
                }
            });
        }
        n
    }

    /// Packets and bytes handed out, and the kernel's drops so far.
    pub fn stats(&mut self) -> SourceStats {
        self.detailed_stats().into()
    }

    /// All counters. Reads (and so resets) the kernel's counters and adds them to ours; a failed
    /// read (which the kernel has no reason to refuse) leaves the previous totals.
    pub fn detailed_stats(&mut self) -> LiveStats {
        for socket in &self.sockets {
            if let Ok(k) = socket.take_kernel_stats() {
                self.stats.add_kernel(k);
            }
        }
        self.stats
    }

    /// The captured interfaces; when capturing all, the interfaces that existed at `open` (packets
    /// from interfaces created later are captured too, with indexes not in this list).
    pub fn interfaces(&self) -> &[InterfaceInfo] {
        &self.interfaces
    }
}

impl fmt::Debug for LiveCapture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveCapture")
            .field("sockets", &self.sockets.iter().map(|s| s.label()).collect::<Vec<_>>())
            .field("stats", &self.stats)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_err(cfg: LiveConfig) -> LiveError {
        LiveCapture::open(&cfg).expect_err("config should be refused before any socket is opened")
    }

    #[test]
    fn bad_geometry_is_refused_with_the_reason() {
        let page = socket::page_size();
        let err = open_err(LiveConfig { block_size: page + 1, ..LiveConfig::default() });
        assert!(matches!(&err, LiveError::InvalidConfig(m) if m.contains("page size")), "{err}");
        let err = open_err(LiveConfig { block_size: 0, ..LiveConfig::default() });
        assert!(matches!(err, LiveError::InvalidConfig(_)), "{err}");
        let err = open_err(LiveConfig { block_count: 0, ..LiveConfig::default() });
        assert!(matches!(&err, LiveError::InvalidConfig(m) if m.contains("block_count")), "{err}");
        let err = open_err(LiveConfig { block_size: page << 20, block_count: usize::MAX / 2, ..LiveConfig::default() });
        assert!(matches!(err, LiveError::InvalidConfig(_)), "{err}");
    }

    #[test]
    fn bad_filter_is_refused() {
        let err = open_err(LiveConfig { snaplen: 0, ..LiveConfig::default() });
        assert!(matches!(err, LiveError::Filter(FilterError::ZeroSnaplen)), "{err}");
        let filter =
            CaptureFilter { exclude_ports: (0..=MAX_EXCLUDED_PORTS as u16).collect(), ..CaptureFilter::default() };
        let err = open_err(LiveConfig { filter, ..LiveConfig::default() });
        assert!(matches!(err, LiveError::Filter(FilterError::TooManyPorts { .. })), "{err}");
    }

    #[test]
    fn default_ring_is_64_mib() {
        let cfg = LiveConfig::default();
        assert_eq!(cfg.block_size * cfg.block_count, 64 << 20);
        assert!(cfg.geometry().is_ok());
    }
}
