"""The dashboard modes end to end, with real processes and real traffic, tshark as the oracle.

- `kubectl-shark local -i <bridge> --no-browser --port 0` (no --output) serves the hub API: its
  entries equal the oracle of a tcpdump recording made at the same time; an entry's pcap export
  holds exactly that connection's packets; the token is required; a `q=dns` stream carries only
  DNS rows; SIGINT and SIGTERM stop it with exit 0.
- Filter push-down measured end to end: while a `q=dns` stream is open, the agent leaves the HTTP
  entries out (health `filtered_out`), and they never reach the hub.
- The cluster's split across processes: `node-agent --listen` + `hub-lite --agent`; the agent is
  killed with SIGKILL and restarted while traffic continues (the hub reconnects to a new run,
  stores nothing twice); two agents on two interfaces merge into one hub.
- `view FILE --output har` equals tshark's HTTP requests (method, full URI, status).
- Redaction of credential headers in the hub, in its HAR and in `view --output har`, and
  `--no-redact`.

Reference captures are made on the server pod's veth without promiscuous mode (as in
test_live.py): all test traffic involves the server, and the reference does not put the bridge in
promiscuous mode for the process under test. DNS probes (`probe-*.shk.test`) show that a capture is
running and that everything before them has arrived; they are left out of every comparison.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from capture import Tcpdump, record_on_bridge, require_shark, shark_bin
from checks import assert_equals_oracle, assert_oracle_matches_expectations, assert_schema
from hubapi import Hub, WsRefused, wait_for
from oracle import SEP, canon_ip, entry_http_key, oracle_for, tshark
from topology import ZONE
from traffic import CURL, Expect, H, curl, dig, run_scenarios, run_small_mix, u4

PROBE = "probe-"
SECRET = "s3cret"
ARRIVE = 60          # generous wait (s) for entries to reach the hub
STOP_WITHIN = 10     # the CLI must exit this many seconds after SIGINT / SIGTERM


# ---- processes ------------------------------------------------------------------------------------

def sibling_bin(name: str, env: str) -> str:
    """node-agent and hub-lite: $NODE_AGENT_BIN / $HUB_LITE_BIN, else next to kubectl-shark."""
    b = os.environ.get(env) or str(Path(shark_bin()).parent / name)
    assert os.path.isfile(b) and os.access(b, os.X_OK), (
        f"{name} not found or not executable at {b} (build with `cargo build --release --workspace` or set {env})")
    return b


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A long-running process in the root namespace, stdout and stderr into one log file. The
    topology records it, so it is killed at teardown even when a test fails."""

    def __init__(self, topo, args, log: Path):
        self.topo, self.args, self.log = topo, [str(a) for a in args], Path(log)
        self.proc = None
        self.rc = None

    def start(self):
        self._fh = open(self.log, "wb")
        self.proc = self.topo.popen(None, self.args, stdout=self._fh, stderr=subprocess.STDOUT)
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_output(self, regex: str, timeout=30) -> re.Match:
        def found():
            m = re.search(regex, self.output())
            if m is None and not self.alive():
                raise AssertionError(f"`{' '.join(self.args)}` exited ({self.proc.returncode}) before "
                                     f"printing /{regex}/:\n{self.output()[-3000:]}")
            return m
        return wait_for(found, timeout, f"/{regex}/ from `{' '.join(self.args)}`", interval=0.1)

    def stop(self, sig=signal.SIGINT, timeout=STOP_WITHIN) -> int:
        """Sends `sig` and waits; fails when the process is not gone within `timeout` s."""
        if self.proc is None:
            return self.rc
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
            try:
                self.rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.rc = self.proc.wait(10)
                raise AssertionError(f"`{' '.join(self.args)}` did not exit within {timeout}s of {sig!r}:\n"
                                     f"{self.output()[-2000:]}") from None
        finally:
            self.topo.forget(self.proc)
            self._fh.close()
        self.proc = None
        return self.rc

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.rc = self.proc.wait(10)
        self.topo.forget(self.proc)
        self._fh.close()
        self.proc = None


class LocalDashboard(Proc):
    """`kubectl-shark local -i IFACE --no-browser --port 0` without --output: the dashboard mode."""

    def __init__(self, topo, workdir: Path, name: str, ifaces, extra=()):
        args = [require_shark(), "local"]
        for i in ifaces:
            args += ["-i", i]
        args += ["--no-browser", "--port", "0", "--storage-dir", workdir / f"{name}-ring", *extra]
        super().__init__(topo, args, workdir / f"{name}.log")
        self.hub = None

    def start(self):
        super().start()
        m = self.wait_output(r"kubectl-shark: dashboard at (http://127\.0\.0\.1:\d+/\?token=\S+)")
        self.hub = Hub.from_dashboard_url(m.group(1))
        return self


def node_agent(topo, workdir, name, port, token_file, ifaces) -> Proc:
    args = [sibling_bin("node-agent", "NODE_AGENT_BIN"), "--listen", f"127.0.0.1:{port}", "--token-file", token_file,
            "--source-id", name, "--storage-dir", workdir / f"{name}-ring", "--storage-limit", "50000000"]
    for i in ifaces:
        args += ["-i", i]
    p = Proc(topo, args, workdir / f"{name}-{time.time_ns()}.log").start()
    p.wait_output(r"node-agent: serving hubs on")
    return p


def hub_lite(topo, workdir, port, token_file, agents: dict, agent_token_file) -> tuple[Proc, Hub]:
    args = [sibling_bin("hub-lite", "HUB_LITE_BIN"), "--listen", f"127.0.0.1:{port}", "--token-file", token_file,
            "--agent-token-file", agent_token_file]
    for name, url in agents.items():
        args += ["--agent", f"{name}={url}"]
    p = Proc(topo, args, workdir / f"hub-{port}.log").start()
    p.wait_output(r"hub-lite: serving on")
    return p, Hub(f"http://127.0.0.1:{port}", Path(token_file).read_text().strip())


def token_file(workdir: Path, name: str) -> Path:
    f = workdir / f"{name}.token"
    f.write_text(secrets.token_urlsafe(32) + "\n")
    os.chmod(f, 0o600)
    return f


# ---- probes, arrival, comparison ---------------------------------------------------------------

class Prober:
    """DNS probes (NXDOMAIN names) that show a capture runs and everything before them arrived."""

    def __init__(self, topo, tag):
        self.topo, self.tag, self.n = topo, tag, 0

    def send(self, pod="cli") -> str:
        self.n += 1
        name = f"{PROBE}{self.tag}-{self.n}.{ZONE}"
        self.topo.exec(pod, ["dig", f"@{self.topo.srv.ip4}", "+tries=1", "+time=2", name, "A"], check=False)
        return name

    def until_seen(self, hub: Hub, pod="cli", timeout=ARRIVE) -> tuple[float, float]:
        """Probes until one arrives in the hub; returns when the arriving probe was sent and when
        it was seen in the hub."""
        deadline = time.time() + timeout
        while True:
            sent_at = time.time()
            name = self.send(pod)
            for _ in range(8):
                if any(name in r.get("summary", "") for r in hub.rows("dns")):
                    return sent_at, time.time()
                time.sleep(0.25)
            if time.time() > deadline:
                raise AssertionError(f"no probe from {pod} arrived in the hub within {timeout}s "
                                     f"(health: {json.dumps(hub.health())[:1500]})")


def is_probe_row(r) -> bool:
    return r.get("protocol") == "dns" and PROBE in r.get("summary", "")


def no_probe_dns_key(k) -> bool:
    return not str(k[6]).startswith(PROBE)


def no_probe_oracle(x) -> bool:
    return not getattr(x, "qname", "").startswith(PROBE)


def row_http_key(r):
    st = r.get("status")
    return (canon_ip(r["src"]["ip"]), r["src"]["port"], canon_ip(r["dst"]["ip"]), r["dst"]["port"], r.get("method"),
            r.get("path"), int(st) if st and st.isdigit() else None)


def wait_all_arrived(hub: Hub, oracle, keep_http=lambda k: True, keep_oracle_http=lambda x: True,
                     timeout=ARRIVE) -> list:
    """Polls the hub's rows until every HTTP exchange of the oracle is there and at least as many
    DNS rows (probes left out); returns the full entries of all rows."""
    want_h = Counter(x.key for x in oracle.http if keep_oracle_http(x))
    want_d = sum(1 for x in oracle.dns if no_probe_oracle(x))

    def arrived():
        rows = hub.rows()
        got_h = Counter(row_http_key(r) for r in rows if r.get("protocol") == "http")
        got_d = sum(1 for r in rows if r.get("protocol") == "dns" and not is_probe_row(r))
        return rows if not (want_h - got_h) and got_d >= want_d else None
    try:
        rows = wait_for(arrived, timeout, "the oracle's exchanges in the hub", interval=0.5)
    except AssertionError:
        rows = hub.rows()   # compare what is there: the message says what is missing
    entries = hub.full_entries(rows)
    check_rows_match_entries(rows, entries)
    return entries


def check_rows_match_entries(rows, entries):
    """A row is its entry without request/response/notes, plus seq (docs/api.md, Rows)."""
    bad = []
    for r, e in zip(rows, entries):
        for k, v in r.items():
            if k in ("method", "path"):
                want = (e.get("request") or {}).get(k)
            else:
                want = e.get(k)
            if v != want:
                bad.append((r["id"], k, v, want))
        for k in ("request", "response", "notes"):
            if k in r:
                bad.append((r["id"], k, "in a row", None))
    assert not bad, f"rows differ from their entries: {bad[:10]}"


def assert_hub_equals_oracle(oracle, entries, what, **filters):
    filters.setdefault("keep_dns", no_probe_dns_key)
    filters.setdefault("keep_oracle_dns", no_probe_oracle)
    assert_equals_oracle(oracle, entries, what, **filters)
    assert_schema(entries)


def tcp_packets(pcap, display_filter=None) -> Counter:
    """The TCP packets of a capture as (src, dst, seq, ack, flags, len), raw sequence numbers."""
    args = ["-T", "fields", "-E", f"separator={SEP}"]
    for f in ("ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw",
              "tcp.flags", "tcp.len"):
        args += ["-e", f]
    out = tshark(pcap, "-Y", display_filter or "tcp", *args)
    c = Counter()
    for line in out.split("\n"):
        f = line.split(SEP)
        if len(f) < 10 or not f[2]:
            continue
        c[((canon_ip(f[0] or f[1]), int(f[2])), (canon_ip(f[3] or f[4]), int(f[5])), int(f[6]), int(f[7]),
           f[8], int(f[9]))] += 1
    return c


def conn_filter(a, b) -> str:
    fam = "ipv6" if ":" in a[0] else "ip"
    return (f"tcp && {fam}.addr == {a[0]} && {fam}.addr == {b[0]} && tcp.port == {a[1]} && tcp.port == {b[1]}")


def stop_all(*procs):
    for p in procs:
        if p is not None and p.alive():
            p.stop(signal.SIGKILL)


# ---- 1. local: the dashboard mode ------------------------------------------------------------------

DASH_SCENARIOS = ["keepalive", "pipeline", "gzip", "head", "cond_304", "no_content_204", "ipv6", "http10",
                  "dns_udp", "dns_tcp", "dns_v6"]
PCAP_PATH = "/misc/big.txt?pcap=1"


def test_local_dashboard_equals_oracle_pcap_auth_stream_sigint(topology, workdir):
    ref = Tcpdump(topology, topology.srv.host_if, workdir / "dash.pcap", promisc=False).start()
    dash = LocalDashboard(topology, workdir, "dash", [topology.bridge])
    try:
        dash.start()
        hub = dash.hub
        probes = Prober(topology, "dash")
        probes.until_seen(hub)
        expects = run_scenarios(topology, DASH_SCENARIOS)
        # one connection of ~300 kB on its own, for the pcap export
        curl(topology, "cli", [u4(topology, PCAP_PATH)], expect_codes=[200])
        expects.append(H("misc", "GET", PCAP_PATH, 200))
        ref.barrier()
        probes.until_seen(hub)
        ref.stop()
        ref.assert_clean()
        oracle = oracle_for(ref.out)
        assert_oracle_matches_expectations(oracle, expects, keep_dns=no_probe_oracle)
        entries = wait_all_arrived(hub, oracle)
        assert_hub_equals_oracle(oracle, entries, "entries of `local` in the hub (/api/v1/entries)")
        print(f"local dashboard: {len(oracle.http)} HTTP and {len(oracle.dns)} DNS exchanges (probes included) "
              f"== the hub's {len(entries)} entries")
        session = hub.get_json("/api/v1/session")
        assert session["mode"] == "local" and session["redact"] is True, session

        check_entry_pcap(hub, entries, ref.out, workdir)
        check_token_required(hub)
        check_dns_stream(topology, hub, probes)
    finally:
        if ref.proc is not None:
            ref.stop(barrier=False)
        t0 = time.time()
        rc = dash.stop(signal.SIGINT) if dash.alive() else None
    assert rc == 0, f"exit {rc} after SIGINT:\n{dash.output()[-2000:]}"
    print(f"local dashboard stopped {time.time() - t0:.2f}s after SIGINT")


def check_entry_pcap(hub: Hub, entries, ref_pcap: Path, workdir: Path):
    """/api/v1/entries/{id}/pcap holds exactly the packets of the entry's connection that the
    reference recording has (the connection lived well inside the export's ±1 s window)."""
    [e] = [e for e in entries if (e.get("request") or {}).get("path") == PCAP_PATH]
    a = (e["src"]["ip"], e["src"]["port"])
    b = (e["dst"]["ip"], e["dst"]["port"])
    want = tcp_packets(ref_pcap, conn_filter(a, b))
    assert sum(want.values()) > 20, f"the reference has only {sum(want.values())} packets of {a} <-> {b}"
    out = workdir / "entry-export.pcapng"

    def exported():
        status, headers, body = hub.entry_raw(e["id"], "/pcap")
        assert status in (200, 404), f"pcap export: {status} {body[:300]!r}"
        if status != 200:
            return None
        out.write_bytes(body)
        got = tcp_packets(out)
        # the agent reads its ring as on disk: the last half second may still be in flight
        return (headers, got) if sum(got.values()) >= sum(want.values()) else None
    headers, got = wait_for(exported, 30, f"the packets of {e['id']} in its pcap export", interval=1)
    assert headers.get("content-type", "").startswith("application/vnd.tcpdump.pcap"), headers
    res = subprocess.run(["tshark", "-r", str(out), "-q"], capture_output=True, text=True)
    assert res.returncode == 0, f"tshark cannot read the export: {res.stderr}"
    print(f"pcap export of {e['id']}: {sum(got.values())} packets, reference {sum(want.values())}")
    missing, extra = want - got, got - want
    assert not missing and not extra, (f"export of {e['id']} ({a} <-> {b}) differs from the reference: "
                                       f"{sum(missing.values())} missing e.g. {list(missing)[:3]}, "
                                       f"{sum(extra.values())} extra e.g. {list(extra)[:3]}")


def check_token_required(hub: Hub):
    for token in (None, "wrong-" + hub.token):
        for path in ("/api/v1/entries", "/api/v1/health", "/api/v1/session"):
            status, _, body = hub.request(path, token=token)
            assert status == 401, f"GET {path} with token {token!r} -> {status}"
            assert "error" in json.loads(body), body
        with pytest.raises(WsRefused) as refused:
            hub.stream({"q": "dns"}, token=token).close()
        assert refused.value.status == 401, refused.value
    # the URL as printed (?token=) works too, and sets the cookie
    status, headers, _ = hub.request("/api/v1/session", {"token": hub.token}, token=None)
    assert status == 200 and "shark_token=" in headers.get("set-cookie", ""), (status, headers)


def check_dns_stream(topo, hub: Hub, probes: Prober):
    """A `q=dns` stream replays the stored DNS rows and then carries new DNS rows only, while new
    HTTP traffic flows too."""
    stored_dns = {r["id"] for r in hub.rows("dns")}
    with pytest.raises(WsRefused) as bad:
        hub.stream({"q": "dns and ==", "replay": 10}).close()
    assert bad.value.status == 400, bad.value
    with hub.stream({"q": "dns", "replay": 100000}) as ws:
        got = ws.messages_until(lambda ms: stored_dns <= {r["id"] for m in ms if m.get("type") == "entries"
                                                          for r in m["entries"]},
                                ARRIVE, "the replay of the stored DNS rows")
        names = [f"ws-{topo.run_id}-{i}.{ZONE}" for i in range(5)]
        dig(topo, "cli", topo.srv.ip4, [(n, "A", "NXDOMAIN") for n in names])
        curl(topo, "cli", [u4(topo, f"/misc/small.txt?ws={i}") for i in range(5)], expect_codes=[200] * 5)
        dig(topo, "cli2", topo.srv.ip4, [(f"late-{n}", "A", "NXDOMAIN") for n in names[:1]])

        def all_new(ms):
            summaries = " ".join(r.get("summary", "") for m in ms if m.get("type") == "entries" for r in m["entries"])
            return all(n in summaries for n in names + [f"late-{names[0]}"])
        got += ws.messages_until(all_new, ARRIVE, "the new DNS rows on the stream")
    rows = [r for m in got if m.get("type") == "entries" for r in m["entries"]]
    filt = [m for m in got if m.get("type") == "filter"]
    assert filt and filt[0].get("ok") is True and filt[0].get("q") == "dns", f"filter acknowledgement: {filt}"
    assert [m for m in got if m.get("type") == "error"] == [], got
    not_dns = [r for r in rows if r.get("protocol") != "dns"]
    assert not not_dns, f"{len(not_dns)} non-DNS rows on a q=dns stream, e.g. {not_dns[:2]}"
    ids = Counter(r["id"] for r in rows)
    assert max(ids.values()) == 1, f"rows sent twice: {[i for i, n in ids.items() if n > 1][:5]}"
    # (what the agent did with the HTTP exchanges meanwhile is measured in the push-down test)


def test_local_dashboard_sigterm_exits_0(topology, workdir):
    dash = LocalDashboard(topology, workdir, "term", [topology.bridge])
    try:
        dash.start()
        Prober(topology, "term").until_seen(dash.hub)
        t0 = time.time()
        rc = dash.stop(signal.SIGTERM)
        took = time.time() - t0
    finally:
        stop_all(dash)
    assert rc == 0, f"exit {rc} after SIGTERM:\n{dash.output()[-2000:]}"
    print(f"local dashboard stopped {took:.2f}s after SIGTERM")


# ---- 2. push-down ----------------------------------------------------------------------------

PUSHDOWN_HTTP = 60


def test_pushdown_dns_stream_keeps_http_on_the_agent(topology, workdir):
    ref = Tcpdump(topology, topology.srv.host_if, workdir / "pushdown.pcap", promisc=False)
    dash = LocalDashboard(topology, workdir, "pushdown", [topology.bridge])
    try:
        dash.start()
        hub = dash.hub
        probes = Prober(topology, "push")
        probes.until_seen(hub)
        # before any stream: no filter, HTTP reaches the hub
        curl(topology, "cli", [u4(topology, "/misc/small.txt?before=1")], expect_codes=[200])
        wait_for(lambda: any(r.get("path") == "/misc/small.txt?before=1" for r in hub.rows("http")), ARRIVE,
                 "an HTTP entry before the stream")
        with hub.stream({"q": "dns", "replay": 0}) as ws:
            wait_for(lambda: hub.health()["agents"][0]["filter"] == "dns", ARRIVE,
                     "the agent acknowledging the pushed-down filter `dns`")
            probes.until_seen(hub)  # everything produced before now is counted in the baseline
            base = wait_stats_settled(hub)
            ref.start()
            paths = [f"/misc/small.txt?push={i}" for i in range(PUSHDOWN_HTTP)]
            curl(topology, "cli", [u4(topology, p) for p in paths], expect_codes=[200] * len(paths))
            curl(topology, "cli2", [u4(topology, "/misc/a.txt?push=cli2")], expect_codes=[200])
            qs = [(f"push-{topology.run_id}-{i}.{ZONE}", "A", "NXDOMAIN") for i in range(7)]
            dig(topology, "cli2", topology.srv.ip4, qs)
            ref.barrier()
            last_probe = probes.send()
            ref.stop()
            ref.assert_clean()
            oracle = oracle_for(ref.out)
            n_http = len(oracle.http)
            n_dns = len(oracle.dns)     # the 7 queries and the last probe
            assert n_http == PUSHDOWN_HTTP + 1 and n_dns == len(qs) + 1, \
                f"the oracle sees {n_http} HTTP and {n_dns} DNS exchanges ({oracle.quirks})"
            streamed = ws.messages_until(
                lambda ms: any(last_probe in r.get("summary", "") for m in ms if m.get("type") == "entries"
                               for r in m["entries"]), ARRIVE, "the last probe on the stream")
            after = wait_for(lambda: (lambda a: a if (a["filtered_out"] - base["filtered_out"] >= n_http
                                                       and a["sent"] - base["sent"] >= n_dns) else None)(
                hub.health()["agents"][0]), ARRIVE, "the agent's stats counting the exchanges")
        sent = after["sent"] - base["sent"]
        filtered = after["filtered_out"] - base["filtered_out"]
        numbers = {"http_on_wire": n_http, "dns_on_wire": n_dns, "agent_sent": sent, "agent_filtered_out": filtered,
                   "health_before": {k: base[k] for k in ("sent", "filtered_out", "entries", "filter")},
                   "health_after": {k: after[k] for k in ("sent", "filtered_out", "entries", "filter")}}
        (workdir / "pushdown-numbers.json").write_text(json.dumps(numbers, indent=1))
        print("push-down numbers:", json.dumps(numbers))
        assert filtered == n_http, f"the agent left out {filtered} entries, the wire had {n_http} HTTP: {numbers}"
        assert sent == n_dns, f"the agent sent {sent} entries, the wire had {n_dns} DNS: {numbers}"
        rows = [r for m in streamed if m.get("type") == "entries" for r in m["entries"]]
        assert all(r.get("protocol") == "dns" for r in rows), rows[:3]
        stored_push = [r for r in hub.rows("http") if "push=" in (r.get("path") or "")]
        assert not stored_push, f"HTTP entries reached the hub despite the push-down: {stored_push[:3]}"
        assert any(r.get("path") == "/misc/small.txt?before=1" for r in hub.rows("http"))
    finally:
        if ref.proc is not None:
            ref.stop(barrier=False)
        rc = dash.stop(signal.SIGINT) if dash.alive() else None
    assert rc == 0, f"exit {rc} after SIGINT:\n{dash.output()[-2000:]}"


def wait_stats_settled(hub: Hub) -> dict:
    """The agent's health once two consecutive reads (stats come every second) agree."""
    prev = [None]

    def same():
        a = hub.health()["agents"][0]
        key = (a["sent"], a["filtered_out"], a["entries"])
        ok = prev[0] == key
        prev[0] = key
        return a if ok else None
    return wait_for(same, ARRIVE, "the agent's counters to settle", interval=1.5)


# ---- 3. node-agent + hub-lite across processes ---------------------------------------------------

class Background(threading.Thread):
    """One short HTTP connection after another from cli2 until stopped; records when each ran."""

    def __init__(self, topo):
        super().__init__(daemon=True)
        self.topo, self.done, self.halt = topo, [], threading.Event()

    def run(self):
        i = 0
        while not self.halt.is_set():
            path = f"/misc/small.txt?bg={i}"
            t0 = time.time()
            res = self.topo.exec("cli2", CURL + ["-o", "/dev/null", u4(self.topo, path)], check=False, timeout=60)
            self.done.append((path, t0, time.time(), res.returncode == 0 and res.stdout.strip() == "200"))
            i += 1
            self.halt.wait(0.15)

    def stop(self):
        self.halt.set()
        self.join(90)


ID_RE = re.compile(r"^(?P<agent>[^.]+)\.(?P<run>[a-z0-9]+)-(?P<n>\d+)$")


def test_hub_lite_reconnects_after_node_agent_sigkill(topology, workdir):
    ftok, htok = token_file(workdir, "link"), token_file(workdir, "hub")
    p1, p2 = free_port(), free_port()
    ref = Tcpdump(topology, topology.srv.host_if, workdir / "restart.pcap", promisc=False).start()
    agent = hub = bg = None
    try:
        agent = node_agent(topology, workdir, "n1", p1, ftok, [topology.bridge])
        hub, api = hub_lite(topology, workdir, p2, htok, {"n1": f"ws://127.0.0.1:{p1}/link/v1"}, ftok)
        wait_for(lambda: all(a["connected"] for a in api.health()["agents"]), ARRIVE, "the hub connected to n1")
        probes = Prober(topology, "restart")
        probes.until_seen(api)
        bg = Background(topology)
        bg.start()
        expects = run_small_mix(topology)
        settled1, _ = probes.until_seen(api)   # everything finished before this is in the hub
        agent.kill9()
        killed_at = time.time()
        time.sleep(1.0)                      # traffic continues while no agent runs
        agent = node_agent(topology, workdir, "n1", p1, ftok, [topology.bridge])
        wait_for(lambda: (lambda a: a["connected"] and a["reconnects"] >= 1)(api.health()["agents"][0]), ARRIVE,
                 "the hub reconnected to the restarted agent")
        _, ready2 = probes.until_seen(api)     # the new run captures from here on
        phase3 = [f"/live/a.txt?phase=3&i={i}" for i in range(4)]
        curl(topology, "cli", [u4(topology, p) for p in phase3], expect_codes=[200] * 4)
        qs = [(f"after-{topology.run_id}-{i}.{ZONE}", "A", "NXDOMAIN") for i in range(3)]
        dig(topology, "cli", topology.srv.ip4, qs)
        expects += [Expect("after", "dns", qname=n, qtype=t, rcode=r, transport="udp") for n, t, r in qs]
        time.sleep(1.0)
        bg.stop()
        ref.barrier()
        probes.until_seen(api)
        ref.stop()
        ref.assert_clean()
        oracle = oracle_for(ref.out)
        expects += [H("live", "GET", p, 200) for p in phase3]
        assert_oracle_matches_expectations(oracle, expects + [H("bg", "GET", p, 200) for p, *_ in bg.done],
                                           keep_dns=no_probe_oracle)
        # bg requests that ran between the last sure arrival before the kill and the new run's
        # first probe may be lost (the agent's buffer died with it, or nobody captured them).
        unsure = {p for p, t0, t1, _ in bg.done if t1 >= settled1 and t0 <= ready2}
        sure_bg = [p for p, t0, t1, _ in bg.done if p not in unsure]
        assert sure_bg and any(t0 > ready2 for _, t0, _, _ in bg.done), \
            f"background traffic did not run on both sides of the restart: {bg.done[:5]}..."
        entries = wait_all_arrived(api, oracle, keep_oracle_http=lambda x: x.path not in unsure)
        assert_hub_equals_oracle(oracle, entries, "hub-lite entries across a node-agent SIGKILL + restart",
                                 keep_http=lambda k: k[5] not in unsure,
                                 keep_oracle_http=lambda x: x.path not in unsure)
        # whatever arrived of the unsure window is real and stored once
        oracle_unsure = Counter(x.key for x in oracle.http if x.path in unsure)
        got_unsure = Counter(entry_http_key(e) for e in entries if (e.get("request") or {}).get("path") in unsure)
        assert not (got_unsure - oracle_unsure), f"unsure-window entries not on the wire or twice: {got_unsure}"
        ids = Counter(e["id"] for e in entries)
        assert max(ids.values()) == 1, f"ids stored twice: {[i for i, n in ids.items() if n > 1]}"
        runs = {}
        for e in entries:
            m = ID_RE.match(e["id"])
            assert m and m["agent"] == "n1", f"entry id {e['id']!r} is not n1.<run>-<n>"
            runs.setdefault(m["run"], []).append(e)
        assert len(runs) == 2, f"expected entries of two runs of n1, got {list(runs)}"
        paths_of_run = {r: {(e.get("request") or {}).get("path") for e in v} for r, v in runs.items()}
        [old] = [r for r, ps in paths_of_run.items() if "/live/a.txt" in ps]     # run_small_mix, before the kill
        [new] = [r for r in runs if r != old]
        assert set(phase3) <= paths_of_run[new], f"phase-3 requests not from the new run: {paths_of_run}"
        assert not (set(phase3) & paths_of_run[old])
        print(f"restart: {len(bg.done)} background requests, {len(unsure)} in the unsure window "
              f"({sum(got_unsure.values())} of them arrived) "
              f"({killed_at - settled1:.1f}s before to {ready2 - killed_at:.1f}s after the kill), "
              f"entries per run: { {r: len(v) for r, v in runs.items()} }")
        health = api.health()["agents"][0]
        assert health["connected"] and health["reconnects"] >= 1, health
        assert hub.stop(signal.SIGTERM) == 0, hub.output()[-2000:]
        assert agent.stop(signal.SIGINT) == 0, agent.output()[-2000:]
    finally:
        if bg is not None and bg.is_alive():
            bg.stop()
        if ref.proc is not None:
            ref.stop(barrier=False)
        stop_all(agent, hub)


def test_hub_lite_merges_two_node_agents(topology, workdir):
    """n1 captures on cli's veth, n2 on cli2's: each sees only its pod's traffic, and the hub holds
    exactly the reference's exchanges, each from the agent of its client."""
    ftok, htok = token_file(workdir, "link2"), token_file(workdir, "hub2")
    pa, pb, ph = free_port(), free_port(), free_port()
    cli, cli2 = topology.pods["cli"], topology.pods["cli2"]
    ref = Tcpdump(topology, topology.srv.host_if, workdir / "two.pcap", promisc=False).start()
    a = b = hub = None
    try:
        a = node_agent(topology, workdir, "n1", pa, ftok, [cli.host_if])
        b = node_agent(topology, workdir, "n2", pb, ftok, [cli2.host_if])
        hub, api = hub_lite(topology, workdir, ph, htok, {"n1": f"ws://127.0.0.1:{pa}/link/v1",
                                                          "n2": f"ws://127.0.0.1:{pb}/link/v1"}, ftok)
        wait_for(lambda: [x["connected"] for x in api.health()["agents"]] == [True, True], ARRIVE,
                 "the hub connected to both agents")
        probes = Prober(topology, "two")
        probes.until_seen(api, "cli")
        probes.until_seen(api, "cli2")
        expects = run_scenarios(topology, ["keepalive", "chunked_resp", "dns_udp", "dns_tcp"])
        secret_path = "/misc/small.txt?secret=hub-lite"
        secret_request(topology, secret_path)     # the agents redact for hub-lite too
        expects.append(H("misc", "GET", secret_path, 200))
        ref.barrier()
        probes.until_seen(api, "cli")
        probes.until_seen(api, "cli2")
        ref.stop()
        ref.assert_clean()
        oracle = oracle_for(ref.out)
        assert_oracle_matches_expectations(oracle, expects, keep_dns=no_probe_oracle)
        entries = wait_all_arrived(api, oracle)
        assert_hub_equals_oracle(oracle, entries, "hub-lite entries merged from two node-agents")
        by_agent = Counter()
        wrong = []
        for e in entries:
            client = canon_ip(e["src"]["ip"])
            want = "n1." if client in (cli.ip4, canon_ip(cli.ip6)) else "n2." if client in (
                cli2.ip4, canon_ip(cli2.ip6)) else None
            if want is None or not e["id"].startswith(want):
                wrong.append((e["id"], client, e["summary"]))
            by_agent[e["id"].split(".")[0]] += 1
        assert not wrong, f"entries attributed to the wrong agent: {wrong[:5]}"
        assert by_agent["n1"] > 0 and by_agent["n2"] > 0, by_agent
        [sec] = [e for e in entries if (e.get("request") or {}).get("path") == secret_path]
        h = headers_of(sec)
        assert h.get("authorization") == "[REDACTED]" and h.get("cookie") == "[REDACTED]", h
        assert SECRET.encode() not in api.entry_raw(sec["id"])[2] + api.request("/api/v1/har")[2]
        assert SECRET.encode() in ref.out.read_bytes(), "the secret must be on the wire"
        names = sorted(x["name"] for x in api.health()["agents"])
        assert names == ["n1", "n2"], names
        print(f"two agents: entries per agent {dict(by_agent)}")
    finally:
        if ref.proc is not None:
            ref.stop(barrier=False)
        stop_all(a, b, hub)


# ---- 4. view --output har ------------------------------------------------------------------------

HAR_SCENARIOS = ["keepalive", "chunked_resp", "gzip", "head", "cond_304", "no_content_204", "ipv6", "http10"]


def full_uris(pcap) -> dict:
    """{(frame, method, uri): full URI} of every HTTP request tshark sees (Host header + target)."""
    out = tshark(pcap, "-Y", "http.request", "-T", "fields", "-E", f"separator={SEP}", "-E", "occurrence=a",
                 "-E", "aggregator=\x1e", "-e", "frame.number", "-e", "http.request.method", "-e", "http.request.uri",
                 "-e", "http.request.full_uri")
    m = {}
    for line in out.split("\n"):
        f = line.split(SEP)
        if len(f) < 4 or not f[0]:
            continue
        for meth, uri, full in zip(f[1].split("\x1e"), f[2].split("\x1e"), f[3].split("\x1e")):
            m[(int(f[0]), meth, uri)] = full
    return m


def view_har(pcap, *extra):
    p = subprocess.run([require_shark(), "view", str(pcap), "--output", "har", *extra], capture_output=True,
                       timeout=600)
    assert p.returncode == 0, f"view --output har: exit {p.returncode}\n{p.stderr.decode(errors='replace')}"
    return p.stdout, json.loads(p.stdout)


def test_view_har_equals_tshark_requests(topology, workdir):
    pcap = workdir / "har.pcap"
    expects, _ = record_on_bridge(topology, pcap, lambda t: run_scenarios(t, HAR_SCENARIOS))
    oracle = oracle_for(pcap)
    assert_oracle_matches_expectations(oracle, expects)
    uris = full_uris(pcap)
    want = Counter()
    for x in oracle.http:
        full = uris.get((x.req_frame, x.method, x.path))
        assert full, f"tshark has no full URI for frame {x.req_frame} {x.method} {x.path}"
        want[(x.method, full, x.status, f"{x.client[0]}:{x.client[1]}")] += 1
    assert sum(want.values()) == len([e for e in expects if e.proto == "http"]) > 30, want
    _, har = view_har(pcap)
    log = har["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "kubectl-shark", {k: log[k] for k in log
                                                                                      if k != "entries"}
    got = Counter()
    for h in log["entries"]:
        src = h["_kubectl_shark"]["src"]
        client = f"{canon_ip(src['ip'])}:{src['port']}"
        got[(h["request"]["method"], h["request"]["url"], h["response"]["status"], client)] += 1
        assert h["time"] >= 0 and h["startedDateTime"], h
    print(f"HAR: {sum(got.values())} entries, e.g. {sorted(got)[:2]}")
    missing, extra = want - got, got - want
    assert not missing and not extra, (f"HAR differs from tshark's requests: {sum(missing.values())} missing "
                                       f"{sorted(missing)[:8]}, {sum(extra.values())} unexpected {sorted(extra)[:8]}")


# ---- 5. redaction ------------------------------------------------------------------------------

SECRET_HEADERS = ["-H", f"Authorization: Bearer {SECRET}", "-H", "Cookie: a=b"]


def secret_request(topo, path):
    curl(topo, "cli", [u4(topo, path)], extra=SECRET_HEADERS, expect_codes=[200])


def headers_of(entry):
    return {k.lower(): v for k, v in (entry.get("request") or {}).get("headers") or []}


def test_redaction_in_hub_har_and_view(topology, workdir):
    ref = Tcpdump(topology, topology.srv.host_if, workdir / "redact.pcap", promisc=False).start()
    dash = LocalDashboard(topology, workdir, "redact", [topology.bridge])
    path = "/misc/small.txt?secret=1"
    try:
        dash.start()
        hub = dash.hub
        Prober(topology, "redact").until_seen(hub)
        secret_request(topology, path)
        ref.barrier()
        ref.stop()
        assert SECRET.encode() in ref.out.read_bytes(), "the secret must be on the wire (reference capture)"
        [row] = wait_for(lambda: [r for r in hub.rows("http") if r.get("path") == path], ARRIVE, "the secret request")
        status, _, raw = hub.entry_raw(row["id"])
        assert status == 200
        assert SECRET.encode() not in raw, f"the secret is in /api/v1/entries/{row['id']}: {raw[:2000]!r}"
        h = headers_of(json.loads(raw))
        assert h.get("authorization") == "[REDACTED]" and h.get("cookie") == "[REDACTED]", h
        status, _, har = hub.request("/api/v1/har", {"q": 'request.path contains "secret"'})
        assert status == 200 and SECRET.encode() not in har and b"[REDACTED]" in har, har[:2000]
        assert len(json.loads(har)["log"]["entries"]) == 1
        assert SECRET.encode() not in hub.request("/api/v1/entries")[2]
    finally:
        if ref.proc is not None:
            ref.stop(barrier=False)
        rc = dash.stop(signal.SIGINT) if dash.alive() else None
    assert rc == 0, f"exit {rc} after SIGINT:\n{dash.output()[-2000:]}"
    raw, har = view_har(ref.out)
    assert SECRET.encode() not in raw, "the secret is in `view --output har`"
    [e] = [x for x in har["log"]["entries"] if "secret=1" in x["request"]["url"]]
    hh = {x["name"].lower(): x["value"] for x in e["request"]["headers"]}
    assert hh.get("authorization") == "[REDACTED]" and hh.get("cookie") == "[REDACTED]", hh
    raw, har = view_har(ref.out, "--no-redact")
    [e] = [x for x in har["log"]["entries"] if "secret=1" in x["request"]["url"]]
    hh = {x["name"].lower(): x["value"] for x in e["request"]["headers"]}
    assert hh.get("authorization") == f"Bearer {SECRET}" and hh.get("cookie") == "a=b", hh


def test_local_dashboard_no_redact_shows_secrets(topology, workdir):
    dash = LocalDashboard(topology, workdir, "noredact", [topology.bridge], extra=["--no-redact"])
    path = "/misc/small.txt?secret=2"
    try:
        dash.start()
        hub = dash.hub
        assert hub.get_json("/api/v1/session")["redact"] is False
        Prober(topology, "noredact").until_seen(hub)
        secret_request(topology, path)
        [row] = wait_for(lambda: [r for r in hub.rows("http") if r.get("path") == path], ARRIVE, "the secret request")
        h = headers_of(hub.entry(row["id"]))
        assert h.get("authorization") == f"Bearer {SECRET}" and h.get("cookie") == "a=b", h
        status, _, har = hub.request("/api/v1/har")
        assert status == 200 and f"Bearer {SECRET}".encode() in har
    finally:
        rc = dash.stop(signal.SIGINT) if dash.alive() else None
    assert rc == 0, f"exit {rc} after SIGINT:\n{dash.output()[-2000:]}"
