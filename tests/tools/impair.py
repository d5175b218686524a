#!/usr/bin/env python3
"""Make impaired variants of a real capture (pcap in, pcap out), like a lossy or out-of-order
capture path would: the bytes each TCP connection carries stay the same unless data is removed.

Modes:
  reorder    TCP segments and ACKs are shuffled within windows of --window packets. A connection's
             data never moves before its SYN/SYN-ACK, nor after its own direction's FIN/RST (the
             data order *between* and *within* directions changes). Packets keep the timestamps of
             the slots they land in, so capture time stays monotonic.
  duplicate  a --fraction of TCP segments (data, ACKs, SYNs) is sent again 1..5 packets later.
  overlap    a --fraction of data segments is re-cut into 2..4 pieces whose byte ranges overlap
             (correct sequence numbers, identical bytes); half of those also keep the original
             segment, sent first, so the pieces are overlapping retransmissions of it.
  mixed      reorder + duplicate + overlap.
  drop       one data segment (never the first or last of its direction) is removed from each of
             --drop-conns connections (the largest connection by bytes, then random ones with at
             least 3 data segments in a direction), or from the connections whose client ports are
             given with --drop-client-port. Every copy of the removed bytes goes.

--report FILE gets JSON: what was done, and "damaged": the connections (client, server) whose
byte streams lost data. Everything not listed there carries exactly the original bytes.
"""

import argparse
import json
import random
import sys
from collections import defaultdict

from scapy.all import IP, TCP, UDP, IPv6, PcapReader, PcapWriter, Raw  # noqa: F401
from scapy.utils import PcapNgReader  # noqa: F401

SYN, FIN, RST, ACK = 0x02, 0x01, 0x04, 0x10


def l3(p):
    if IP in p:
        return p[IP]
    if IPv6 in p:
        return p[IPv6]
    return None


def info(p):
    """(conn key, direction, flags, payload length, seq) or None for non-TCP packets."""
    ip = l3(p)
    if ip is None or TCP not in p:
        return None
    t = p[TCP]
    a, b = (ip.src, t.sport), (ip.dst, t.dport)
    key = (a, b) if a <= b else (b, a)
    return key, (a, b), int(t.flags), len(bytes(t.payload)), t.seq


class Conns:
    def __init__(self, pkts):
        self.client = {}          # key -> client endpoint (SYN sender)
        self.syn_idx = {}         # key -> index of the last handshake packet (SYN-ACK, else SYN)
        self.fin_idx = {}         # (key, src endpoint) -> first FIN/RST index from that side
        self.data = defaultdict(list)   # (key, src endpoint) -> [indexes of data segments]
        self.bytes = defaultdict(int)
        for i, p in enumerate(pkts):
            x = info(p)
            if x is None:
                continue
            key, (src, dst), fl, n, _ = x
            if fl & SYN:
                if not fl & ACK:
                    self.client.setdefault(key, src)
                self.syn_idx[key] = i
            if fl & (FIN | RST):
                self.fin_idx.setdefault((key, src), i)
            if n:
                self.data[(key, src)].append(i)
                self.bytes[key] += n

    def endpoints(self, key):
        c = self.client.get(key, key[0])
        s = key[1] if c == key[0] else key[0]
        return c, s


def fix_lengths(p):
    ip = l3(p)
    if IP in p:
        del p[IP].len
        del p[IP].chksum
    elif IPv6 in p:
        del p[IPv6].plen
    del p[TCP].chksum
    return p


def clone(p, ts=None):
    q = p.copy()
    q.time = p.time if ts is None else ts
    return q


# ---- modes -----------------------------------------------------------------------------------

def reorder(pkts, rnd, window, stats):
    conns = Conns(pkts)
    out = list(pkts)
    times = [p.time for p in pkts]

    def movable(p):
        x = info(p)
        return x is not None and not (x[2] & (SYN | FIN | RST))

    index_of = {id(p): i for i, p in enumerate(pkts)}

    def ok(arr, slots):
        """No data segment may cross its connection's handshake, or its own side's FIN/RST."""
        for pos in slots:
            p = arr[pos]
            key, (src, _), _, n, _ = info(p)
            if n == 0:
                continue
            orig = index_of[id(p)]
            syn = conns.syn_idx.get(key, -1)
            if orig > syn >= pos:
                return False
            fin = conns.fin_idx.get((key, src))
            if fin is not None and orig < fin <= pos:
                return False
        return True

    for start in range(0, len(out), window):
        slots = [i for i in range(start, min(start + window, len(out))) if movable(out[i])]
        if len(slots) < 2:
            continue
        orig = [out[i] for i in slots]
        for _ in range(30):
            perm = orig[:]
            rnd.shuffle(perm)
            if perm == orig:
                continue
            trial = out[:]
            for i, p in zip(slots, perm):
                trial[i] = p
            if ok(trial, slots):
                stats["moved"] += sum(1 for a, b in zip(orig, perm) if a is not b)
                out = trial
                break
    res = []
    top = {}
    for i, p in enumerate(out):
        q = clone(p, times[i])
        res.append(q)
        x = info(p)
        if x and x[3]:
            d, seq = x[1], x[4]
            # a data segment that starts below the highest sequence seen in its direction arrived late
            if d in top and ((seq - top[d]) & 0xFFFFFFFF) > 0x7FFFFFFF:
                stats["out_of_order"] += 1
            else:
                top[d] = (seq + x[3]) & 0xFFFFFFFF
    return res


def duplicate(pkts, rnd, fraction, stats):
    out = list(pkts)
    inserts = []
    for i, p in enumerate(pkts):
        if info(p) is not None and rnd.random() < fraction:
            inserts.append((i + rnd.randint(1, 5), p))
    # insert from the back so earlier positions stay valid
    for pos, p in sorted(inserts, key=lambda x: -x[0]):
        pos = min(pos, len(out))
        q = clone(p, out[pos - 1].time)
        out.insert(pos, q)
        stats["duplicated"] += 1
    return out


def split_overlapping(p, rnd):
    t = p[TCP]
    data = bytes(t.payload)
    n = len(data)
    k = rnd.randint(2, min(4, max(2, n // 8)))
    cuts = sorted(rnd.sample(range(1, n), k - 1))
    bounds = [0] + cuts + [n]
    pieces = []
    fl = int(t.flags)
    for j in range(k):
        lo = bounds[j]
        hi = bounds[j + 1]
        # stretch each piece (except the last) into the next one: overlapping byte ranges
        if j < k - 1:
            hi = min(n, hi + rnd.randint(1, max(1, (bounds[j + 2] - bounds[j + 1]) // 2)))
        if j > 0 and rnd.random() < 0.5:
            lo = max(0, lo - rnd.randint(1, max(1, (bounds[j] - bounds[j - 1]) // 2)))
        q = p.copy()
        q[TCP].seq = (t.seq + lo) & 0xFFFFFFFF
        q[TCP].remove_payload()
        q[TCP].add_payload(Raw(data[lo:hi]))
        flags = fl & ~(FIN | 0x08)  # PSH and FIN only on the piece that ends the segment
        if hi == n:
            flags |= fl & (FIN | 0x08)
        q[TCP].flags = flags
        q.time = p.time
        pieces.append(fix_lengths(q))
    return pieces


def overlap(pkts, rnd, fraction, stats):
    out = []
    for p in pkts:
        x = info(p)
        if x is not None and x[3] >= 16 and not (x[2] & SYN) and rnd.random() < fraction:
            pieces = split_overlapping(p, rnd)
            if rnd.random() < 0.5:
                out.append(p)
                stats["overlap_resent"] += 1
            else:
                stats["overlap_replaced"] += 1
            out.extend(pieces)
        else:
            out.append(p)
    return out


def drop(pkts, rnd, nconns, stats, ports=()):
    conns = Conns(pkts)
    cands = defaultdict(list)  # key -> [(key, src)] directions with >= 3 data segments
    for (key, src), idxs in conns.data.items():
        if len(idxs) >= 3 and key in conns.client:
            cands[key].append((key, src))
    if not cands:
        raise SystemExit("drop: no connection with 3 data segments in a direction")
    keys = sorted(cands, key=repr)
    if ports:
        chosen = [k for k in keys if conns.endpoints(k)[0][1] in ports]
        if not chosen:
            raise SystemExit(f"drop: no connection with enough data from client ports {ports}")
    else:
        chosen = [max(keys, key=lambda k: conns.bytes[k])]
        rest = [k for k in keys if k not in chosen]
        chosen += rnd.sample(rest, min(len(rest), nconns - 1))
    remove = set()
    damaged = []
    for key in chosen:
        key_dir = rnd.choice(cands[key])
        idxs = conns.data[key_dir]
        victim = idxs[rnd.randrange(1, len(idxs) - 1)]
        vx = info(pkts[victim])
        # every copy of those bytes (retransmissions) goes too
        for i in idxs:
            ix = info(pkts[i])
            if ix[4] == vx[4] and ix[3] == vx[3]:
                remove.add(i)
        c, s = conns.endpoints(key)
        damaged.append({"client": list(c), "server": list(s),
                        "direction": "client->server" if key_dir[1] == c else "server->client",
                        "seq": vx[4], "len": vx[3], "frame": victim + 1})
    stats["dropped"] = len(remove)
    stats["damaged"] = damaged
    return [p for i, p in enumerate(pkts) if i not in remove]


def stream_bytes(pkts):
    """Independent reassembly for the self-check: {(src, dst): bytes from ISN+1} per direction,
    or an error string for a hole or for overlapping segments whose bytes disagree."""
    isn, segs = {}, defaultdict(list)
    for p in pkts:
        x = info(p)
        if x is None:
            continue
        _, d, fl, n, seq = x
        if fl & SYN:
            isn.setdefault(d, seq)
        if n:
            segs[d].append((seq, bytes(p[TCP].payload)))
    out = {}
    for d, ss in segs.items():
        if d not in isn:
            out[d] = "no SYN"
            continue
        base = (isn[d] + 1) & 0xFFFFFFFF
        pieces = sorted((((seq - base) & 0xFFFFFFFF), data) for seq, data in ss)
        buf = bytearray()
        err = None
        for off, data in pieces:
            if off > len(buf):
                err = f"hole at offset {len(buf)}"
                break
            common = min(len(buf) - off, len(data))
            if buf[off:off + common] != data[:common]:
                err = f"conflicting overlap at offset {off}"
                break
            buf += data[common:]
        out[d] = err or bytes(buf)
    return out


def check(before, after, damaged):
    """Every direction's bytes must be unchanged, except on damaged connections, where they must
    differ. Returns a list of problems."""
    a, b = stream_bytes(before), stream_bytes(after)
    bad = {tuple(map(tuple, (x["client"], x["server"]))) for x in damaged}
    bad |= {(s, c) for c, s in bad}
    problems = []
    for d in sorted(set(a) | set(b), key=repr):
        if d in bad:
            if a.get(d) == b.get(d) and (d[1], d[0]) in a and a.get((d[1], d[0])) == b.get((d[1], d[0])):
                problems.append(f"{d}: reported damaged but unchanged")
        elif a.get(d) != b.get(d):
            problems.append(f"{d}: bytes changed: {str(a.get(d))[:40]} -> {str(b.get(d))[:40]}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--mode", required=True, choices=["reorder", "duplicate", "overlap", "mixed", "drop"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--window", type=int, default=8)
    ap.add_argument("--fraction", type=float, default=0.25)
    ap.add_argument("--drop-conns", type=int, default=4)
    ap.add_argument("--drop-client-port", type=int, action="append", default=[],
                    help="drop mode: damage exactly the connections from these client ports")
    ap.add_argument("--report")
    ap.add_argument("--no-check", action="store_true",
                    help="skip re-assembling input and output to check that only damaged connections changed")
    a = ap.parse_args()

    rnd = random.Random(a.seed)
    reader = PcapReader(a.input)
    linktype = reader.linktype
    nano = getattr(reader, "nano", False)
    pkts = list(reader)
    reader.close()
    stats = defaultdict(int)
    stats["input_packets"] = len(pkts)
    if a.mode in ("duplicate", "mixed"):
        pkts = duplicate(pkts, rnd, a.fraction, stats)
    if a.mode in ("overlap", "mixed"):
        pkts = overlap(pkts, rnd, a.fraction, stats)
    if a.mode in ("reorder", "mixed"):
        pkts = reorder(pkts, rnd, a.window, stats)
    if a.mode == "drop":
        pkts = drop(pkts, rnd, a.drop_conns, stats, a.drop_client_port)
    stats.setdefault("damaged", [])
    stats["output_packets"] = len(pkts)
    w = PcapWriter(a.output, linktype=linktype, nano=nano, sync=False)
    for p in pkts:
        w.write(p)
    w.close()
    report = {"mode": a.mode, "seed": a.seed, **stats}
    if not a.no_check:
        before = list(PcapReader(a.input))
        problems = check(before, pkts, stats["damaged"])
        report["check"] = problems or "ok"
        if problems:
            print("impair: self-check failed:\n  " + "\n  ".join(problems[:20]), file=sys.stderr)
    if a.report:
        with open(a.report, "w") as f:
            json.dump(report, f, indent=1)
    print(json.dumps({k: v for k, v in report.items() if k != "damaged"}), file=sys.stderr)
    return 1 if report.get("check", "ok") != "ok" else 0


if __name__ == "__main__":
    sys.exit(main())
