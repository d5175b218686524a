#!/usr/bin/env python3
"""Derives capture files that tcpdump/editcap cannot write from a real loopback capture.

usage: craft.py LO_PCAP OUT_DIR

Writes, from the packets of LO_PCAP (Ethernet, little-endian, microsecond pcap as tcpdump writes
it on Linux):
  lo-be.pcap         the same file in big-endian byte order
  rawip.pcap         link type 101 (raw IP): the Ethernet header removed
  null.pcap          link type 0 (BSD null): a 4-byte address family instead of the Ethernet
                     header, alternating host byte orders and the BSD IPv6 families 24/28/30
  crafted.pcapng     two sections: a big-endian one whose interface uses 2^-20 s time units and
                     a -3600 s if_tsoffset, holding Enhanced, obsolete and Simple Packet Blocks
                     and blocks to skip (name resolution, interface statistics, a local-use type);
                     then a little-endian one whose interface uses 100 ns units
  vlan.pcap          802.1Q and QinQ (802.1ad and 0x9100) frames built with scapy, with Ethernet
                     padding, an ARP frame, an IP fragment and an ICMP echo
"""
import struct
import sys


def read_pcap(path):
    data = open(path, "rb").read()
    magic, = struct.unpack("<I", data[:4])
    assert magic == 0xA1B2C3D4, "expected a little-endian microsecond pcap"
    link, = struct.unpack("<I", data[20:24])
    assert link == 1, "expected Ethernet"
    at, records = 24, []
    while at + 16 <= len(data):
        secs, usecs, caplen, orig = struct.unpack("<IIII", data[at:at + 16])
        records.append((secs, usecs, data[at + 16:at + 16 + caplen], orig))
        at += 16 + caplen
    return records


def write_pcap(path, records, link, endian="<", snaplen=262144):
    with open(path, "wb") as f:
        f.write(struct.pack(endian + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, link))
        for secs, usecs, frame, orig in records:
            f.write(struct.pack(endian + "IIII", secs, usecs, len(frame), orig))
            f.write(frame)


def strip_ethernet(frame, orig):
    return frame[14:], orig - 14


# ---- pcapng ----

def block(e, block_type, body):
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack(e + "II", block_type, n) + body + struct.pack(e + "I", n)


def option(e, code, value):
    return struct.pack(e + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def shb(e):
    return block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(e, link, options):
    body = struct.pack(e + "HHI", link, 0, 0)
    if options:
        body += b"".join(options) + option(e, 0, b"")
    return block(e, 1, body)


def epb(e, interface, units, frame, orig):
    body = struct.pack(e + "IIIII", interface, units >> 32, units & 0xFFFFFFFF, len(frame), orig) + frame
    body += b"\0" * (-len(body) % 4)
    body += option(e, 1, b"comment to skip") + option(e, 0, b"")
    return block(e, 6, body)


def obsolete_pb(e, interface, units, frame, orig):
    body = struct.pack(e + "HHIIII", interface, 0, units >> 32, units & 0xFFFFFFFF, len(frame), orig) + frame
    return block(e, 2, body)


def spb(e, frame):
    return block(e, 3, struct.pack(e + "I", len(frame)) + frame)


def write_crafted_pcapng(path, records):
    half = len(records) // 2
    out = bytearray()
    be, le = ">", "<"
    # Section 1, big-endian: 2^-20 s units and a -3600 s offset.
    out += shb(be)
    out += idb(be, 1, [option(be, 2, b"lo"), option(be, 9, bytes([0x80 | 20])), option(be, 14, struct.pack(be + "q", -3600))])
    out += block(be, 4, struct.pack(be + "HH", 0, 0))  # name resolution block, empty
    for i, (secs, usecs, frame, orig) in enumerate(records[:half]):
        # Stored so that the reader must apply the offset: secs + 3600.
        units = ((secs + 3600) << 20) + (usecs << 20) // 1_000_000
        if i == 2:
            out += spb(be, frame)  # no timestamp, no interface id
        elif i % 3 == 1:
            out += obsolete_pb(be, 0, units, frame, orig)
        else:
            out += epb(be, 0, units, frame, orig)
    out += block(be, 5, struct.pack(be + "III", 0, 0, 0))  # interface statistics
    out += block(be, 0x80001234, b"local-use block type, to be skipped")
    # Section 2, little-endian: 100 ns units.
    out += shb(le)
    out += idb(le, 1, [option(le, 9, bytes([7]))])
    for secs, usecs, frame, orig in records[half:]:
        out += epb(le, 0, secs * 10_000_000 + usecs * 10, frame, orig)
    open(path, "wb").write(out)


def write_vlan_pcap(path):
    from scapy.all import ARP, Dot1AD, Dot1Q, Ether, ICMP, IP, IPv6, Raw, TCP, UDP, Padding, wrpcap

    eth = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    frames = [
        Ether(**eth) / Dot1Q(vlan=10) / IP(src="10.0.0.1", dst="10.0.0.2", ttl=63) / TCP(sport=40000, dport=80, flags="PA", seq=1000, ack=2000) / Raw(b"GET /vlan HTTP/1.1\r\nHost: a\r\n\r\n"),
        Ether(**eth) / Dot1AD(vlan=100) / Dot1Q(vlan=20) / IPv6(src="fd00::1", dst="fd00::2") / UDP(sport=5353, dport=53) / Raw(b"\x12\x34qinq"),
        Ether(**eth, type=0x9100) / Dot1Q(vlan=200) / Dot1Q(vlan=30) / IP(src="10.0.0.3", dst="10.0.0.4") / TCP(sport=1234, dport=8080, flags="S", seq=7),
        # A 2-byte UDP payload in a frame padded to 64 bytes (60 + the 4-byte tag).
        Ether(**eth) / Dot1Q(vlan=10) / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000, dport=2000) / Raw(b"hi") / Padding(b"\0" * 16),
        Ether(**eth) / Dot1Q(vlan=10) / ARP(psrc="10.0.0.1", pdst="10.0.0.2"),
        Ether(**eth) / Dot1Q(vlan=10) / IP(src="10.0.0.1", dst="10.0.0.2", flags="MF", frag=0, id=77) / UDP(sport=1, dport=2) / Raw(b"x" * 40),
        Ether(**eth) / Dot1Q(vlan=10) / IP(src="10.0.0.1", dst="10.0.0.2") / ICMP() / Raw(b"ping"),
        Ether(**eth) / IP(src="10.0.0.5", dst="10.0.0.6") / UDP(sport=3000, dport=4000) / Raw(b"untagged"),
    ]
    for i, f in enumerate(frames):
        f.time = 1_700_000_000 + i + 0.000001 * (i + 1)
    wrpcap(path, frames)


def main():
    lo, out = sys.argv[1], sys.argv[2]
    records = read_pcap(lo)
    write_pcap(f"{out}/lo-be.pcap", records, 1, endian=">")
    raw = [(s, u) + strip_ethernet(f, o) for s, u, f, o in records]
    write_pcap(f"{out}/rawip.pcap", raw, 101)
    null = []
    for i, (s, u, ip, o) in enumerate(raw):
        family = 2 if ip[0] >> 4 == 4 else [24, 28, 30][i % 3]  # tshark knows no AF 10 (Linux) here
        header = struct.pack("<I" if i % 2 == 0 else ">I", family)
        null.append((s, u, header + ip, o + 4))
    write_pcap(f"{out}/null.pcap", null, 0)
    write_crafted_pcapng(f"{out}/crafted.pcapng", records)
    write_vlan_pcap(f"{out}/vlan.pcap")


if __name__ == "__main__":
    main()
