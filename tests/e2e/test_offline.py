"""`kubectl-shark view FILE --output json` on real captures, against tshark as the oracle.

The module records every traffic scenario with tcpdump on the node bridge once (clean.pcap),
plus a second, small capture (small.pcap), and derives damaged files from them.
"""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from capture import record_on_bridge, run_view
from checks import (assert_equals_oracle, assert_oracle_matches_expectations, assert_schema,
                    index_entries, per_scenario, ts_ns)
from oracle import Oracle, compare, entry_dns_key, entry_http_key, oracle_for, split_entries, tcp_payload_bytes
from traffic import BIG_PUT_SIZE, SHORT_CONNS, run_scenarios, run_small_mix


@dataclass
class Offline:
    pcap: Path
    small: Path
    expects: list
    small_expects: list
    oracle: Oracle
    small_oracle: Oracle
    workdir: Path


@pytest.fixture(scope="module")
def offline(topology, workdir):
    pcap = workdir / "clean.pcap"
    expects, cap = record_on_bridge(topology, pcap, run_scenarios)
    small = workdir / "small.pcap"
    small_expects, _ = record_on_bridge(topology, small, run_small_mix)
    o = oracle_for(pcap)
    so = oracle_for(small)
    (workdir / "oracle-summary.json").write_text(json.dumps(
        {"packets": cap.captured, "per_scenario": per_scenario(o), "quirks": o.quirks,
         "small_per_scenario": per_scenario(so)}, indent=1))
    return Offline(pcap, small, expects, small_expects, o, so, workdir)


@pytest.fixture(scope="module")
def viewed(offline):
    return run_view([offline.pcap])


# ---- harness self-checks (pass without the CLI) --------------------------------------------------

@pytest.mark.harness
def test_harness_oracle_sees_every_scenario(offline):
    assert_oracle_matches_expectations(offline.oracle, offline.expects)
    assert_oracle_matches_expectations(offline.small_oracle, offline.small_expects)


@pytest.mark.harness
def test_harness_scenarios_have_the_intended_shape(offline):
    o = offline.oracle
    conns = defaultdict(list)
    for x in o.http:
        conns[x.conn].append(x)
    ka = [c for c, xs in conns.items() if any(x.path.startswith("/ka/") for x in xs)]
    assert len(ka) == 1 and len(conns[ka[0]]) == 8, "keep-alive: 8 requests on one connection"
    pipe = [xs for xs in conns.values() if len(xs) == 8 and xs[0].path == "/pipe/a.txt"]
    assert pipe and pipe[0][2].method == "HEAD", "pipeline with a HEAD inside"
    short = [c for c, xs in conns.items() if any(x.path.startswith("/short/") for x in xs)]
    assert len(short) == SHORT_CONNS, f"{SHORT_CONNS} short connections, found {len(short)}"
    put = [x for x in o.http if x.method == "PUT"]
    assert len(put) == 1 and put[0].interim == [100] and put[0].status == 201, "100-continue PUT"
    assert any(x.client[0].count(":") for x in o.http), "IPv6 HTTP"
    assert {x.req_version for x in o.http} == {"HTTP/1.0", "HTTP/1.1"}
    assert "HTTP/1.0" in {x.resp_version for x in o.http}, "HTTP/1.0 close-delimited response"
    dconns = Counter((x.transport, x.client) for x in o.dns)
    assert max(n for (t, _), n in dconns.items() if t == "tcp") >= 4, "several DNS queries on one TCP connection"
    types = {x.qtype for x in o.dns}
    assert {"A", "AAAA", "CNAME", "TXT", "MX", "SRV", "PTR", "NS", "SOA"} <= types
    assert {"NXDOMAIN", "NOERROR"} <= {x.rcode for x in o.dns}
    assert {"udp", "tcp"} == {x.transport for x in o.dns}
    ans_types = {a[1] for x in o.dns for a in x.answers}
    assert {"A", "AAAA", "CNAME", "TXT", "MX", "SRV", "PTR", "NS", "SOA"} <= ans_types, ans_types


# ---- view == oracle ------------------------------------------------------------------------------------

def test_view_exit_code_and_json_lines(viewed):
    assert viewed.rc == 0, viewed.describe()
    assert not viewed.bad_lines, "stdout must be JSON entries only, one per line\n" + viewed.describe()
    assert viewed.entries, viewed.describe()


def test_view_equals_oracle(offline, viewed):
    assert viewed.rc == 0, viewed.describe()
    assert_equals_oracle(offline.oracle, viewed.entries, "view clean.pcap")


def test_view_entry_schema(viewed):
    assert viewed.entries, viewed.describe()
    assert_schema(viewed.entries)


def test_view_timestamps_are_first_request_byte(offline, viewed):
    """ts is the time of the first request byte: exact (ns) wherever the whole request is inside
    one frame (tshark tells), and never after the frame that completed the request otherwise."""
    idx = index_entries(viewed.entries)
    okeys = Counter(x.key for x in offline.oracle.http)
    bad = []
    for x in offline.oracle.http:
        es = idx.get(("http",) + x.key, [])
        if okeys[x.key] != 1 or len(es) != 1:
            continue
        t = ts_ns(es[0]["ts"])
        if (x.req_single_frame and t != x.req_time_ns) or t > x.req_time_ns:
            bad.append((x.method, x.path, x.client, es[0]["ts"], x.req_time_ns, x.req_single_frame))
    for x in offline.oracle.dns:
        es = idx.get(("dns",) + x.key, [])
        if len(es) != 1:
            continue
        t = ts_ns(es[0]["ts"])
        if (x.query_single_frame and t != x.query_time_ns) or t > x.query_time_ns:
            bad.append((x.qname, x.qtype, x.transport, es[0]["ts"], x.query_time_ns))
    assert not bad, f"{len(bad)} entries with a wrong ts, e.g. {bad[:10]}"
    # entries of one connection are in request order
    by_conn = defaultdict(list)
    for e in split_entries(viewed.entries)[0]:
        by_conn[(e["src"]["ip"], e["src"]["port"])].append(ts_ns(e["ts"]))
    unordered = [c for c, ts in by_conn.items() if ts != sorted(ts)]
    assert not unordered, f"entries of a connection out of request order: {unordered[:5]}"


def _norm_headers(h):
    return [[str(k), str(v).strip(" \t")] for k, v in (h or [])]


def _headers_match(got, want):
    """The header lines exactly, in wire order. When the message announces trailer fields
    (a `Trailer` header), the spec does not say whether trailers join the header list, so they
    may follow the header lines."""
    got = _norm_headers(got)
    if got == want:
        return True
    return any(k.lower() == "trailer" for k, _ in want) and got[:len(want)] == want


def test_view_http_details(offline, viewed):
    """Versions, header lists (wire order), 1xx interim responses, bodiless responses, and a few
    bodies whose content is known."""
    idx = index_entries(viewed.entries)
    okeys = Counter(x.key for x in offline.oracle.http)
    bad = []
    checked = Counter()
    for x in offline.oracle.http:
        es = idx.get(("http",) + x.key, [])
        if okeys[x.key] != 1 or len(es) != 1:
            continue
        e = es[0]
        q, r = e["request"], e["response"] or {}
        name = f"{x.method} {x.path} ({x.client[1]})"
        if q.get("version") != x.req_version:
            bad.append(f"{name}: request.version {q.get('version')!r} != {x.req_version!r}")
        if x.resp_version and r.get("version") != x.resp_version:
            bad.append(f"{name}: response.version {r.get('version')!r} != {x.resp_version!r}")
        if x.req_headers is not None:
            checked["request headers"] += 1
            if not _headers_match(q.get("headers"), x.req_headers):
                bad.append(f"{name}: request.headers {q.get('headers')} != {x.req_headers}")
        if x.resp_headers is not None:
            checked["response headers"] += 1
            if not _headers_match(r.get("headers"), x.resp_headers):
                bad.append(f"{name}: response.headers {r.get('headers')} != {x.resp_headers}")
        interim = [i.get("status") for i in r.get("interim") or []]
        if interim != x.interim:
            bad.append(f"{name}: response.interim statuses {interim} != {x.interim}")
        if x.method == "HEAD" or x.status in (204, 304):
            body = r.get("body")
            if body and body.get("size"):
                bad.append(f"{name}: a {x.method} {x.status} response has no body, got size {body.get('size')}")
        if x.method == "PUT":
            size = (q.get("body") or {}).get("size")
            if size != BIG_PUT_SIZE:
                bad.append(f"{name}: request.body.size {size} != {BIG_PUT_SIZE}")
        if x.path == "/ka/small.txt?x=1&y=two":
            body = r.get("body") or {}
            if body.get("size") != 5 or body.get("text") != "tiny\n" or "text/plain" not in str(body.get("mime")):
                bad.append(f"{name}: response.body {body} != 5 bytes text/plain 'tiny\\n'")
    assert checked["request headers"] > 100 and checked["response headers"] > 100, checked
    assert not bad, f"{len(bad)} problems:\n" + "\n".join(bad[:30])


def test_view_dns_sections(offline, viewed):
    """Authority and additional sections (OPT left out), and the question's class."""
    idx = index_entries(viewed.entries)
    bad = []
    from oracle import entry_answer
    for x in offline.oracle.dns:
        es = idx.get(("dns",) + x.key, [])
        if len(es) != 1:
            continue
        e = es[0]
        q, r = e["request"], e["response"] or {}
        if (q.get("questions") or [{}])[0].get("class") != "IN":
            bad.append(f"{x.qname}: question class {(q.get('questions') or [{}])[0].get('class')!r}")
        for sec, want in (("authorities", x.authorities), ("additionals", x.additionals)):
            got = tuple(sorted(entry_answer(a) for a in r.get(sec) or [] if a.get("type") != "OPT"))
            if got != want:
                bad.append(f"{x.qname} {x.qtype} {x.transport}: {sec} {got} != {want}")
    assert not bad, f"{len(bad)} problems:\n" + "\n".join(bad[:30])


def test_view_message_sizes(offline, viewed):
    """request_size/response_size are application-layer bytes on the wire: per TCP connection the
    requests add up to every byte the client sent; responses to every byte the server sent
    (connections with 1xx interim responses are only checked on the request side, the spec does not
    say where interim bytes count). DNS over UDP: the datagram payload; over TCP the 2-byte length
    prefix may or may not be counted (once per message: a query the server never answered, on a
    connection it closed, has no response to count)."""
    payload = tcp_payload_bytes(offline.pcap)
    http, dns, _ = split_entries(viewed.entries)
    req, resp = defaultdict(int), defaultdict(int)
    for e in http:
        c, s = (e["src"]["ip"], e["src"]["port"]), (e["dst"]["ip"], e["dst"]["port"])
        req[(c, s)] += e["request_size"]
        resp[(c, s)] += e["response_size"]
    interim_conns = {x.conn for x in offline.oracle.http if x.interim}
    bad = []
    for conn in {x.conn for x in offline.oracle.http}:
        c, s = conn
        if req[conn] != payload.get((c, s), 0):
            bad.append(f"HTTP {c}->{s}: sum(request_size) {req[conn]} != {payload.get((c, s), 0)} bytes sent")
        if conn not in interim_conns and resp[conn] != payload.get((s, c), 0):
            bad.append(f"HTTP {s}->{c}: sum(response_size) {resp[conn]} != {payload.get((s, c), 0)} bytes sent")
    idx = index_entries(viewed.entries)
    tcp_dns = defaultdict(lambda: [0, 0, 0, 0])
    for x in offline.oracle.dns:
        es = idx.get(("dns",) + x.key, [])
        if len(es) != 1:
            continue
        e = es[0]
        if x.transport == "udp":
            if (e["request_size"], e["response_size"]) != (x.query_size, x.response_size):
                bad.append(f"DNS/UDP {x.qname} {x.qtype}: sizes {(e['request_size'], e['response_size'])} "
                           f"!= {(x.query_size, x.response_size)}")
        else:
            t = tcp_dns[(x.client, x.server)]
            t[0] += e["request_size"]
            t[1] += e["response_size"]
            t[2] += 1
            t[3] += x.rcode is not None
    for (c, s), (rq, rs, nq, nr) in tcp_dns.items():
        sent, back = payload.get((c, s), 0), payload.get((s, c), 0)
        if rq not in (sent, sent - 2 * nq) or rs not in (back, back - 2 * nr):
            bad.append(f"DNS/TCP {c}->{s}: sizes {rq}/{rs} vs wire {sent}/{back} ({nq} queries, {nr} answers)")
    assert not bad, f"{len(bad)} problems:\n" + "\n".join(sorted(bad)[:30])


def test_view_several_files(offline):
    res = run_view([offline.pcap, offline.small])
    assert res.rc == 0, res.describe()
    both = Oracle(offline.oracle.http + offline.small_oracle.http,
                  offline.oracle.dns + offline.small_oracle.dns, offline.oracle.quirks)
    assert_equals_oracle(both, res.entries, "view clean.pcap small.pcap")


@pytest.mark.parametrize("fmt", ["nsecpcap", "pcapng"])
def test_view_other_capture_formats(offline, fmt):
    """The same packets as nanosecond pcap and as pcapng (what Wireshark and newer tcpdump write)
    give the same exchanges and timestamps."""
    out = offline.workdir / f"clean.{fmt}"
    subprocess.run(["editcap", "-F", fmt, str(offline.pcap), str(out)], check=True, capture_output=True)
    res = run_view([out])
    assert res.rc == 0, res.describe()
    assert_equals_oracle(offline.oracle, res.entries, f"view clean.{fmt}")
    ref = run_view([offline.pcap])
    assert sorted(e["ts"] for e in res.entries) == sorted(e["ts"] for e in ref.entries)


# ---- damaged and wrong inputs ------------------------------------------------------------------------

def pcap_records(path: Path):
    """[(offset of record header, caplen)] of a classic pcap file."""
    data = path.read_bytes()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    recs, off = [], 24
    while off + 16 <= len(data):
        caplen = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        recs.append((off, caplen))
        off += 16 + caplen
    return recs, endian


def _truncated_expectations(offline, damaged: Path):
    """Exchanges complete before the damage must all come out; nothing may come out that the
    clean capture does not have (an exchange cut short may appear without its response)."""
    cut = oracle_for(damaged)
    must = Counter(x.key for x in cut.http if x.status is not None)
    must_dns = Counter(x.key for x in cut.dns if x.rcode is not None)
    allowed = {x.key for x in offline.oracle.http} | {x.key[:-1] + (None,) for x in offline.oracle.http}
    allowed_dns = {x.key for x in offline.oracle.dns} | {x.key[:-2] + (None, ()) for x in offline.oracle.dns}
    return must, must_dns, allowed, allowed_dns


def _check_partial_output(offline, damaged: Path, res):
    must, must_dns, allowed, allowed_dns = _truncated_expectations(offline, damaged)
    http, dns, _ = split_entries(res.entries)
    got = Counter(map(entry_http_key, http))
    got_dns = Counter(map(entry_dns_key, dns))
    msg = []
    if must - got:
        msg.append(f"{sum((must - got).values())} of {sum(must.values())} exchanges complete before the damage "
                   f"are missing, e.g. {list((must - got))[:5]}")
    if must_dns - got_dns:
        msg.append(f"{sum((must_dns - got_dns).values())} DNS exchanges before the damage missing, "
                   f"e.g. {list(must_dns - got_dns)[:5]}")
    wrong = [k for k in got if k not in allowed] + [k for k in got_dns if k not in allowed_dns]
    if wrong:
        msg.append(f"entries that are not in the clean capture: {wrong[:5]}")
    assert sum(must.values()) > 20, "harness: the cut should leave a good part of the capture"
    assert not msg, "\n".join(msg) + "\n" + res.describe()


def _assert_clear_error(res, path):
    err = res.stderr.lower()
    assert res.stderr.strip(), "an error message on stderr is expected\n" + res.describe()
    assert any(w in err for w in ("truncat", "corrupt", "cut short", "unexpected end", "incomplete",
                                  "invalid", "damaged", "malformed", "eof", "end of file")), \
        "stderr should say what is wrong with the file\n" + res.describe()
    assert str(path.name) in res.stderr, "stderr should name the file\n" + res.describe()


@pytest.mark.parametrize("where", ["record_data", "record_header"])
def test_view_truncated_capture(offline, where):
    recs, _ = pcap_records(offline.pcap)
    off, caplen = recs[len(recs) // 2]
    cut = off + 16 + max(1, caplen // 2) if where == "record_data" else off + 9
    damaged = offline.workdir / f"truncated-{where}.pcap"
    damaged.write_bytes(offline.pcap.read_bytes()[:cut])
    res = run_view([damaged])
    assert res.rc == 4, "a capture cut in the middle of a record exits 4\n" + res.describe()
    assert not res.bad_lines, res.describe()
    _assert_clear_error(res, damaged)
    _check_partial_output(offline, damaged, res)


def test_view_corrupt_record_length(offline):
    """A record header in the middle claims an impossible length: exit 4, entries before it come out."""
    recs, endian = pcap_records(offline.pcap)
    off, _ = recs[len(recs) // 2]
    data = bytearray(offline.pcap.read_bytes())
    data[off + 8:off + 16] = struct.pack(endian + "II", 0xFFFFFF00, 0xFFFFFF00)
    damaged = offline.workdir / "corrupt-length.pcap"
    damaged.write_bytes(bytes(data))
    cut = offline.workdir / "corrupt-length-ref.pcap"
    cut.write_bytes(bytes(data[:off]))  # what tshark can read: everything before the bad record
    res = run_view([damaged])
    assert res.rc == 4, res.describe()
    _assert_clear_error(res, damaged)
    _check_partial_output(offline, cut, res)


def test_view_garbage_file(offline):
    f = offline.workdir / "garbage.pcap"
    f.write_bytes(random.Random(4).randbytes(64 * 1024))
    res = run_view([f])
    assert res.rc == 4, res.describe()
    assert not res.entries, res.describe()
    assert res.stderr.strip() and f.name in res.stderr, res.describe()


def test_view_missing_file(offline):
    f = offline.workdir / "does-not-exist.pcap"
    res = run_view([f])
    assert res.rc == 3, res.describe()
    assert not res.entries and f.name in res.stderr, res.describe()


def test_view_directory_is_unreadable(offline):
    res = run_view([offline.workdir])
    assert res.rc == 3, res.describe()


def test_view_unknown_link_type(offline):
    f = offline.workdir / "linktype-147.pcap"
    hdr = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 147)  # LINKTYPE_USER0
    rec = struct.pack("<IIII", 1_700_000_000, 0, 4, 4) + b"abcd"
    f.write_bytes(hdr + rec * 3)
    res = run_view([f])
    assert res.rc == 5, res.describe()
    assert "147" in res.stderr or "link" in res.stderr.lower(), res.describe()


def test_view_usage_error():
    from capture import require_shark
    p = subprocess.run([require_shark(), "view", "--no-such-flag-e2e"], capture_output=True, text=True)
    assert p.returncode == 2, p.stderr
    p = subprocess.run([require_shark(), "view"], capture_output=True, text=True)
    assert p.returncode == 2, f"view without a file is a usage error: {p.returncode} {p.stderr}"
