//! One capture socket: its setup sequence, its ring cursor, its kernel counters.
//!
//! Setup order matters. The socket is created with protocol 0, so the kernel hands it nothing;
//! the filter and the ring are installed; only then does `bind` (protocol `ETH_P_ALL`) start
//! delivery. No packet can reach the ring before the filter is in place, so there is nothing to
//! drain.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use super::cbpf::Insn;
use super::error::LiveError;
use super::sys::{self, KernelStats, PacketSocket, Ring, RingRequest, SockFilter};

/// Ring geometry, already validated.
#[derive(Clone, Copy, Debug)]
pub(super) struct Geometry {
    pub block_size: usize,
    pub block_count: usize,
    pub retire_timeout_ms: u32,
}

#[derive(Debug)]
pub(super) struct CaptureSocket {
    // Field order: the ring is unmapped before the socket is closed.
    ring: Ring,
    socket: PacketSocket,
    /// Interface name, or "all interfaces", for errors.
    label: String,
    /// The next block the kernel will hand over; blocks are filled and retired in order.
    next_block: usize,
}

impl CaptureSocket {
    /// Opens a socket capturing on `ifindex` (0 = every interface).
    pub(super) fn open(
        ifindex: u32,
        label: &str,
        geometry: Geometry,
        filter: &[Insn],
        promiscuous: bool,
    ) -> Result<Self, LiveError> {
        let io_err = |op: &'static str| {
            let interface = label.to_string();
            move |source: io::Error| LiveError::Io { op, interface, source }
        };
        let socket = PacketSocket::new().map_err(|source| match source.raw_os_error() {
            Some(libc::EPERM | libc::EACCES) => LiveError::PermissionDenied { source },
            _ => io_err("socket(AF_PACKET, SOCK_RAW)")(source),
        })?;
        socket.set_tpacket_v3().map_err(io_err("setsockopt(PACKET_VERSION, TPACKET_V3)"))?;
        let program: Vec<SockFilter> =
            filter.iter().map(|i| SockFilter { code: i.code, jt: i.jt, jf: i.jf, k: i.k }).collect();
        socket.attach_filter(&program).map_err(io_err("setsockopt(SO_ATTACH_FILTER)"))?;
        // u32 fits: validated by LiveConfig.
        let req = RingRequest {
            block_size: geometry.block_size as u32,
            block_count: geometry.block_count as u32,
            // TPACKET_V3 packs frames of any size into blocks; the kernel only checks that frame
            // size divides into blocks, so use one "frame" per block.
            frame_size: geometry.block_size as u32,
            retire_timeout_ms: geometry.retire_timeout_ms,
        };
        socket.set_rx_ring(req).map_err(io_err("setsockopt(PACKET_RX_RING)"))?;
        let ring =
            Ring::map(&socket, geometry.block_size, geometry.block_count).map_err(io_err("mmap(PACKET_RX_RING)"))?;
        socket.bind(ifindex).map_err(io_err("bind(AF_PACKET, ETH_P_ALL)"))?;
        if promiscuous && ifindex != 0 {
            socket
                .add_promiscuous_membership(ifindex)
                .map_err(io_err("setsockopt(PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC)"))?;
        }
        Ok(CaptureSocket { ring, socket, label: label.to_string(), next_block: 0 })
    }

    pub(super) fn label(&self) -> &str {
        &self.label
    }

    pub(super) fn fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }

    /// Calls `on_block` with every block the kernel has handed over, oldest first, at most one lap
    /// of the ring; each block goes back to the kernel right after. Returns the number of blocks.
    pub(super) fn drain(&mut self, on_block: &mut dyn FnMut(&[u8])) -> usize {
        let count = self.ring.block_count();
        let mut done = 0;
        while done < count {
            let Some(block) = self.ring.user_block(self.next_block) else {
                break;
            };
            on_block(block.bytes());
            drop(block);
            self.next_block = (self.next_block + 1) % count;
            done += 1;
        }
        done
    }

    /// The kernel's counters since the previous call.
    pub(super) fn take_kernel_stats(&self) -> Result<KernelStats, LiveError> {
        self.socket.take_stats().map_err(|source| LiveError::Io {
            op: "getsockopt(PACKET_STATISTICS)",
            interface: self.label.clone(),
            source,
        })
    }

    /// The error the kernel flagged on this socket (poll reported `POLLERR`), now cleared.
    pub(super) fn take_error(&self) -> Result<Option<LiveError>, LiveError> {
        let label = || self.label.clone();
        let pending = self.socket.take_error().map_err(|source| LiveError::Io {
            op: "getsockopt(SO_ERROR)",
            interface: label(),
            source,
        })?;
        Ok(pending.map(|source| match source.raw_os_error() {
            Some(libc::ENETDOWN) => LiveError::InterfaceDown { name: label() },
            _ => LiveError::Io { op: "packet socket (SO_ERROR)", interface: label(), source },
        }))
    }
}

/// The page size, which ring blocks must be a multiple of.
pub(super) fn page_size() -> usize {
    sys::page_size()
}
