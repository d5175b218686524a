"""`kubectl-shark local ... --output json` capturing live while the scenarios run.

Reference: tcpdump on the server pod's host-side veth, without promiscuous mode (-p), so the
reference capture does not switch the bridge into promiscuous mode for the CLI: on a Linux bridge
the frames forwarded between two pods only reach a capture on the bridge device itself when that
device is promiscuous, so `local -i <bridge>` must arrange that itself. All test traffic involves
the server pod, so its veth sees every exchange exactly once.

Warm-up: after starting the CLI, DNS probes (probe-N.shk.test, NXDOMAIN) are sent until one shows
up in its output (if it streams entries) or for a few seconds; probes are left out of every
comparison. At the end, a last probe (or a pause) lets the CLI catch up before the signal.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from capture import LiveShark, Tcpdump, parse_counters, require_shark
from checks import assert_equals_oracle, assert_oracle_matches_expectations, assert_schema, subnet_filter
from oracle import entry_dns_key, oracle_for, split_entries
from topology import HTTP_PORT, TOOLS, ZONE
from traffic import Expect, run_scenarios, run_small_mix

PROBE = "probe-"


class Session:
    def __init__(self, topo, workdir, name, ifaces=(), extra=()):
        self.topo, self.workdir, self.name = topo, workdir, name
        self.ref = Tcpdump(topo, topo.srv.host_if, workdir / f"{name}.pcap", promisc=False)
        self.live = LiveShark(topo, workdir, ifaces=ifaces, extra=extra, name=name)
        self.streaming = False
        self.nprobe = 0
        self.started_at = None

    def probe(self):
        self.nprobe += 1
        name = f"{PROBE}{self.name}-{self.nprobe}.{ZONE}"
        self.topo.exec("cli", ["dig", f"@{self.topo.srv.ip4}", "+tries=1", "+time=2", name, "A"], check=False)
        return name

    def seen(self, qname):
        for e in self.live.entries_so_far():
            if e.get("protocol") == "dns" and qname in str(e.get("request")):
                return True
        return False

    def start(self, warmup=6.0):
        self.ref.start()
        self.started_at = time.time()
        self.live.start()
        assert self.live.alive(), f"`{' '.join(self.live.args)}` exited at once:\n" + \
            self.live.err.read_text(errors="replace")
        deadline = time.time() + warmup
        while time.time() < deadline and self.live.alive():
            if self.seen(self.probe()):
                self.streaming = True
                break
            time.sleep(0.3)
        return self

    def settle(self):
        self.ref.barrier()
        if self.streaming:
            name = self.probe()
            deadline = time.time() + 15
            while time.time() < deadline and not self.seen(name):
                time.sleep(0.2)
        else:
            time.sleep(3)

    def stop(self, sig=signal.SIGINT):
        try:
            res = self.live.stop(sig)
        finally:
            self.ref.stop()
        return res

    def oracle(self):
        return oracle_for(self.ref.out)


def no_probe_http(k):
    return True


def no_probe_dns_key(k):
    return not str(k[6]).startswith(PROBE)


def no_probe_oracle(x):
    return not getattr(x, "qname", "").startswith(PROBE)


def check_against_reference(sess, res, expects, subnet_only=False):
    o = sess.oracle()
    assert_oracle_matches_expectations(o, expects, keep_dns=no_probe_oracle)
    keep_h, keep_d = (subnet_filter(sess.topo) if subnet_only else (lambda k: True, lambda k: True))
    counters = parse_counters(res.stderr)
    assert_equals_oracle(o, res.entries, f"live `{' '.join(map(str, res.args[1:]))}` (counters: {counters})",
                         keep_http=keep_h, keep_dns=lambda k: keep_d(k) and no_probe_dns_key(k),
                         keep_oracle_dns=no_probe_oracle)
    return o, counters


def assert_counters(res, exact_entries=None):
    c = parse_counters(res.stderr)
    missing = [k for k in ("packets", "bytes", "drops", "entries") if k not in c]
    assert not missing, f"capture counters {missing} not found on stderr:\n{res.stderr[-1500:]}"
    assert c["packets"] > 0 and c["bytes"] > 0, c
    if exact_entries is not None:
        assert c["entries"] == exact_entries, f"entries counter {c['entries']} != {exact_entries} printed"
    return c


def test_local_bridge_equals_oracle(topology, workdir):
    sess = Session(topology, workdir, "bridge", ifaces=[topology.bridge]).start()
    try:
        expects = run_scenarios(topology)
        sess.settle()
    finally:
        res = sess.stop(signal.SIGINT)
    assert res.rc == 0, res.describe()
    assert not res.bad_lines, res.describe()
    assert res.entries, "no entries at all: is the bridge put in promiscuous mode?\n" + res.describe()
    check_against_reference(sess, res, expects)
    assert_schema(res.entries)
    c = assert_counters(res, exact_entries=len(res.entries))
    assert c["drops"] == 0, f"kernel drops during a modest test load: {c}"


def test_local_all_interfaces_each_exchange_once(topology, workdir):
    """Without -i every interface is captured: each packet is seen on the client's veth, the bridge
    and the server's veth, and each exchange must still come out exactly once."""
    sess = Session(topology, workdir, "all").start()
    try:
        expects = run_scenarios(topology)
        sess.settle()
    finally:
        res = sess.stop(signal.SIGINT)
    assert res.rc == 0, res.describe()
    assert not res.bad_lines, res.describe()
    check_against_reference(sess, res, expects, subnet_only=True)
    assert_counters(res)


def test_local_sigterm_flushes_complete_entries(topology, workdir):
    """SIGTERM while a keep-alive connection is still open: its finished exchange is flushed."""
    sess = Session(topology, workdir, "sigterm", ifaces=[topology.bridge]).start()
    hold = None
    try:
        hold = topology.popen("cli", [sys.executable, TOOLS / "client.py", "hold", topology.srv.ip4, HTTP_PORT,
                                      "/live/small.txt?hold=1", "--seconds", "120"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        line = hold.stdout.readline()
        while line and b"ready" not in line:
            line = hold.stdout.readline()
        assert b"ready" in line, "hold client failed"
        expects = run_small_mix(topology) + [Expect("live", "http", "GET", "/live/small.txt?hold=1", 200)]
        sess.settle()
        res = sess.stop(signal.SIGTERM)
    finally:
        if hold is not None:
            hold.send_signal(signal.SIGTERM)
            hold.wait(10)
            topology.forget(hold)
        if sess.live.alive():
            sess.stop(signal.SIGKILL)
    assert res.rc == 0, res.describe()
    held = [e for e in res.entries if (e.get("request") or {}).get("path") == "/live/small.txt?hold=1"]
    assert len(held) == 1 and (held[0].get("response") or {}).get("status") == 200, \
        "the exchange on the still-open connection must be flushed on SIGTERM\n" + res.describe()
    # The reference capture ran a bit longer (the connection closes after the CLI stopped), so
    # compare with what it saw while the CLI ran: the FIN is not an exchange.
    check_against_reference(sess, res, expects)
    assert_counters(res)


def test_local_duration_stops_and_flushes(topology, workdir):
    duration = 8
    sess = Session(topology, workdir, "duration", ifaces=[topology.bridge],
                   extra=["--duration", f"{duration}s", "--storage-limit", "200MB"])
    sess.start(warmup=3)
    expects = run_small_mix(topology)
    sess.ref.barrier()
    try:
        res = sess.live.wait(timeout=duration + 40)
    finally:
        sess.ref.stop()
    ran = time.time() - sess.started_at
    assert res.rc == 0, res.describe()
    assert ran >= duration * 0.9, f"--duration {duration}s but it stopped after {ran:.1f}s"
    assert not res.bad_lines, res.describe()
    check_against_reference(sess, res, expects)
    assert_counters(res, exact_entries=len(res.entries))


def test_local_missing_interface_exit_6(topology):
    name = f"shk-{topology.run_id}-nx"
    p = subprocess.run([require_shark(), "local", "-i", name, "--output", "json", "--duration", "5s"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 6, f"exit {p.returncode}\n{p.stderr}"
    assert name in p.stderr, p.stderr
    assert not p.stdout.strip()


def test_local_permission_denied_exit_7(topology):
    """Without CAP_NET_RAW (an unprivileged user) live capture is refused with exit 7."""
    bindir = topology.workdir / "bin"
    bindir.mkdir(exist_ok=True)
    os.chmod(bindir, 0o755)
    b = bindir / "kubectl-shark"
    shutil.copy2(require_shark(), b)
    os.chmod(b, 0o755)

    def drop_privileges():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    p = subprocess.run([str(b), "local", "-i", topology.bridge, "--output", "json", "--duration", "3s"],
                       capture_output=True, text=True, timeout=60, preexec_fn=drop_privileges, cwd="/")
    assert p.returncode == 7, f"exit {p.returncode}\n{p.stderr}"
    assert p.stderr.strip(), "an explanation on stderr is expected"
