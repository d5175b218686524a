"""HTTP/2, gRPC and WebSocket end to end: real servers and clients (h2family.py), tshark as the
oracle (oracle_h2.py).

- `view --output json` on a bridge capture of every scenario == the oracle (HTTP/2 streams, gRPC
  calls, WebSocket messages, the upgrades' 101s as HTTP/1.1 entries), plus details (versions,
  authority, gRPC service/method/status/message, the handshake a WebSocket message points to).
- `local -i <bridge> --output json` while the scenarios run == the oracle of a reference capture.
- Impaired variants of the capture (tests/tools/impair.py: reordered, duplicated, overlapping,
  segments removed) == the clean oracle; on the connections that lost bytes, whatever comes out
  must still be true (no entry with a wrong method, path, status or message count).
- Captures started mid-connection (editcap): long-lived connections cut (a) before their first
  request, without the handshake and preface, and (b) between two waves of requests, after the
  first wave filled the HPACK dynamic tables. (a) equals the oracle; in (b) every later stream
  comes out, method/path/status are there wherever HPACK sent them literally or from the static
  table, a value from the unknown dynamic table is either right or missing with a note.
- `--protocols http` leaves gRPC and WebSocket out; redaction of `authorization` (HTTP/2) and of a
  credential-like gRPC metadata key (`x-auth-token`), and `--no-redact`.

Harness self-checks (`-m harness`, no CLI needed) prove that the oracle sees what every client
says it sent, and that the captures have the shapes the tests rely on.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from capture import LiveShark, Tcpdump, parse_counters, run_view
from h2family import (GRPC_GO_PORT, GRPC_PY_PORT, GRPC_SECRET_KEY, H2_PORTS, H2_SECRET, HTTP1_PORTS,
                      H2Services, Wire, grpc_counter, h2_counter, http1_counter, run_h2_scenarios, run_waves,
                      ws_counter)
from oracle import canon_ip, diff_counters
from oracle_h2 import (GRPC_CODES, HPACK_STATIC, H2Oracle, compare_h2, diff_ws, entry_grpc_key, entry_h2_key,
                       entry_ws_key, oracle_h2, split, summary)
from topology import TOOLS, ZONE

SERVER_PORTS = set(H2_PORTS) | set(HTTP1_PORTS)
GRPC_PORTS = {GRPC_PY_PORT, GRPC_GO_PORT}
REDACTED = "[REDACTED]"
H2_ERROR_CODES = {"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
                  "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR",
                  "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"}  # RFC 9113 §7
GRPC_SECRET_VALUES = ("grpc-secret-token-1", "grpc-secret-token-2")


def record(topo, pcap, traffic):
    """record_on_bridge with a 32 MiB capture buffer: hundreds of small HTTP/2 frames arrive in
    bursts (the golden fixture recorder saw kernel drops with 16 MiB)."""
    cap = Tcpdump(topo, topo.bridge, pcap, extra=("-B", "32768")).start()
    try:
        wire = traffic(topo)
    finally:
        cap.stop()
    cap.assert_clean()
    return wire


def oracle_of(pcap) -> H2Oracle:
    return oracle_h2(pcap, SERVER_PORTS, H2_PORTS, HTTP1_PORTS)


def not_dns(e):
    return e.get("protocol") != "dns"


@dataclass
class Rec:
    pcap: Path
    wire: Wire
    oracle: H2Oracle
    waves: Path
    waves_wire: Wire
    waves_oracle: H2Oracle
    cut_time: float
    workdir: Path


@pytest.fixture(scope="module")
def h2svc(topology):
    return H2Services(topology).start()


@pytest.fixture(scope="module")
def rec(topology, workdir, h2svc):
    t0 = time.time()
    pcap = workdir / "h2family.pcap"
    wire = record(topology, pcap, lambda t: run_h2_scenarios(t, h2svc))
    cut = {}
    waves = workdir / "h2waves.pcap"

    def pause():
        time.sleep(0.3)           # the last packets of wave 0 (ACKs, window updates) are on the wire
        cut["t"] = time.time()
        time.sleep(0.3)
    waves_wire = record(topology, waves, lambda t: run_waves(t, h2svc, pause))
    r = Rec(pcap, wire, oracle_of(pcap), waves, waves_wire, oracle_of(waves), cut["t"], workdir)
    (workdir / "h2family-oracle.json").write_text(json.dumps(
        {"summary": summary(r.oracle), "waves": summary(r.waves_oracle), "quirks": r.oracle.quirks + r.waves_oracle.quirks,
         "record_seconds": round(time.time() - t0, 1)}, indent=1))
    return r


_views = {}


def view(pcap, *extra):
    key = (str(pcap), extra)
    if key not in _views:
        _views[key] = run_view([pcap], extra=extra)
    return _views[key]


def assert_ok(res):
    assert res.rc == 0, res.describe()
    assert not res.bad_lines, res.describe()


def assert_equal(o: H2Oracle, entries, what, **kw):
    problems = compare_h2(o, entries, **kw)
    assert not problems, f"{what} differs from the oracle (tshark)\n" + "\n".join(problems) + \
        f"\noracle: {summary(o)}\nquirks: {o.quirks}"


# ---- harness self-checks ------------------------------------------------------------------------------

def assert_oracle_sees(o: H2Oracle, w: Wire, with_stream=True):
    msg = []
    got_h2 = Counter((s.method, s.path, s.status, s.stream_id if with_stream else None) for s in o.h2)
    if got_h2 != h2_counter(w.h2, with_stream):
        msg.append(f"HTTP/2: oracle lacks {dict(h2_counter(w.h2, with_stream) - got_h2)}, "
                   f"has unexpected {dict(got_h2 - h2_counter(w.h2, with_stream))}")
    got_g = Counter((s.path, s.grpc_status, s.msgs[0], s.msgs[1]) for s in o.grpc)
    if got_g != grpc_counter(w.grpc):
        msg.append(f"gRPC: oracle lacks {dict(grpc_counter(w.grpc) - got_g)}, has unexpected {dict(got_g - grpc_counter(w.grpc))}")
    p = diff_ws([(m.direction, m.opcode, m.size) for m in o.ws], ws_counter(w.ws), "WebSocket")
    if p:
        msg.append(p)
    got_1 = Counter((x.method, x.path, x.status) for x in o.http1)
    if got_1 != http1_counter(w.http1):
        msg.append(f"HTTP/1.1 upgrades: oracle {dict(got_1)} != clients {dict(http1_counter(w.http1))}")
    assert not msg, "harness: the oracle does not see what the clients sent:\n" + "\n".join(msg) + \
        f"\nquirks: {o.quirks}"


@pytest.mark.harness
def test_harness_oracle_sees_every_scenario(rec):
    assert_oracle_sees(rec.oracle, rec.wire)
    assert_oracle_sees(rec.waves_oracle, rec.waves_wire, with_stream=False)


@pytest.mark.harness
def test_harness_captures_have_the_intended_shape(rec):
    o = rec.oracle
    per_conn = Counter(s.conn for s in o.h2)
    assert max(per_conn.values()) >= 300, "hundreds of streams on one connection"
    assert {"HEAD", "GET", "POST"} <= {s.method for s in o.h2}
    assert {200, 404} <= {s.status for s in o.h2}
    assert any(s.reset is not None and s.status == 200 for s in o.h2), "a stream reset after its response (nginx POST)"
    ups = [s for s in o.h2 if s.upgrade]
    assert len(ups) == 2 and all(s.stream_id == 1 and s.status == 200 for s in ups), "two h2c upgrades, stream 1"
    assert {s.server[1] for s in o.grpc} == GRPC_PORTS, "gRPC against the Python and the Go server"
    statuses = Counter(s.grpc_status for s in o.grpc)
    assert statuses["NOT_FOUND"] == 2 and statuses["INVALID_ARGUMENT"] == 2 and statuses["OK"] >= 10, statuses
    assert all(s.trailers_only for s in o.grpc if s.grpc_status == "NOT_FOUND"), "unary errors are trailers-only"
    kinds = Counter((s.path.rsplit("/", 1)[-1], s.msgs[0] > 1, s.msgs[1] > 1) for s in o.grpc if s.grpc_status == "OK")
    assert {("ServerStream", False, True), ("ClientStream", True, False), ("Bidi", True, True)} <= set(kinds), kinds
    for port in GRPC_PORTS:
        calls = [s for s in o.grpc if s.server[1] == port]
        assert all(sum(s.compressed[d] for s in calls) for d in (0, 1)), f"gzip messages both ways on {port}"
        assert max(s.largest for s in calls) >= 4 * 1024 * 1024, f"a 4 MB message on {port}"
    assert any(k == GRPC_SECRET_KEY for s in o.grpc for k, _ in s.req_headers), "credential-like metadata sent"
    assert any(k == "authorization" for s in o.h2 for k, _ in s.req_headers), "authorization sent on HTTP/2"
    ws = o.ws
    assert {"text", "binary", "ping", "pong", "close"} <= {m.opcode for m in ws}
    assert any(m.size and m.size > 65535 for m in ws), "a 64-bit payload length"
    assert any(m.frames >= 3 for m in ws), "a fragmented message"
    assert all(m.masked == (m.direction == "client") for m in ws), "client frames masked, server frames not"
    assert len({m.conn for m in ws if m.compressed}) == 2 and any(not m.compressed for m in ws)
    assert {(m.close_code, m.close_reason) for m in ws if m.opcode == "close"} == {(4000, "client done")}
    assert len(o.ws_handshakes) == 3


@pytest.mark.harness
def test_harness_waves_fill_the_hpack_tables(rec):
    """The mid-connection test means something only if wave 1 references the dynamic table that
    wave 0 filled: some later request pseudo-header is indexed beyond the static table, some is
    literal or static (those must come out)."""
    later = [s for s in rec.waves_oracle.streams if float(s.first_time) >= rec.cut_time]
    earlier = [s for s in rec.waves_oracle.streams if float(s.first_time) < rec.cut_time]
    assert earlier and later, f"cut at {rec.cut_time}: {len(earlier)} streams before, {len(later)} after"
    reprs = [rp for s in later for n, rp in s.pseudo_repr.items()]
    dynamic = [r for r in reprs if r[0] == "Indexed Header Field" and (r[1] or 0) > HPACK_STATIC]
    known = [r for r in reprs if not (r[0] == "Indexed Header Field" and (r[1] or 0) > HPACK_STATIC)]
    assert dynamic and known, f"wave 1 pseudo-header representations: {Counter(r[0] for r in reprs)}"
    assert {s.conn for s in later} == {s.conn for s in earlier}, "the same connections carry both waves"


# ---- view == oracle --------------------------------------------------------------------------------------

def test_view_equals_oracle(rec):
    res = view(rec.pcap)
    assert_ok(res)
    assert_equal(rec.oracle, res.entries, "view h2family.pcap")


def test_view_details(rec):
    """Beyond the keys: HTTP/2 request fields, gRPC call fields and status, WebSocket handshake
    links, and the common outcome."""
    res = view(rec.pcap)
    assert_ok(res)
    h2, http1, grpc, ws, _ = split(res.entries)
    bad = []
    by_key = defaultdict(list)
    for s in rec.oracle.streams:
        by_key[s.ends() + (s.stream_id,)].append(s)
    outcomes = {"ok", "client_error", "server_error", "error", "no_response"}
    for e in res.entries:
        if e.get("outcome") not in outcomes:
            bad.append(f"{e.get('summary')}: outcome {e.get('outcome')!r}")
    for e in h2:
        q = e["request"]
        k = entry_h2_key(e)
        s = by_key.get(k[:4] + (q.get("stream_id"),), [None])[0]
        if s is None:
            continue
        if not s.upgrade:
            for f, pseudo in (("authority", ":authority"), ("scheme", ":scheme")):
                if q.get(f) != s.pseudo.get(pseudo):
                    bad.append(f"{e['summary']} stream {s.stream_id}: {f} {q.get(f)!r} != {s.pseudo.get(pseudo)!r}")
            if q.get("version") != "HTTP/2":
                bad.append(f"{e['summary']}: request.version {q.get('version')!r}")
        r = e.get("response") or {}
        if r and r.get("version") != "HTTP/2":
            bad.append(f"{e['summary']}: response.version {r.get('version')!r}")
        want = "ok" if s.status and s.status < 400 else "client_error" if s.status and s.status < 500 else None
        if want and e.get("outcome") != want:
            bad.append(f"{e['summary']}: outcome {e.get('outcome')} for status {s.status}")
    for e in grpc:
        q, r = e["request"], e.get("response") or {}
        s = by_key.get(entry_grpc_key(e)[:4] + (q.get("stream_id"),), [None])[0]
        if s is None:
            continue
        svc, _, meth = s.path.lstrip("/").rpartition("/")
        if (q.get("service"), q.get("method")) != (svc, meth):
            bad.append(f"{s.path}: service/method {q.get('service')!r}/{q.get('method')!r}")
        if s.grpc_status in GRPC_CODES and r.get("code") != GRPC_CODES.index(s.grpc_status):
            bad.append(f"{s.path}: response.code {r.get('code')!r} for {s.grpc_status}")
        if (r.get("message") or None) != (s.grpc_message or None):
            bad.append(f"{s.path} {s.grpc_status}: response.message {r.get('message')!r} != {s.grpc_message!r}")
        if bool(r.get("trailers_only")) != s.trailers_only:
            bad.append(f"{s.path} {s.grpc_status}: trailers_only {r.get('trailers_only')!r} != {s.trailers_only}")
        if (e.get("outcome") == "ok") != (s.grpc_status == "OK"):
            bad.append(f"{s.path} {s.grpc_status}: outcome {e.get('outcome')}")
        for d, side in enumerate((q, r)):
            shown = side.get("messages") or []
            if not side.get("messages_not_shown") and sum(1 for m in shown if m.get("compressed")) != s.compressed[d]:
                bad.append(f"{s.path} stream {s.stream_id}: {sum(1 for m in shown if m.get('compressed'))} "
                           f"compressed messages {'in' if d == 0 else 'out'}, tshark saw {s.compressed[d]}")
    # WebSocket messages in order per connection and direction: frames, compression, close
    want_ws, got_ws = defaultdict(list), defaultdict(list)
    for m in rec.oracle.ws:
        want_ws[m.ends() + (m.direction,)].append(m)
    for e in ws:
        got_ws[entry_ws_key(e)[:5]].append(e)
    for k, ms in want_ws.items():
        es = got_ws.get(k, [])
        if [m.opcode for m in ms] != [e["request"].get("opcode") for e in es]:
            bad.append(f"websocket {k}: opcodes {[e['request'].get('opcode') for e in es]} != {[m.opcode for m in ms]}")
            continue
        for m, e in zip(ms, es):
            q = e["request"]
            if (q.get("frames"), bool(q.get("compressed"))) != (m.frames, m.compressed):
                bad.append(f"websocket {k} {m.opcode}: frames/compressed {q.get('frames')}/{q.get('compressed')} "
                           f"!= {m.frames}/{m.compressed}")
            if m.opcode == "close":
                c = q.get("close") or {}
                if (c.get("code"), c.get("reason")) != (m.close_code, m.close_reason):
                    bad.append(f"websocket {k}: close {c} != {m.close_code} {m.close_reason!r}")
    ids = {e.get("id"): e for e in http1}
    for e in ws:
        q = e["request"]
        hs = ids.get(q.get("handshake"))
        if hs is None or (hs.get("response") or {}).get("status") != 101 or hs["src"] != e["src"]:
            bad.append(f"websocket {e.get('summary')}: handshake {q.get('handshake')!r} is not the 101 of its connection")
        if e.get("response") is not None:
            bad.append(f"websocket {e.get('summary')}: response is not null")
    assert not bad, f"{len(bad)} problems, e.g.:\n" + "\n".join(bad[:30])
    assert h2 and grpc and ws and http1, "every kind of entry"


# ---- live ------------------------------------------------------------------------------------------------------

def test_local_bridge_equals_oracle(topology, workdir, h2svc):
    """`local -i <bridge> --output json` while the scenarios run; reference: tcpdump on the
    server's veth without promiscuous mode (see test_live.py). DNS probes show the capture runs."""
    ref = Tcpdump(topology, topology.srv.host_if, workdir / "h2live.pcap", promisc=False,
                  extra=("-B", "32768")).start()
    live = LiveShark(topology, workdir, ifaces=[topology.bridge], name="h2live").start()
    res = None
    try:
        assert live.alive(), live.err.read_text(errors="replace")
        probe(topology, live, "h2live-start")
        wire = run_h2_scenarios(topology, h2svc)
        ref.barrier()
        probe(topology, live, "h2live-end")
        res = live.stop(signal.SIGINT)
    finally:
        if live.alive():
            live.stop(signal.SIGKILL)
        ref.stop()
    ref.assert_clean()
    assert res.rc == 0, res.describe()
    assert not res.bad_lines, res.describe()
    o = oracle_of(ref.out)
    assert_oracle_sees(o, wire)
    assert_equal(o, res.entries, f"live `local -i {topology.bridge}` (counters {parse_counters(res.stderr)})",
                 keep_entry=not_dns)


def probe(topo, live, name, timeout=15):
    """A DNS query the CLI must report (it streams entries): proof that it captures, and that
    everything sent before has been read."""
    deadline = time.time() + timeout
    n = 0
    while time.time() < deadline:
        n += 1
        q = f"probe-{name}-{n}.{ZONE}"
        topo.exec("cli", ["dig", f"@{topo.srv.ip4}", "+tries=1", "+time=2", q, "A"], check=False)
        for _ in range(10):
            if any(e.get("protocol") == "dns" and q in json.dumps(e.get("request")) for e in live.entries_so_far()):
                return
            time.sleep(0.2)
    raise AssertionError(f"`local` did not report the DNS probe {name} within {timeout}s:\n"
                         + live.err.read_text(errors="replace")[-2000:])


# ---- impaired ------------------------------------------------------------------------------------------------

IMPAIR = {
    "reorder": ["--mode", "reorder", "--seed", "21", "--window", "10"],
    "duplicate": ["--mode", "duplicate", "--seed", "22", "--fraction", "0.25"],
    "overlap": ["--mode", "overlap", "--seed", "23", "--fraction", "0.3"],
    "drop": ["--mode", "drop", "--seed", "24", "--drop-conns", "5"],
}
STAT_OF = {"reorder": "out_of_order", "duplicate": "duplicated", "overlap": "overlap_replaced", "drop": "dropped"}
_impaired = {}


def impaired(rec, variant):
    if variant not in _impaired:
        out = rec.workdir / f"h2-{variant}.pcap"
        report = rec.workdir / f"h2-{variant}.json"
        p = subprocess.run([sys.executable, str(TOOLS / "impair.py"), str(rec.pcap), str(out), *IMPAIR[variant],
                            "--report", str(report)], capture_output=True, text=True, timeout=600)
        rep = json.loads(report.read_text()) if report.exists() else {}
        _impaired[variant] = (out, rep, p)
    return _impaired[variant]


def damaged_conns(rep):
    return {(canon_ip(d["client"][0]), d["client"][1], canon_ip(d["server"][0]), d["server"][1])
            for d in rep.get("damaged", [])}


@pytest.mark.harness
@pytest.mark.parametrize("variant", list(IMPAIR))
def test_harness_impairment_is_what_it_claims(rec, variant):
    out, rep, p = impaired(rec, variant)
    assert p.returncode == 0, f"impair.py failed:\n{p.stderr}"
    assert rep.get("check") == "ok", rep.get("check")
    assert rep.get(STAT_OF[variant], 0) > 0, f"nothing was impaired: {rep}"
    if variant == "drop":
        conns = damaged_conns(rep)
        kinds = {("grpc" if s.is_grpc else "h2") for s in rec.oracle.streams if s.ends() in conns}
        kinds |= {"ws" for m in rec.oracle.ws if m.ends() in conns}
        assert len(conns) >= 3 and len(kinds) >= 2, f"drop must damage connections of several kinds: {rep['damaged']}"


@pytest.mark.parametrize("variant", list(IMPAIR))
def test_view_impaired_equals_clean(rec, variant):
    out, rep, p = impaired(rec, variant)
    assert p.returncode == 0, f"impair.py failed:\n{p.stderr}"
    res = run_view([out])
    assert res.rc == 0, "segment loss/reordering is not file corruption\n" + res.describe()
    assert not res.bad_lines, res.describe()
    conns = damaged_conns(rep)

    def ends(e):
        s, d = e.get("src") or {}, e.get("dst") or {}
        return (canon_ip(s.get("ip")), s.get("port"), canon_ip(d.get("ip")), d.get("port"))
    assert_equal(rec.oracle, res.entries, f"view {out.name} (outside the damaged connections {sorted(conns)})",
                 keep_oracle=lambda x: x.ends() not in conns, keep_entry=lambda e: ends(e) not in conns)
    if not conns:
        return
    # On the damaged connections, what comes out must be true: every complete key is the oracle's.
    h2, _, grpc, ws, _ = split([e for e in res.entries if ends(e) in conns])
    want_h2 = Counter(s.h2_key for s in rec.oracle.h2 if s.ends() in conns)
    want_g = Counter(s.grpc_key[:-3] + (s.grpc_key[-1],) for s in rec.oracle.grpc if s.ends() in conns)
    got_h2 = Counter(k for k in map(entry_h2_key, h2) if None not in k)
    # Without a readable grpc-status a reset call's status is the RST_STREAM code (docs/entry.md):
    # a statement about the reset, not a gRPC status, so it is not compared.
    got_g = Counter(k[:-3] + (k[-1],) for k in map(entry_grpc_key, grpc)
                    if None not in k[:-3] and k[5] not in H2_ERROR_CODES)
    wrong = [p for p in (diff_counters(Counter(), got_h2 - want_h2, "HTTP/2 entries not in the oracle"),
                         diff_counters(Counter(), got_g - want_g, "gRPC calls (path, status, stream) not in the oracle"))
             if p]
    assert not wrong, f"view {out.name}: on the damaged connections {sorted(conns)}:\n" + "\n".join(wrong)


# ---- captures started mid-connection ----------------------------------------------------------------------

def editcap(src, dst, *options, frames=()):
    """editcap [options] SRC DST [frames to delete]"""
    subprocess.run(["editcap", *map(str, options), str(src), str(dst), *map(str, frames)], check=True,
                   capture_output=True, timeout=120)


def test_view_mid_connection_before_first_request(rec):
    """Each long-lived connection loses its first packets up to (not including) the one carrying
    its first request HEADERS: no SYN, no preface where it came alone. The HPACK tables were
    still empty there, so every stream must come out as from the whole capture."""
    o = rec.waves_oracle
    first = {}
    for s in o.streams:
        first[s.conn] = min(first.get(s.conn, s.first_frame), s.first_frame)
    res = subprocess.run(["tshark", "-n", "-r", str(rec.waves), "-T", "fields", "-e", "frame.number", "-e", "tcp.stream",
                          "-Y", "tcp"], capture_output=True, text=True, timeout=120, check=True)
    drop = [int(f) for f, c in (ln.split("\t") for ln in res.stdout.splitlines() if "\t" in ln)
            if c and int(c) in first and int(f) < first[int(c)]]
    assert drop, "nothing to drop"
    cut = rec.workdir / "h2waves-nohandshake.pcap"
    editcap(rec.waves, cut, frames=drop)
    v = run_view([cut])
    assert_ok(v)
    assert_equal(o, v.entries, f"view {cut.name} (dropped frames {drop[:20]}...)")


def test_view_mid_connection_after_hpack_tables_filled(rec):
    """The capture starts between the waves: later streams come out; pseudo-headers sent
    literally or from the static table are right; values from the unseen dynamic table are right
    or missing with a note; no value is wrong."""
    cut = rec.workdir / "h2waves-midway.pcap"
    editcap(rec.waves, cut, "-A", f"{rec.cut_time:.6f}")
    v = run_view([cut])
    assert_ok(v)
    later = [s for s in rec.waves_oracle.streams if float(s.first_time) >= rec.cut_time]
    entries = {}
    for e in v.entries:
        q = e.get("request") or {}
        s, d = e.get("src") or {}, e.get("dst") or {}
        entries.setdefault((canon_ip(s.get("ip")), s.get("port"), canon_ip(d.get("ip")), d.get("port"),
                            q.get("stream_id")), []).append(e)
    bad, checked = [], Counter()
    for s in later:
        es = entries.get(s.ends() + (s.stream_id,), [])
        if len(es) != 1:
            bad.append(f"stream {s.stream_id} ({s.method} {s.path}) on {s.ends()}: {len(es)} entries")
            continue
        e = es[0]
        q, r = e.get("request") or {}, e.get("response") or {}
        want = {":method": s.method, ":path": s.path, ":status": s.status}
        if e.get("protocol") == "grpc":     # a gRPC entry: the RPC's path, the HTTP status apart
            got = {":path": q.get("path"), ":status": r.get("http_status")}
            if e.get("status") not in (s.grpc_status, None):
                bad.append(f"{s.path} stream {s.stream_id}: status {e.get('status')!r} != {s.grpc_status!r}")
        else:
            got = {":method": q.get("method"), ":path": q.get("path"), ":status": r.get("status")}
        for name, value in got.items():
            rep, idx = s.pseudo_repr.get(name, ("", None))
            from_dynamic = (idx or 0) > HPACK_STATIC and (rep == "Indexed Header Field" or "Indexed Name" in rep)
            w = want[name]
            checked["dynamic" if from_dynamic else "literal/static"] += 1
            if value is not None and value != w:
                bad.append(f"stream {s.stream_id} {name}: {value!r} is wrong (sent {w!r} as {rep} {idx})")
            elif value is None and not from_dynamic:
                bad.append(f"stream {s.stream_id} {name}: missing though sent as {rep} {idx} ({w!r})")
            elif value is None and not e.get("notes"):
                bad.append(f"stream {s.stream_id} {name}: missing without a note")
    assert not bad, f"{len(bad)} problems ({dict(checked)} values checked), e.g.:\n" + "\n".join(bad[:30])
    assert checked["dynamic"] and checked["literal/static"], dict(checked)


# ---- settings: protocols, redaction ---------------------------------------------------------------------------

def test_protocols_http_leaves_grpc_and_websocket_out(rec):
    res = view(rec.pcap, "--protocols", "http")
    assert_ok(res)
    h2, http1, grpc, ws, other = split(res.entries)
    assert not grpc and not ws and not other, \
        f"--protocols http: {len(grpc)} gRPC, {len(ws)} WebSocket, {len(other)} other entries"
    problems = compare_h2(rec.oracle, res.entries, keep_entry=lambda e: not is_grpc_stream(e),
                          protocols=("http2", "http1"))
    # gRPC's streams may stay plain HTTP/2 entries; those that do must be right
    as_http = Counter(entry_h2_key(e) for e in h2 if is_grpc_stream(e))
    wrong = diff_counters(Counter(), as_http - Counter(s.h2_key for s in rec.oracle.grpc), "gRPC streams as HTTP/2")
    problems += [wrong] if wrong else []
    assert not problems, "--protocols http:\n" + "\n".join(problems)


def test_protocols_grpc_alone(rec):
    """HTTP off, gRPC on: HTTP/2 connections are still followed for their gRPC calls only."""
    res = view(rec.pcap, "--protocols", "grpc")
    assert_ok(res)
    assert_equal(rec.oracle, res.entries, "--protocols grpc", protocols=("grpc",))


def is_grpc_stream(e):
    """An HTTP entry for a gRPC call (what a stream of a gRPC connection may become when gRPC is off)."""
    return (e.get("dst") or {}).get("port") in GRPC_PORTS


def test_redaction_of_http2_and_grpc_credentials(rec):
    res = view(rec.pcap)
    assert_ok(res)
    h2, _, grpc, _, _ = split(res.entries)
    auth = [v for e in h2 for k, v in e["request"].get("headers") or [] if k.lower() == "authorization"]
    meta = [v for e in grpc for k, v in e["request"].get("metadata") or [] if k.lower() == GRPC_SECRET_KEY]
    want_auth = sum(1 for s in rec.oracle.h2 for k, _ in s.req_headers if k == "authorization")
    want_meta = sum(1 for s in rec.oracle.grpc for k, _ in s.req_headers if k == GRPC_SECRET_KEY)
    assert len(auth) == want_auth and set(auth) == {REDACTED}, f"authorization values {Counter(auth)} (want {want_auth})"
    assert len(meta) == want_meta and set(meta) == {REDACTED}, f"{GRPC_SECRET_KEY} values {Counter(meta)} (want {want_meta})"
    for secret in (H2_SECRET.split()[-1],) + GRPC_SECRET_VALUES:
        assert secret not in res.stdout, f"{secret!r} appears in the redacted output"
    raw = view(rec.pcap, "--no-redact")
    assert_ok(raw)
    h2, _, grpc, _, _ = split(raw.entries)
    auth = Counter(v for e in h2 for k, v in e["request"].get("headers") or [] if k.lower() == "authorization")
    meta = Counter(v for e in grpc for k, v in e["request"].get("metadata") or [] if k.lower() == GRPC_SECRET_KEY)
    assert auth == Counter({H2_SECRET: want_auth}), auth
    assert meta == Counter({"grpc-secret-token-1": want_meta}), meta
