//! Every system call and every raw pointer of live capture. The rest of `source::live` is safe code
//! built on the small wrappers here: a packet socket, its memory-mapped TPACKET_V3 ring, a poll set
//! and the interface list.
//!
//! The ring is memory shared with the kernel. A block belongs to user space only while its
//! `block_status` has `TP_STATUS_USER`; we read that word with acquire ordering before looking at
//! the block, hand the block out as a byte slice whose lifetime is tied to a guard, and give it
//! back (store `TP_STATUS_KERNEL` with release ordering) when the guard drops. Nothing in the block
//! is trusted: parsing it is `block.rs`'s job and is bounds-checked there.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::io;
use std::marker::PhantomData;
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use libc::{c_int, c_void, socklen_t};

/// `tpacket_versions::TPACKET_V3` from `<linux/if_packet.h>`.
const TPACKET_V3: c_int = 2;
/// Offset of `hdr.bh1.block_status` in `struct tpacket_block_desc`.
const BLOCK_STATUS_OFFSET: usize = 8;

/// The size of a memory page, which ring blocks must be a multiple of.
pub(super) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions; it only reads a property of the running system.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(4096)
}

/// One classic BPF instruction in the kernel's layout.
#[derive(Clone, Copy, Debug)]
pub(super) struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// The geometry handed to `PACKET_RX_RING`.
#[derive(Clone, Copy, Debug)]
pub(super) struct RingRequest {
    pub block_size: u32,
    pub block_count: u32,
    pub frame_size: u32,
    pub retire_timeout_ms: u32,
}

/// What `PACKET_STATISTICS` returned; the kernel resets its counters on every read.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct KernelStats {
    pub packets: u32,
    pub drops: u32,
    pub freezes: u32,
}

/// An `AF_PACKET` / `SOCK_RAW` socket.
#[derive(Debug)]
pub(super) struct PacketSocket {
    fd: OwnedFd,
}

impl PacketSocket {
    /// Opens a packet socket with protocol 0, which receives nothing until [`PacketSocket::bind`].
    pub(super) fn new() -> io::Result<Self> {
        // SAFETY: a plain syscall with constant arguments; the result is checked below.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by socket(2) and is owned by nothing else.
        Ok(Self { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// setsockopt(2) with a plain C value. Private so only the `repr(C)` types below reach it.
    fn set_option<T: Copy>(&self, level: c_int, name: c_int, value: &T) -> io::Result<()> {
        // SAFETY: `value` points to a live, initialised `T` of exactly `size_of::<T>()` bytes for
        // the duration of the call; the kernel only copies from it.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (value as *const T).cast::<c_void>(),
                size_of::<T>() as socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// getsockopt(2) into a plain C value; fails if the kernel wrote fewer bytes than `T` has.
    fn get_option<T: Copy + Default>(&self, level: c_int, name: c_int) -> io::Result<T> {
        let mut value = T::default();
        let mut len = size_of::<T>() as socklen_t;
        // SAFETY: `value` is a live `T` of `len` bytes; the kernel writes at most `len` bytes to it
        // and reports how many in `len`.
        let rc = unsafe {
            libc::getsockopt(self.fd.as_raw_fd(), level, name, (&mut value as *mut T).cast::<c_void>(), &mut len)
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        if len as usize != size_of::<T>() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("kernel returned {len} bytes, expected {}", size_of::<T>()),
            ));
        }
        Ok(value)
    }

    pub(super) fn set_tpacket_v3(&self) -> io::Result<()> {
        self.set_option(libc::SOL_PACKET, libc::PACKET_VERSION, &TPACKET_V3)
    }

    pub(super) fn attach_filter(&self, program: &[SockFilter]) -> io::Result<()> {
        let mut insns: Vec<libc::sock_filter> =
            program.iter().map(|i| libc::sock_filter { code: i.code, jt: i.jt, jf: i.jf, k: i.k }).collect();
        let len = u16::try_from(insns.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "BPF program longer than 65535 instructions"))?;
        let prog = libc::sock_fprog { len, filter: insns.as_mut_ptr() };
        // The kernel copies the instructions during the call; `insns` outlives it.
        self.set_option(libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &prog)
    }

    pub(super) fn set_rx_ring(&self, req: RingRequest) -> io::Result<()> {
        let frames_per_block = req.block_size / req.frame_size.max(1);
        let req3 = libc::tpacket_req3 {
            tp_block_size: req.block_size,
            tp_block_nr: req.block_count,
            tp_frame_size: req.frame_size,
            tp_frame_nr: frames_per_block.saturating_mul(req.block_count),
            tp_retire_blk_tov: req.retire_timeout_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        self.set_option(libc::SOL_PACKET, libc::PACKET_RX_RING, &req3)
    }

    /// Puts `ifindex` in promiscuous mode for as long as this socket lives (the kernel counts
    /// memberships and undoes it when the socket closes, even if the process dies). Needed on a
    /// bridge: frames between two ports of the bridge are not for the bridge device itself.
    pub(super) fn add_promiscuous_membership(&self, ifindex: u32) -> io::Result<()> {
        let ifindex = i32::try_from(ifindex)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index out of range"))?;
        let mreq = libc::packet_mreq {
            mr_ifindex: ifindex,
            mr_type: libc::PACKET_MR_PROMISC as u16,
            mr_alen: 0,
            mr_address: [0; 8],
        };
        self.set_option(libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mreq)
    }

    /// Binds to every protocol (`ETH_P_ALL`) on `ifindex` (0 = every interface). Capture starts here.
    pub(super) fn bind(&self, ifindex: u32) -> io::Result<()> {
        let ifindex = i32::try_from(ifindex)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index out of range"))?;
        let addr = libc::sockaddr_ll {
            sll_family: libc::AF_PACKET as u16,
            sll_protocol: (libc::ETH_P_ALL as u16).to_be(),
            sll_ifindex: ifindex,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 0,
            sll_addr: [0; 8],
        };
        // SAFETY: `addr` is a valid sockaddr_ll and the length passed is its exact size.
        let rc = unsafe {
            libc::bind(
                self.fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast::<libc::sockaddr>(),
                size_of::<libc::sockaddr_ll>() as socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Reads and resets the kernel's counters for this socket.
    pub(super) fn take_stats(&self) -> io::Result<KernelStats> {
        let s: TpacketStatsV3 = self.get_option(libc::SOL_PACKET, libc::PACKET_STATISTICS)?;
        Ok(KernelStats { packets: s.tp_packets, drops: s.tp_drops, freezes: s.tp_freeze_q_cnt })
    }

    /// Reads and clears the socket's pending error (`SO_ERROR`), e.g. `ENETDOWN`.
    pub(super) fn take_error(&self) -> io::Result<Option<io::Error>> {
        let err: c_int = self.get_option(libc::SOL_SOCKET, libc::SO_ERROR)?;
        Ok((err != 0).then(|| io::Error::from_raw_os_error(err)))
    }
}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// `struct tpacket_stats_v3`, with `Default` so `get_option` can fill it.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct TpacketStatsV3 {
    tp_packets: u32,
    tp_drops: u32,
    tp_freeze_q_cnt: u32,
}

/// A TPACKET_V3 receive ring mapped into our address space.
#[derive(Debug)]
pub(super) struct Ring {
    base: NonNull<u8>,
    block_size: usize,
    block_count: usize,
}

// SAFETY: the mapping is owned by this value alone (nothing else holds `base`), and every access
// to it goes through `&mut self`, so moving the ring to another thread is no different from
// moving a `Vec<u8>`.
unsafe impl Send for Ring {}

impl Ring {
    /// Maps the ring set up by `PACKET_RX_RING` on `socket`.
    pub(super) fn map(socket: &PacketSocket, block_size: usize, block_count: usize) -> io::Result<Ring> {
        // Page-multiple blocks keep every block (and its status word) aligned; `status` relies on it.
        if block_size == 0 || !block_size.is_multiple_of(page_size()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "ring block size is not a multiple of the page size",
            ));
        }
        let len = block_size
            .checked_mul(block_count)
            .filter(|&l| l > 0)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "ring size overflows or is zero"))?;
        // SAFETY: a fresh shared mapping chosen by the kernel (addr = NULL) of the socket's ring;
        // no existing memory is affected. The result is checked against MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                socket.as_fd().as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned a null mapping"))?;
        Ok(Ring { base, block_size, block_count })
    }

    pub(super) fn block_count(&self) -> usize {
        self.block_count
    }

    /// The status word of block `index`, which must be `< block_count`.
    fn status(&self, index: usize) -> &AtomicU32 {
        debug_assert!(index < self.block_count);
        // SAFETY: `index < block_count`, so the word lies inside the mapping, which lives as long as
        // `self`. Blocks start on page boundaries, so `base + index * block_size + 8` is 4-byte
        // aligned as AtomicU32 requires. The kernel updates this word with its own barriers
        // (smp_wmb before setting TP_STATUS_USER, smp_rmb after reading TP_STATUS_KERNEL), which
        // pair with our acquire load and release store.
        unsafe { AtomicU32::from_ptr(self.base.as_ptr().add(index * self.block_size + BLOCK_STATUS_OFFSET).cast()) }
    }

    /// Block `index` if the kernel has handed it to user space, else `None`. The block goes back to
    /// the kernel when the returned guard drops; `&mut self` ensures one guard at a time.
    pub(super) fn user_block(&mut self, index: usize) -> Option<UserBlock<'_>> {
        if index >= self.block_count {
            return None;
        }
        if self.status(index).load(Ordering::Acquire) & libc::TP_STATUS_USER == 0 {
            return None;
        }
        Some(UserBlock { ring: self, index, _exclusive: PhantomData })
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: `base`/len describe exactly the mapping made in `map`, and no `UserBlock` can be
        // alive here because they borrow the ring. A failure would only leak address space.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.block_size * self.block_count);
        }
    }
}

/// A block user space owns until this guard drops.
pub(super) struct UserBlock<'a> {
    ring: &'a Ring,
    index: usize,
    _exclusive: PhantomData<&'a mut Ring>,
}

impl UserBlock<'_> {
    /// The whole block, untrusted bytes as the kernel wrote them.
    pub(super) fn bytes(&self) -> &[u8] {
        // SAFETY: the range lies inside the mapping (index < block_count), which outlives `self`.
        // The block's status had TP_STATUS_USER (acquire-loaded), so the kernel does not write to
        // it until `drop` below hands it back, and slices from `bytes` cannot outlive `self`.
        unsafe {
            std::slice::from_raw_parts(
                self.ring.base.as_ptr().add(self.index * self.ring.block_size),
                self.ring.block_size,
            )
        }
    }
}

impl Drop for UserBlock<'_> {
    fn drop(&mut self) {
        self.ring.status(self.index).store(libc::TP_STATUS_KERNEL, Ordering::Release);
    }
}

/// A reusable poll(2) set.
pub(super) struct PollSet {
    fds: Vec<libc::pollfd>,
}

impl PollSet {
    /// The descriptors must stay open while the set is used; a closed one reports only `POLLNVAL`.
    pub(super) fn new<'a>(fds: impl IntoIterator<Item = BorrowedFd<'a>>) -> Self {
        let fds =
            fds.into_iter().map(|fd| libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 }).collect();
        PollSet { fds }
    }

    /// Waits up to `timeout` (rounded up to whole milliseconds). `Ok(false)` on timeout;
    /// `ErrorKind::Interrupted` when a signal arrived.
    pub(super) fn wait(&mut self, timeout: Duration) -> io::Result<bool> {
        let ms = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as c_int;
        for p in &mut self.fds {
            p.revents = 0;
        }
        // SAFETY: `fds` is a live, exclusively borrowed array of `len` pollfd structs.
        let n = unsafe { libc::poll(self.fds.as_mut_ptr(), self.fds.len() as libc::nfds_t, ms) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n > 0)
    }

    /// Whether descriptor `i` reported an error (`POLLERR`, `POLLHUP`, `POLLNVAL`) in the last wait.
    pub(super) fn has_error(&self, i: usize) -> bool {
        self.fds.get(i).is_some_and(|p| p.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0)
    }
}

/// The interfaces of the calling thread's network namespace, as (index, name).
pub(super) fn interface_list() -> io::Result<Vec<(u32, String)>> {
    // SAFETY: if_nameindex has no preconditions; it returns NULL or an array terminated by an
    // entry with index 0 and a NULL name, which we free exactly once below.
    let head = unsafe { libc::if_nameindex() };
    if head.is_null() {
        return Err(io::Error::last_os_error());
    }
    let mut out = Vec::new();
    let mut entry = head;
    loop {
        // SAFETY: `entry` is within the array: we stop at the terminator before advancing past it.
        let e = unsafe { &*entry };
        if e.if_index == 0 && e.if_name.is_null() {
            break;
        }
        if !e.if_name.is_null() {
            // SAFETY: a non-NULL name is a NUL-terminated string owned by the array.
            let name = unsafe { CStr::from_ptr(e.if_name) };
            out.push((e.if_index, name.to_string_lossy().into_owned()));
        }
        // SAFETY: this entry was not the terminator, so the next one exists.
        entry = unsafe { entry.add(1) };
    }
    // SAFETY: `head` came from if_nameindex and is freed once; nothing borrowed from it survives.
    unsafe { libc::if_freenameindex(head) };
    Ok(out)
}
