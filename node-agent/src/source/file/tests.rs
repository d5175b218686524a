//! Files are written here byte by byte from the format specifications, independently of the
//! reader; real captures compared against tshark are in tests/capture_files.rs.

use super::*;
use std::io::Cursor;

#[derive(Clone, Copy)]
enum Order {
    Le,
    Be,
}

fn u16b(o: Order, v: u16) -> [u8; 2] {
    match o {
        Order::Le => v.to_le_bytes(),
        Order::Be => v.to_be_bytes(),
    }
}
fn u32b(o: Order, v: u32) -> [u8; 4] {
    match o {
        Order::Le => v.to_le_bytes(),
        Order::Be => v.to_be_bytes(),
    }
}

/// What a test expects of one packet.
#[derive(Clone, Debug, PartialEq)]
struct Pkt {
    ts: u64,
    link: LinkType,
    point: u32,
    data: Vec<u8>,
    orig_len: u32,
}

fn payload(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i * 31 + j) as u8).collect()
}

// ---- pcap ----

fn pcap_header(o: Order, nanos: bool, link: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend(u32b(o, if nanos { 0xA1B2_3C4D } else { 0xA1B2_C3D4 }));
    v.extend(u16b(o, 2));
    v.extend(u16b(o, 4));
    v.extend([0; 8]);
    v.extend(u32b(o, 65535));
    v.extend(u32b(o, link));
    v
}

fn pcap_record(o: Order, secs: u32, frac: u32, data: &[u8], orig: u32) -> Vec<u8> {
    let mut v = Vec::new();
    for x in [secs, frac, data.len() as u32, orig] {
        v.extend(u32b(o, x));
    }
    v.extend_from_slice(data);
    v
}

/// A pcap file of `n` packets and the packets it holds; also the record start offsets.
fn pcap_file(o: Order, nanos: bool, n: usize) -> (Vec<u8>, Vec<Pkt>, Vec<usize>) {
    let mut file = pcap_header(o, nanos, 1);
    let mut pkts = Vec::new();
    let mut starts = Vec::new();
    for i in 0..n {
        let data = payload(i, 20 + i * 7);
        let (secs, frac) = (1_700_000_000 + i as u32, 999_999 - i as u32);
        starts.push(file.len());
        file.extend(pcap_record(o, secs, frac, &data, data.len() as u32 + 3));
        let frac_ns = if nanos { frac as u64 } else { frac as u64 * 1000 };
        pkts.push(Pkt {
            ts: secs as u64 * 1_000_000_000 + frac_ns,
            link: LinkType::Ethernet,
            point: 0,
            orig_len: data.len() as u32 + 3,
            data,
        });
    }
    (file, pkts, starts)
}

// ---- pcapng ----

fn block(o: Order, block_type: u32, body: &[u8]) -> Vec<u8> {
    let mut body = body.to_vec();
    body.resize(body.len().next_multiple_of(4), 0);
    let len = (body.len() + 12) as u32;
    let mut v = Vec::new();
    v.extend(u32b(o, block_type));
    v.extend(u32b(o, len));
    v.extend(body);
    v.extend(u32b(o, len));
    v
}

fn shb(o: Order) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(u32b(o, 0x1A2B_3C4D));
    body.extend(u16b(o, 1));
    body.extend(u16b(o, 0));
    body.extend([0xFF; 8]); // section length: unknown
    block(o, 0x0A0D_0D0A, &body)
}

fn option(o: Order, code: u16, value: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend(u16b(o, code));
    v.extend(u16b(o, value.len() as u16));
    v.extend_from_slice(value);
    v.resize(v.len().next_multiple_of(4), 0);
    v
}

fn idb(o: Order, link: u16, snaplen: u32, options: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(u16b(o, link));
    body.extend([0, 0]);
    body.extend(u32b(o, snaplen));
    for opt in options {
        body.extend(opt);
    }
    if !options.is_empty() {
        body.extend([0; 4]); // opt_endofopt
    }
    block(o, 1, &body)
}

fn epb(o: Order, interface: u32, units: u64, data: &[u8], orig: u32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(u32b(o, interface));
    body.extend(u32b(o, (units >> 32) as u32));
    body.extend(u32b(o, units as u32));
    body.extend(u32b(o, data.len() as u32));
    body.extend(u32b(o, orig));
    body.extend_from_slice(data);
    body.resize(body.len().next_multiple_of(4), 0);
    body.extend(option(o, 1, b"a comment")); // opt_comment, to be ignored
    body.extend([0; 4]);
    block(o, 6, &body)
}

fn obsolete_pb(o: Order, interface: u16, units: u64, data: &[u8], orig: u32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(u16b(o, interface));
    body.extend(u16b(o, 0)); // drops
    body.extend(u32b(o, (units >> 32) as u32));
    body.extend(u32b(o, units as u32));
    body.extend(u32b(o, data.len() as u32));
    body.extend(u32b(o, orig));
    body.extend_from_slice(data);
    block(o, 2, &body)
}

fn spb(o: Order, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(u32b(o, data.len() as u32));
    body.extend_from_slice(data);
    block(o, 3, &body)
}

/// Two sections (little- then big-endian). Section 1: Ethernet with default microseconds and
/// Linux SLL2 with nanoseconds + offset; section 2: raw IP with 2^-20 s units, and BSD null.
/// Between them: blocks to skip (name resolution, interface statistics, a custom block).
fn pcapng_file() -> (Vec<u8>, Vec<Pkt>, Vec<usize>) {
    let (f, pkts, starts, _) = pcapng_file_with_blocks();
    (f, pkts, starts)
}

/// [`pcapng_file`] and the start offsets of all its blocks.
fn pcapng_file_with_blocks() -> (Vec<u8>, Vec<Pkt>, Vec<usize>, Vec<usize>) {
    let (le, be) = (Order::Le, Order::Be);
    let mut f = Vec::new();
    let mut pkts = Vec::new();
    let mut starts = Vec::new();
    let mut blocks = Vec::new();
    let mut push = |f: &mut Vec<u8>, blockbytes: Vec<u8>, pkt: Option<Pkt>| {
        blocks.push(f.len());
        if let Some(p) = pkt {
            starts.push(f.len());
            pkts.push(p);
        }
        f.extend(blockbytes);
    };
    let sec = 1_700_000_000u64;
    push(&mut f, shb(le), None);
    push(&mut f, idb(le, 1, 0, &[]), None);
    push(
        &mut f,
        idb(le, 276, 96, &[option(le, 2, b"any"), option(le, 9, &[9]), option(le, 14, &(-3600i64).to_le_bytes())]),
        None,
    );
    let d = payload(1, 60);
    push(
        &mut f,
        epb(le, 0, sec * 1_000_000 + 250_000, &d, 60),
        Some(Pkt { ts: sec * 1_000_000_000 + 250_000_000, link: LinkType::Ethernet, point: 0, data: d, orig_len: 60 }),
    );
    push(&mut f, block(le, 4, &[0, 0, 0, 0]), None); // name resolution (empty)
    let d = payload(2, 37);
    push(
        &mut f,
        epb(le, 1, sec * 1_000_000_000 + 123_456_789, &d, 1500),
        Some(Pkt {
            ts: (sec - 3600) * 1_000_000_000 + 123_456_789,
            link: LinkType::LinuxSll2,
            point: 1,
            data: d,
            orig_len: 1500,
        }),
    );
    let d = payload(3, 41);
    push(
        &mut f,
        obsolete_pb(le, 0, sec * 1_000_000 + 7, &d, 41),
        Some(Pkt { ts: sec * 1_000_000_000 + 7_000, link: LinkType::Ethernet, point: 0, data: d, orig_len: 41 }),
    );
    let d = payload(4, 15);
    push(
        &mut f,
        spb(le, &d),
        Some(Pkt { ts: sec * 1_000_000_000 + 7_000, link: LinkType::Ethernet, point: 0, data: d, orig_len: 15 }),
    );
    push(&mut f, block(le, 0x4000_0BAD, &[1, 2, 3, 4, 5]), None); // custom block
    push(&mut f, shb(be), None);
    push(&mut f, idb(be, 101, 0, &[option(be, 9, &[0x80 | 20])]), None);
    push(&mut f, idb(be, 0, 0, &[]), None);
    push(&mut f, block(be, 5, &[0; 12]), None); // interface statistics
    let d = payload(5, 28);
    push(
        &mut f,
        epb(be, 0, (sec << 20) + (1 << 19), &d, 28),
        Some(Pkt { ts: sec * 1_000_000_000 + 500_000_000, link: LinkType::RawIp, point: 2, data: d, orig_len: 28 }),
    );
    let d = payload(6, 33);
    push(
        &mut f,
        epb(be, 1, sec * 1_000_000 + 1, &d, 33),
        Some(Pkt { ts: sec * 1_000_000_000 + 1_000, link: LinkType::Null, point: 3, data: d, orig_len: 33 }),
    );
    (f, pkts, starts, blocks)
}

// ---- reading ----

/// Hands out at most `step` bytes per read, to exercise refills at every boundary.
struct Dribble {
    data: Cursor<Vec<u8>>,
    step: usize,
}

impl Read for Dribble {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.step);
        self.data.read(&mut buf[..n])
    }
}

/// Reads everything: the packets, then the error that ended the file (if any).
fn read_all(r: impl Read + Send + 'static) -> (Vec<Pkt>, Option<CaptureError>) {
    let mut file = match CaptureFile::from_reader(r, "test.pcap".to_string()) {
        Ok(f) => f,
        Err(e) => return (Vec::new(), Some(e)),
    };
    let mut pkts = Vec::new();
    let mut error = None;
    while let Some(p) = file.next_packet() {
        match p {
            Ok(p) => pkts.push(Pkt {
                ts: p.ts.as_nanos(),
                link: p.link_type,
                point: p.capture_point,
                data: p.data.to_vec(),
                orig_len: p.orig_len,
            }),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    assert!(file.next_packet().is_none(), "nothing after the end or an error");
    if error.is_none() {
        assert_eq!(file.stats().packets, pkts.len() as u64);
        assert_eq!(file.stats().bytes, pkts.iter().map(|p| p.data.len() as u64).sum::<u64>());
    }
    (pkts, error)
}

fn read_bytes(bytes: &[u8]) -> (Vec<Pkt>, Option<CaptureError>) {
    read_all(Cursor::new(bytes.to_vec()))
}

#[test]
fn pcap_both_byte_orders_and_resolutions() {
    for order in [Order::Le, Order::Be] {
        for nanos in [false, true] {
            let (file, expected, _) = pcap_file(order, nanos, 5);
            let (got, err) = read_bytes(&file);
            assert!(err.is_none(), "{err:?}");
            assert_eq!(got, expected);
            let fmt = CaptureFile::from_reader(Cursor::new(file), "x".into()).unwrap().format();
            assert_eq!(fmt, FileFormat::Pcap);
        }
    }
}

#[test]
fn pcapng_sections_interfaces_and_block_kinds() {
    let (file, expected, _) = pcapng_file();
    let (got, err) = read_bytes(&file);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got, expected);
}

#[test]
fn tiny_reads_give_the_same_packets() {
    for (file, expected) in [pcapng_file(), pcap_file(Order::Be, true, 9)].map(|(f, p, _)| (f, p)) {
        for step in [1, 3, 7, 64] {
            let (got, err) = read_all(Dribble { data: Cursor::new(file.clone()), step });
            assert!(err.is_none(), "step {step}: {err:?}");
            assert_eq!(got, expected, "step {step}");
        }
    }
}

#[test]
fn packets_larger_than_the_read_buffer() {
    let big = payload(9, 3 << 20);
    let mut file = pcap_header(Order::Le, false, 101);
    file.extend(pcap_record(Order::Le, 1, 2, &big, big.len() as u32));
    file.extend(pcap_record(Order::Le, 3, 4, b"tail", 4));
    let (got, err) = read_bytes(&file);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].data, big);
    assert_eq!(got[1].data, b"tail");
}

/// Cutting a file anywhere yields exactly the packets whose records end before the cut, then
/// `Truncated` naming the start of the record (pcap header, pcap record, pcapng block) the cut
/// falls in, or a clean end when the cut falls between records.
#[test]
fn cut_anywhere_yields_the_packets_before_then_truncated() {
    let (pcap, pcap_pkts, pcap_starts) = pcap_file(Order::Le, false, 4);
    let pcap_blocks = std::iter::once(0).chain(pcap_starts.iter().copied()).collect();
    let (pcapng, pcapng_pkts, pcapng_starts, pcapng_blocks) = pcapng_file_with_blocks();
    let files = [
        ("pcap", pcap, pcap_pkts, pcap_starts, pcap_blocks),
        ("pcapng", pcapng, pcapng_pkts, pcapng_starts, pcapng_blocks),
    ];
    for (kind, file, pkts, starts, blocks) in files {
        let blocks: Vec<usize> = blocks;
        for cut in 0..file.len() {
            let (got, err) = read_bytes(&file[..cut]);
            if cut < 4 {
                assert!(matches!(err, Some(CaptureError::NotACaptureFile { .. })), "{kind} cut {cut}: {err:?}");
                continue;
            }
            // Packet i is complete when the next block starts at or before the cut.
            let complete = starts.iter().filter(|&&start| blocks.iter().any(|&b| b > start && b <= cut)).count();
            assert_eq!(got, pkts[..complete], "{kind} cut {cut}");
            let containing = blocks.iter().copied().filter(|&b| b <= cut).max().unwrap();
            match err {
                None => assert!(containing == cut && cut > 0, "{kind} cut {cut}: clean end inside a record"),
                Some(CaptureError::Truncated { offset, .. }) => {
                    assert!(containing < cut || cut == 0, "{kind} cut {cut}: truncated at a boundary");
                    assert_eq!(offset as usize, containing, "{kind} cut {cut}");
                }
                Some(e) => panic!("{kind} cut {cut}: {e}"),
            }
        }
    }
}

#[test]
fn truncated_pcapng_names_the_cut_block() {
    let (file, pkts, starts) = pcapng_file();
    // Cut in the middle of the 3rd packet block.
    let cut = starts[2] + 10;
    let (got, err) = read_bytes(&file[..cut]);
    assert_eq!(got, pkts[..2]);
    match err {
        Some(CaptureError::Truncated { offset, file }) => {
            assert_eq!(offset as usize, starts[2]);
            assert_eq!(file, "test.pcap");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn not_a_capture_file() {
    let (_, err) = read_bytes(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n");
    match err {
        Some(e @ CaptureError::NotACaptureFile { .. }) => {
            let CaptureError::NotACaptureFile { first_bytes, .. } = &e else { unreachable!() };
            assert_eq!(first_bytes.as_slice(), b"GET / HTTP/1.1\r\n");
            assert!(e.to_string().contains("47 45 54 20"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    let (_, err) = read_bytes(b"");
    assert!(err.unwrap().to_string().contains("empty"));
}

#[test]
fn unknown_link_types() {
    let mut file = pcap_header(Order::Be, false, 147);
    file.extend(pcap_record(Order::Be, 1, 2, b"data", 4));
    match read_bytes(&file).1 {
        Some(CaptureError::UnknownLinkType { link_type: 147, offset: 20, .. }) => {}
        other => panic!("{other:?}"),
    }
    // pcapng: the packets of supported interfaces come first; the error when a packet on the
    // unsupported one (USB, 189) appears names the interface block.
    let o = Order::Le;
    let mut file = shb(o);
    file.extend(idb(o, 1, 0, &[]));
    let idb_at = file.len();
    file.extend(idb(o, 189, 0, &[]));
    file.extend(epb(o, 0, 1, b"eth", 3));
    file.extend(epb(o, 1, 2, b"usb", 3));
    file.extend(epb(o, 0, 3, b"never", 5));
    let (got, err) = read_bytes(&file);
    assert_eq!(got.len(), 1);
    match err {
        Some(CaptureError::UnknownLinkType { link_type: 189, offset, .. }) => assert_eq!(offset as usize, idb_at),
        other => panic!("{other:?}"),
    }
}

fn expect_corrupt(bytes: &[u8], offset: usize, what: &str) {
    match read_bytes(bytes).1 {
        Some(CaptureError::Corrupt { offset: o, what: w, .. }) => {
            assert_eq!(o as usize, offset, "{w}");
            assert!(w.contains(what), "{w:?} should mention {what:?}");
        }
        other => panic!("expected Corrupt({what}), got {other:?}"),
    }
}

#[test]
fn corrupt_files() {
    let o = Order::Le;
    // pcap record claiming 300 MiB.
    let mut f = pcap_header(o, false, 1);
    f.extend(pcap_record(o, 1, 2, b"ok", 2));
    let at = f.len();
    f.extend(u32b(o, 1));
    f.extend(u32b(o, 2));
    f.extend(u32b(o, 300 << 20));
    f.extend(u32b(o, 300 << 20));
    expect_corrupt(&f, at + 8, "16 MiB limit");

    // pcap version 3.
    let mut f = pcap_header(o, false, 1);
    f[4] = 3;
    expect_corrupt(&f, 4, "version 3.4");

    let base = {
        let mut f = shb(o);
        f.extend(idb(o, 1, 0, &[]));
        f
    };
    // Leading and trailing block lengths differ.
    let mut f = base.clone();
    let at = f.len();
    let mut b = epb(o, 0, 1, b"abcd", 4);
    let n = b.len();
    b[n - 4] ^= 4;
    f.extend(b);
    expect_corrupt(&f, at + n - 4, "length mismatch");
    // ... also in a skipped block.
    let mut f = base.clone();
    let at = f.len();
    let mut b = block(o, 0x0BAD, &[0; 8]);
    b[16] = 99;
    f.extend(b);
    expect_corrupt(&f, at + 16, "length mismatch");
    // Block length not a multiple of 4.
    let mut f = base.clone();
    let at = f.len();
    f.extend(u32b(o, 6));
    f.extend(u32b(o, 30));
    f.extend([0; 30]);
    expect_corrupt(&f, at + 4, "multiple of 4");
    // Absurd block length.
    let mut f = base.clone();
    let at = f.len();
    f.extend(u32b(o, 0x0BAD));
    f.extend(u32b(o, 0x4000_0000));
    expect_corrupt(&f, at + 4, "absurd");
    // Packet block over the buffering limit.
    let mut f = base.clone();
    let at = f.len();
    f.extend(u32b(o, 6));
    f.extend(u32b(o, 20 << 20));
    expect_corrupt(&f, at + 4, "16 MiB limit");
    // Captured length larger than the block.
    let mut f = base.clone();
    let at = f.len();
    let mut b = epb(o, 0, 1, b"abcd", 4);
    b[20..24].copy_from_slice(&u32b(o, 400));
    f.extend(b);
    expect_corrupt(&f, at + 20, "does not fit");
    // Packet on an interface that was never described.
    let mut f = base.clone();
    let at = f.len();
    f.extend(epb(o, 5, 1, b"abcd", 4));
    expect_corrupt(&f, at + 8, "interface 5");
    // Bad byte-order magic.
    let mut f = shb(o);
    f[8] = 0;
    expect_corrupt(&f, 8, "byte-order magic");
    // An interface option that runs past its block.
    let mut f = shb(o);
    let at = f.len();
    let mut b = idb(o, 1, 0, &[option(o, 9, &[9])]);
    b[18..20].copy_from_slice(&u16b(o, 200));
    f.extend(b);
    f.extend(epb(o, 0, 1, b"x", 1));
    expect_corrupt(&f, at + 16, "runs past");
    // if_tsresol with the wrong length.
    let mut f = shb(o);
    let at = f.len();
    f.extend(idb(o, 1, 0, &[option(o, 9, &[9, 9])]));
    expect_corrupt(&f, at + 16, "expected 1");
}

#[test]
fn errors_name_the_file() {
    let err = CaptureFile::open(Path::new("/nonexistent/dir/x.pcap")).err().unwrap();
    assert!(matches!(err, CaptureError::Io { .. }));
    assert!(err.to_string().starts_with("/nonexistent/dir/x.pcap: "), "{err}");
}

/// Random bytes after a valid header: the reader ends with a packet list and at most one error,
/// never a panic, whatever the bytes.
#[test]
fn random_bytes_never_panic() {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (pcapng, _, _) = pcapng_file();
    let (pcap, _, _) = pcap_file(Order::Le, true, 3);
    for i in 0..3000 {
        let mut f = if i % 2 == 0 { pcapng.clone() } else { pcap.clone() };
        // Flip a few bytes, sometimes setting small lengths.
        for _ in 0..(next() % 6 + 1) {
            let at = (next() as usize) % f.len();
            f[at] = if next() % 3 == 0 { (next() % 64) as u8 } else { next() as u8 };
        }
        let _ = read_bytes(&f);
    }
}
