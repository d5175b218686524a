//! Walking the frames of one TPACKET_V3 block. The block is kernel-written memory, so every
//! offset and length in it is checked against the block before anything is sliced; a bad one ends
//! the walk with an error instead of a panic.
//!
//! Layout (`<linux/if_packet.h>`, native endianness):
//! - block header `tpacket_block_desc`: `block_status` @8, `num_pkts` @12, `offset_to_first_pkt` @16,
//!   `blk_len` @20 (bytes used, counted from the block start);
//! - per frame `tpacket3_hdr` (48 bytes): `tp_next_offset` @0, `tp_sec` @4, `tp_nsec` @8,
//!   `tp_snaplen` @12, `tp_len` @16, `tp_status` @20, `tp_mac` @24 (u16), `tp_net` @26 (u16),
//!   `hv1.tp_vlan_tci` @32, `hv1.tp_vlan_tpid` @36 (u16); then `sockaddr_ll` @48 (20 bytes):
//!   `sll_ifindex` @52 (i32), `sll_hatype` @56 (u16), `sll_pkttype` @58 (u8).

/// Size of the block descriptor we read.
const BLOCK_HEADER_LEN: usize = 48;
/// `tpacket3_hdr` plus the `sockaddr_ll` after it (TPACKET3_HDRLEN).
const FRAME_HEADER_LEN: usize = 48 + 20;
const SLL_OFFSET: usize = 48;

/// One frame as the kernel described it. `data` borrows the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Frame<'a> {
    pub sec: u32,
    pub nsec: u32,
    /// Bytes on the wire (`tp_len`).
    pub len: u32,
    pub status: u32,
    pub vlan_tci: u16,
    pub vlan_tpid: u16,
    pub ifindex: i32,
    pub hatype: u16,
    pub pkttype: u8,
    /// `tp_net - tp_mac`: the link-layer header length the kernel saw (0 = no link header).
    pub link_header_len: u16,
    /// The captured bytes from the link-layer header on (`tp_snaplen` bytes at `tp_mac`).
    pub data: &'a [u8],
}

/// Why a block could not be walked to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BlockError {
    /// Fewer bytes than the block header.
    ShortBlock,
    /// `blk_len` or `offset_to_first_pkt` outside the block.
    BadHeader,
    /// Frame number `index` has a header or data outside the used part of the block, or a
    /// `tp_next_offset` that does not move forward.
    BadFrame { index: u32 },
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

/// The frames of a block, in order. Yields at most `num_pkts` frames, then stops; after an `Err`
/// it yields nothing more.
pub(super) fn frames(block: &[u8]) -> Frames<'_> {
    match header(block) {
        Ok((used, first, count)) => Frames { used, next: first, index: 0, count, failed: None },
        Err(e) => Frames { used: &[], next: 0, index: 0, count: 0, failed: Some(e) },
    }
}

/// (the used part of the block, offset of the first frame, number of frames)
fn header(block: &[u8]) -> Result<(&[u8], usize, u32), BlockError> {
    if block.len() < BLOCK_HEADER_LEN {
        return Err(BlockError::ShortBlock);
    }
    let count = u32_at(block, 12).ok_or(BlockError::ShortBlock)?;
    let first = u32_at(block, 16).ok_or(BlockError::ShortBlock)? as usize;
    let blk_len = u32_at(block, 20).ok_or(BlockError::ShortBlock)? as usize;
    let used = block.get(..blk_len).ok_or(BlockError::BadHeader)?;
    if count > 0 && (first < BLOCK_HEADER_LEN || first >= used.len()) {
        return Err(BlockError::BadHeader);
    }
    Ok((used, first, count))
}

pub(super) struct Frames<'a> {
    used: &'a [u8],
    next: usize,
    index: u32,
    count: u32,
    /// A header error to report once before ending.
    failed: Option<BlockError>,
}

impl<'a> Frames<'a> {
    fn parse(&self, at: usize) -> Option<(Frame<'a>, u32)> {
        let b = self.used;
        let hdr = b.get(at..at.checked_add(FRAME_HEADER_LEN)?)?;
        let next_offset = u32_at(hdr, 0)?;
        let snaplen = u32_at(hdr, 12)? as usize;
        let mac = u16_at(hdr, 24)? as usize;
        let net = u16_at(hdr, 26)?;
        if mac < FRAME_HEADER_LEN {
            return None;
        }
        let start = at.checked_add(mac)?;
        let data = b.get(start..start.checked_add(snaplen)?)?;
        let frame = Frame {
            sec: u32_at(hdr, 4)?,
            nsec: u32_at(hdr, 8)?,
            len: u32_at(hdr, 16)?,
            status: u32_at(hdr, 20)?,
            vlan_tci: u32_at(hdr, 32)? as u16,
            vlan_tpid: u16_at(hdr, 36)?,
            ifindex: u32_at(hdr, SLL_OFFSET + 4)? as i32,
            hatype: u16_at(hdr, SLL_OFFSET + 8)?,
            pkttype: *hdr.get(SLL_OFFSET + 10)?,
            link_header_len: net.checked_sub(mac as u16)?,
            data,
        };
        Some((frame, next_offset))
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, BlockError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.failed.take() {
            self.count = 0;
            return Some(Err(e));
        }
        if self.index >= self.count {
            return None;
        }
        let index = self.index;
        self.index += 1;
        let bad = BlockError::BadFrame { index };
        let Some((frame, next_offset)) = self.parse(self.next) else {
            self.count = 0;
            return Some(Err(bad));
        };
        if self.index < self.count {
            // Another frame follows: it must start after this header, inside the used part.
            match self.next.checked_add(next_offset as usize) {
                Some(n) if next_offset as usize >= FRAME_HEADER_LEN && n < self.used.len() => self.next = n,
                _ => {
                    self.count = 0;
                    return Some(Err(bad));
                }
            }
        }
        Some(Ok(frame))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A frame to lay out in a hand-built block.
    #[derive(Clone, Debug)]
    pub(crate) struct TestFrame {
        pub data: Vec<u8>,
        pub len: u32,
        pub status: u32,
        pub ifindex: i32,
        pub hatype: u16,
        pub link_header_len: u16,
        pub vlan_tci: u16,
        pub vlan_tpid: u16,
    }

    impl TestFrame {
        pub(crate) fn ethernet(data: &[u8]) -> Self {
            TestFrame {
                data: data.to_vec(),
                len: data.len() as u32,
                status: 1,
                ifindex: 7,
                hatype: 1,
                link_header_len: 14,
                vlan_tci: 0,
                vlan_tpid: 0,
            }
        }
    }

    /// Lays frames out the way the kernel does: 16-byte aligned, data at offset 96 in each frame.
    pub(crate) fn build_block(frames: &[TestFrame], block_size: usize) -> Vec<u8> {
        let mut b = vec![0u8; block_size];
        let put32 = |b: &mut Vec<u8>, at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        let put16 = |b: &mut Vec<u8>, at: usize, v: u16| b[at..at + 2].copy_from_slice(&v.to_ne_bytes());
        put32(&mut b, 8, 1);
        put32(&mut b, 12, frames.len() as u32);
        put32(&mut b, 16, 48);
        let mut at = 48;
        for (i, f) in frames.iter().enumerate() {
            let mac = 96usize;
            let size = (mac + f.data.len()).next_multiple_of(16);
            let next = if i + 1 == frames.len() { 0 } else { size as u32 };
            put32(&mut b, at, next);
            put32(&mut b, at + 4, 1_700_000_000 + i as u32);
            put32(&mut b, at + 8, 123_456_789);
            put32(&mut b, at + 12, f.data.len() as u32);
            put32(&mut b, at + 16, f.len);
            put32(&mut b, at + 20, f.status);
            put16(&mut b, at + 24, mac as u16);
            put16(&mut b, at + 26, mac as u16 + f.link_header_len);
            put32(&mut b, at + 32, f.vlan_tci as u32);
            put16(&mut b, at + 36, f.vlan_tpid);
            put16(&mut b, at + 48, libc::AF_PACKET as u16);
            put32(&mut b, at + 52, f.ifindex as u32);
            put16(&mut b, at + 56, f.hatype);
            b[at + mac..at + mac + f.data.len()].copy_from_slice(&f.data);
            at += size;
        }
        put32(&mut b, 20, at as u32);
        b
    }

    fn collect(block: &[u8]) -> Vec<Result<Frame<'_>, BlockError>> {
        frames(block).collect()
    }

    #[test]
    fn walks_every_frame_with_its_fields() {
        let fs = [TestFrame::ethernet(&[1; 60]), TestFrame { ifindex: 9, ..TestFrame::ethernet(&[2; 1514]) }];
        let block = build_block(&fs, 4096);
        let got = collect(&block);
        assert_eq!(got.len(), 2);
        let a = got[0].unwrap();
        assert_eq!(
            (a.sec, a.nsec, a.len, a.ifindex, a.hatype, a.link_header_len),
            (1_700_000_000, 123_456_789, 60, 7, 1, 14)
        );
        assert_eq!(a.data, &[1; 60][..]);
        let b = got[1].unwrap();
        assert_eq!((b.sec, b.ifindex, b.data.len()), (1_700_000_001, 9, 1514));
        assert!(b.data.iter().all(|&x| x == 2));
    }

    #[test]
    fn empty_block_has_no_frames() {
        let block = build_block(&[], 4096);
        assert!(collect(&block).is_empty());
    }

    #[test]
    fn rejects_short_block_and_bad_header() {
        assert_eq!(collect(&[0u8; 20]), vec![Err(BlockError::ShortBlock)]);
        let mut block = build_block(&[TestFrame::ethernet(&[0; 60])], 4096);
        block[20..24].copy_from_slice(&5000u32.to_ne_bytes()); // blk_len past the block
        assert_eq!(collect(&block), vec![Err(BlockError::BadHeader)]);
        let mut block = build_block(&[TestFrame::ethernet(&[0; 60])], 4096);
        block[16..20].copy_from_slice(&4000u32.to_ne_bytes()); // first frame past blk_len
        assert_eq!(collect(&block), vec![Err(BlockError::BadHeader)]);
    }

    #[test]
    fn rejects_frames_reaching_outside_the_block() {
        let base = build_block(&[TestFrame::ethernet(&[0; 60]), TestFrame::ethernet(&[0; 60])], 4096);
        let first = 48;
        let bad0 = Err(BlockError::BadFrame { index: 0 });
        // snaplen huge
        let mut b = base.clone();
        b[first + 12..first + 16].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(collect(&b), vec![bad0]);
        // tp_mac inside the frame header
        let mut b = base.clone();
        b[first + 24..first + 26].copy_from_slice(&10u16.to_ne_bytes());
        assert_eq!(collect(&b), vec![bad0]);
        // tp_net before tp_mac
        let mut b = base.clone();
        b[first + 26..first + 28].copy_from_slice(&0u16.to_ne_bytes());
        assert_eq!(collect(&b), vec![bad0]);
        // next offset 0 although another frame is announced
        let mut b = base.clone();
        b[first..first + 4].copy_from_slice(&0u32.to_ne_bytes());
        assert_eq!(collect(&b), vec![bad0]);
        // next offset past the used part
        let mut b = base.clone();
        b[first..first + 4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(collect(&b), vec![bad0]);
        // more frames announced than present: the third one is garbage
        let mut b = base.clone();
        b[12..16].copy_from_slice(&3u32.to_ne_bytes());
        let got = collect(&b);
        assert_eq!(got.len(), 2);
        assert!(got[0].is_ok());
        assert_eq!(got[1], Err(BlockError::BadFrame { index: 1 }));
    }

    /// Random corruption of a valid block: the walk must never panic, never loop beyond
    /// `num_pkts`, and every yielded slice must lie inside the block.
    #[test]
    fn corrupted_blocks_never_panic() {
        let fs: Vec<TestFrame> = (0..5).map(|i| TestFrame::ethernet(&vec![i as u8; 40 + i * 100])).collect();
        let base = build_block(&fs, 4096);
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let mut b = base.clone();
            for _ in 0..(rnd() % 6 + 1) {
                let at = (rnd() % 1200) as usize;
                b[at] = rnd() as u8;
            }
            let range = b.as_ptr_range();
            let mut n = 0;
            for f in frames(&b) {
                n += 1;
                if let Ok(f) = f {
                    let r = f.data.as_ptr_range();
                    assert!(range.start <= r.start && r.end <= range.end);
                }
            }
            assert!(n <= 4096 / FRAME_HEADER_LEN + 1);
        }
    }
}
