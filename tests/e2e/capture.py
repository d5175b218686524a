"""Reference captures with tcpdump, and running the kubectl-shark CLI under test."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class Tcpdump:
    """tcpdump -w on one interface of the root namespace, packet-buffered, full snap length."""

    def __init__(self, topo, iface: str, out: Path, promisc: bool = True, extra=()):
        self.topo, self.iface, self.out = topo, iface, Path(out)
        # --immediate-mode: without it libpcap (TPACKET_V3) hands packets over per block or after
        # its 1 s timeout, and packets still in the ring when SIGINT arrives are silently lost
        # (not even counted as dropped). -U writes every packet to the file at once.
        args = ["tcpdump", "-i", iface, "-s", "0", "-U", "--immediate-mode", "-B", "16384", "-n",
                "-w", str(out)]
        if not promisc:
            args.append("-p")
        self.args = args + list(extra)
        self.proc = None
        self.stderr = ""
        self.captured = self.dropped = None

    def start(self, timeout=15):
        self.proc = self.topo.popen(None, self.args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        buf = b""
        deadline = time.time() + timeout
        while b"listening on" not in buf:
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"tcpdump did not start: {buf.decode(errors='replace')}")
            r, _, _ = select.select([self.proc.stderr], [], [], 0.2)
            if r:
                buf += os.read(self.proc.stderr.fileno(), 4096)
        self.stderr = buf.decode(errors="replace")
        return self

    def barrier(self, pod="cli", timeout=20):
        """Sends a sentinel UDP datagram across the bridge and waits until it is in the file, so
        everything sent before it has been written."""
        self._n = getattr(self, "_n", 0) + 1
        token = f"SHK-SENTINEL-{self.topo.run_id}-{id(self)}-{self._n}".encode()
        dst = self.topo.srv.ip4 if pod != "srv" else self.topo.pods["cli"].ip4
        code = (f"import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                f"s.sendto({token!r},('{dst}',9))")
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.topo.exec(pod, [sys.executable, "-c", code])
            for _ in range(10):
                time.sleep(0.1)
                if token in self.out.read_bytes():
                    return
        raise RuntimeError(f"tcpdump on {self.iface} did not record the sentinel within {timeout}s")

    def stop(self, barrier=True):
        if self.proc is None:
            return self
        if barrier:
            self.barrier()
        self.proc.send_signal(signal.SIGINT)
        rest = self.proc.stderr.read() if self.proc.stderr else b""
        self.proc.wait(30)
        self.topo.forget(self.proc)
        self.stderr += rest.decode(errors="replace")
        m = re.search(r"(\d+) packets? captured", self.stderr)
        self.captured = int(m.group(1)) if m else None
        m = re.search(r"(\d+) packets? dropped by kernel", self.stderr)
        self.dropped = int(m.group(1)) if m else None
        self.proc = None
        return self

    def assert_clean(self):
        assert self.dropped == 0, f"reference capture on {self.iface} dropped packets: {self.stderr}"


def record_on_bridge(topo, pcap: Path, traffic):
    """Runs `traffic(topo)` while tcpdump records the bridge into `pcap`, and checks tcpdump lost
    nothing. Returns what the traffic reported sending, and the stopped Tcpdump."""
    cap = Tcpdump(topo, topo.bridge, pcap).start()
    try:
        expects = traffic(topo)
    finally:
        cap.stop()
    cap.assert_clean()
    return expects, cap


# ---- the CLI under test ------------------------------------------------------------------------

def shark_bin() -> str:
    return os.environ.get("SHARK_BIN") or str(REPO / "target" / "release" / "kubectl-shark")


def require_shark():
    b = shark_bin()
    assert os.path.isfile(b) and os.access(b, os.X_OK), (
        f"kubectl-shark binary not found or not executable at {b} "
        f"(build it with `cargo build --release` or set SHARK_BIN)")
    return b


@dataclass
class Result:
    args: list
    rc: int
    stdout: str
    stderr: str
    entries: list = field(default_factory=list)
    bad_lines: list = field(default_factory=list)

    def describe(self):
        return (f"$ {' '.join(map(str, self.args))}\nexit {self.rc}\n"
                f"stderr (last 2000 chars): {self.stderr[-2000:]}\n"
                f"{len(self.entries)} entries, {len(self.bad_lines)} non-JSON lines "
                f"{self.bad_lines[:3]}")


def parse_json_lines(text: str):
    entries, bad = [], []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            bad.append(line[:200])
            continue
        if isinstance(obj, dict):
            entries.append(obj)
        else:
            bad.append(line[:200])
    return entries, bad


def run_view(files, extra=(), timeout=600) -> Result:
    args = [require_shark(), "view", *map(str, files), "--output", "json", *extra]
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    entries, bad = parse_json_lines(p.stdout)
    return Result(args, p.returncode, p.stdout, p.stderr, entries, bad)


class LiveShark:
    """`kubectl-shark local ... --output json` in the root namespace; stdout goes to a file."""

    def __init__(self, topo, workdir: Path, ifaces=(), extra=(), name="live"):
        self.topo = topo
        self.out = Path(workdir) / f"{name}.jsonl"
        self.err = Path(workdir) / f"{name}.stderr"
        self.args = [require_shark(), "local"]
        for i in ifaces:
            self.args += ["-i", i]
        self.args += ["--output", "json", *extra]
        self.proc = None
        self.rc = None

    def start(self, settle=1.5):
        self._o = open(self.out, "wb")
        self._e = open(self.err, "wb")
        self.proc = self.topo.popen(None, self.args, stdout=self._o, stderr=self._e)
        # No readiness signal is specified: give it time to open its sockets, and make sure it
        # did not exit (e.g. on an argument error).
        deadline = time.time() + settle
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def entries_so_far(self):
        return parse_json_lines(self.out.read_text(errors="replace"))[0]

    def stop(self, sig=signal.SIGINT, timeout=60) -> Result:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.rc = self.proc.wait(10)
            raise AssertionError(f"`{' '.join(self.args)}` did not stop within {timeout}s of {sig!r}")
        finally:
            self.topo.forget(self.proc)
            self._o.close()
            self._e.close()
        return self.result()

    def wait(self, timeout) -> Result:
        try:
            self.rc = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            self.topo.forget(self.proc)
            self._o.close()
            self._e.close()
        return self.result()

    def result(self) -> Result:
        out = self.out.read_text(errors="replace")
        entries, bad = parse_json_lines(out)
        return Result(self.args, self.rc, out, self.err.read_text(errors="replace"), entries, bad)


def parse_counters(stderr: str) -> dict:
    """The counters line `view` and `local` print on stderr at the end (README: "Counters"):
    `kubectl-shark: counters: packets=N bytes=N drops=N entries=N ...`. Returns {} without one."""
    found = {}
    for line in stderr.splitlines():
        if line.startswith("kubectl-shark: counters: "):
            found = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
    return found