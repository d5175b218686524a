"""A node-like network topology for end-to-end tests, built from real kernel objects.

One bridge in the root namespace plays the node's CNI bridge; network namespaces attached to
it by veth pairs play pods. Every pod gets an IPv4 and an IPv6 address. The "srv" pod runs real
nginx, the Python origin (tests/tools/origin.py) and dnsmasq; the client pods run curl, dig and
the Python client (tests/tools/client.py).

Everything is named after a random run id, so concurrent runs (ours or other engineers') do not
collide, and everything is removed on stop() even when a test failed. A state file per run under
STATE_DIR lets a later run remove what a killed run left behind (only runs whose owner process is
dead, and only the objects that run recorded).

Only addresses inside the namespaces created here are ever used as traffic targets.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import ipaddress
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOOLS = HERE.parent / "tools"
STATE_DIR = Path(os.environ.get("SHK_E2E_STATE_DIR", "/run/shk-e2e"))

HTTP_PORT = 80      # nginx
ORIGIN_PORT = 8080  # tests/tools/origin.py (8080 is one of tshark's default HTTP ports)
DNS_PORT = 53       # dnsmasq
ZONE = "shk.test"

REQUIRED_TOOLS = ["ip", "tcpdump", "tshark", "editcap", "nginx", "dnsmasq", "dig", "curl"]


class TopologyError(RuntimeError):
    pass


def require_environment(extra=()):
    """Fail (never skip) when the environment cannot run these tests: CI must install them."""
    problems = []
    if os.geteuid() != 0:
        problems.append("must run as root (network namespaces, bridges, packet capture)")
    for tool in list(REQUIRED_TOOLS) + list(extra):
        if shutil.which(tool) is None and not Path(tool).exists():
            problems.append(f"missing tool: {tool}")
    if problems:
        raise TopologyError("e2e environment not usable:\n  " + "\n  ".join(problems))


def run(args, check=True, capture=True, timeout=120, **kw):
    res = subprocess.run(args, capture_output=capture, text=True, timeout=timeout, **kw)
    if check and res.returncode != 0:
        raise TopologyError(f"command failed ({res.returncode}): {' '.join(map(str, args))}\n"
                            f"stdout: {res.stdout}\nstderr: {res.stderr}")
    return res


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _netns_pids(ns: str) -> list[int]:
    res = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
    return [int(x) for x in res.stdout.split() if x.strip().isdigit()]


def _kill_pids(pids, grace=2.0):
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.time() + grace
    while time.time() < deadline and any(_pid_alive(p) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        if _pid_alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def _teardown_objects(netns: list[str], links: list[str]):
    """Remove namespaces (after killing what runs inside them) and root-namespace links."""
    for ns in netns:
        if subprocess.run(["ip", "netns", "pids", ns], capture_output=True).returncode == 0:
            _kill_pids(_netns_pids(ns))
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    for link in links:
        subprocess.run(["ip", "link", "del", link], capture_output=True)


def cleanup_stale_runs():
    """Remove what earlier runs left behind when their owner process died (e.g. SIGKILL)."""
    if not STATE_DIR.is_dir():
        return
    for f in STATE_DIR.glob("*.json"):
        try:
            st = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        if _pid_alive(int(st.get("owner_pid", 0))):
            continue
        _kill_pids([p for p, start in st.get("pids", []) if _pid_alive(p) and _start_time(p) == start])
        _teardown_objects(st.get("netns", []), st.get("links", []))
        with contextlib.suppress(OSError):
            shutil.rmtree(st.get("workdir", ""), ignore_errors=True)
            f.unlink()


def _start_time(pid: int):
    """Process start time (clock ticks since boot): with the pid it identifies a process, so a
    recorded pid that was reused by someone else's process is never killed."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


@dataclass
class Pod:
    name: str          # logical name: srv, cli, cli2
    netns: str         # kernel netns name
    host_if: str       # veth end in the root namespace (attached to the bridge)
    ip4: str
    ip6: str
    mac: str = ""


@dataclass
class Service:
    name: str
    proc: subprocess.Popen
    log: Path


@dataclass
class Topology:
    pods_wanted: tuple = ("srv", "cli", "cli2")
    run_id: str = field(default_factory=lambda: os.urandom(2).hex())
    workdir: Path | None = None
    pods: dict = field(default_factory=dict)
    services: dict = field(default_factory=dict)
    _procs: list = field(default_factory=list)
    _created_ns: list = field(default_factory=list)
    _created_links: list = field(default_factory=list)
    started: bool = False

    # ---- naming -------------------------------------------------------------------------
    @property
    def bridge(self) -> str:
        return f"shk-{self.run_id}-br"            # 11 chars (IFNAMSIZ is 16)

    @property
    def octet(self) -> int:
        return 100 + int(self.run_id, 16) % 150   # 10.77.<100..249>.0/24

    @property
    def net4(self) -> str:
        return f"10.77.{self.octet}"

    @property
    def net6(self) -> str:
        return f"fd77:{self.run_id}:"              # fd77:<id>::/64

    def subnet_contains(self, ip: str) -> bool:
        # Compare networks, not strings: a run id with a leading zero ("08ff") is written without
        # it in canonical IPv6 text ("fd77:8ff::3").
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return addr in ipaddress.ip_network(f"{self.net4}.0/24") or addr in ipaddress.ip_network(f"{self.net6}:/64")

    @property
    def srv(self) -> Pod:
        return self.pods["srv"]

    # ---- lifecycle ----------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def _save_state(self):
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        st = {"run_id": self.run_id, "owner_pid": os.getpid(), "workdir": str(self.workdir),
              "netns": self._created_ns, "links": self._created_links,
              "pids": [[p.pid, _start_time(p.pid)] for p in self._procs]}
        (STATE_DIR / f"{self.run_id}.json").write_text(json.dumps(st))

    def start(self):
        require_environment()
        cleanup_stale_runs()
        # Avoid a run id (and so names and subnet octet) that a live run already uses.
        for _ in range(50):
            if not (STATE_DIR / f"{self.run_id}.json").exists() and \
                    run(["ip", "link", "show", self.bridge], check=False).returncode != 0:
                break
            self.run_id = os.urandom(2).hex()
        self.workdir = Path(tempfile.mkdtemp(prefix=f"shk-e2e-{self.run_id}-"))
        os.chmod(self.workdir, 0o755)
        self._save_state()
        try:
            self._build_network()
            self.started = True
        except BaseException:
            self.stop()
            raise

    def _build_network(self):
        br = self.bridge
        run(["ip", "link", "add", br, "type", "bridge"])
        self._created_links.append(br)
        self._save_state()
        # The bridge has no address: nothing in the root namespace routes into the test subnet,
        # so runs with the same subnet cannot disturb each other and no host traffic leaks in.
        for sysctl in (f"net.ipv6.conf.{br}.disable_ipv6=1",):
            run(["sysctl", "-q", "-w", sysctl], check=False)
        run(["ip", "link", "set", br, "up"])
        for idx, name in enumerate(self.pods_wanted):
            ns = f"shk-{self.run_id}-{name}"
            host_if = f"shk{self.run_id}h{idx}"
            peer = f"shk{self.run_id}p{idx}"
            host_no = 2 + idx
            pod = Pod(name=name, netns=ns, host_if=host_if,
                      ip4=f"{self.net4}.{host_no}", ip6=f"{self.net6}:{host_no:x}")
            run(["ip", "netns", "add", ns])
            self._created_ns.append(ns)
            run(["ip", "link", "add", host_if, "type", "veth", "peer", "name", peer])
            self._created_links.append(host_if)
            self._save_state()
            run(["ip", "link", "set", peer, "netns", ns])
            run(["ip", "link", "set", host_if, "master", br])
            run(["sysctl", "-q", "-w", f"net.ipv6.conf.{host_if}.disable_ipv6=1"], check=False)
            run(["ip", "link", "set", host_if, "up"])
            nx = ["ip", "netns", "exec", ns]
            run(nx + ["ip", "link", "set", peer, "name", "eth0"])
            run(nx + ["ip", "link", "set", "lo", "up"])
            run(nx + ["ip", "addr", "add", f"{pod.ip4}/24", "dev", "eth0"])
            run(nx + ["ip", "-6", "addr", "add", f"{pod.ip6}/64", "dev", "eth0", "nodad"])
            run(nx + ["ip", "link", "set", "eth0", "up"])
            # A pod would not send router solicitations on a CNI bridge; keep the wire quiet.
            run(nx + ["sysctl", "-q", "-w", "net.ipv6.conf.eth0.router_solicitations=0"], check=False)
            pod.mac = run(nx + ["cat", "/sys/class/net/eth0/address"]).stdout.strip()
            self.pods[name] = pod
        # Wait for carrier and L2/L3 reachability in both families: a TCP connect to a closed
        # port is answered by a RST (ECONNREFUSED) once the path works (no ping needed).
        srv = self.pods[self.pods_wanted[0]]
        for name in self.pods_wanted[1:]:
            for ip in (srv.ip4, srv.ip6):
                self._wait(lambda: self._reachable(name, ip), f"connectivity {name} -> {ip}")

    def _reachable(self, pod, ip) -> bool:
        fam = "AF_INET6" if ":" in ip else "AF_INET"
        code = (f"import socket,sys,errno\ns=socket.socket(socket.{fam});s.settimeout(1)\n"
                f"r=s.connect_ex(('{ip}',9))\nsys.exit(0 if r in (0,errno.ECONNREFUSED) else 1)")
        return self.exec(pod, [sys.executable, "-c", code], check=False).returncode == 0

    def stop(self):
        for svc in list(self.services.values()):
            self._stop_proc(svc.proc)
        for p in self._procs:
            self._stop_proc(p)
        _teardown_objects(list(reversed(self._created_ns)), list(reversed(self._created_links)))
        with contextlib.suppress(OSError):
            (STATE_DIR / f"{self.run_id}.json").unlink()
        if self.workdir and os.environ.get("SHK_E2E_KEEP") is None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.services.clear()
        self._procs.clear()
        self.started = False

    @staticmethod
    def _stop_proc(p: subprocess.Popen, sig=signal.SIGTERM, grace=3.0):
        if p.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, sig)
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)

    @staticmethod
    def _wait(cond, what, timeout=15.0, interval=0.1):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if cond():
                return
            time.sleep(interval)
        raise TopologyError(f"timed out waiting for {what}")

    # ---- running things in pods ------------------------------------------------------------
    def nsargs(self, pod: str, args):
        return ["ip", "netns", "exec", self.pods[pod].netns] + [str(a) for a in args]

    def exec(self, pod: str, args, check=True, timeout=300, **kw):
        return run(self.nsargs(pod, args), check=check, timeout=timeout, **kw)

    def popen(self, pod: str | None, args, log: Path | None = None, **kw) -> subprocess.Popen:
        """Start a long-running process (in a pod, or in the root namespace when pod is None).
        It gets its own process group, is recorded in the state file, and is stopped by stop()."""
        full = self.nsargs(pod, args) if pod else [str(a) for a in args]
        if log is not None:
            fh = open(log, "wb")
            kw.setdefault("stdout", fh)
            kw.setdefault("stderr", subprocess.STDOUT)
        p = subprocess.Popen(full, start_new_session=True, **kw)
        self._procs.append(p)
        self._save_state()
        return p

    def forget(self, p: subprocess.Popen):
        with contextlib.suppress(ValueError):
            self._procs.remove(p)

    # ---- services ---------------------------------------------------------------------------
    def start_services(self):
        root = self.workdir / "srv"
        root.mkdir(exist_ok=True)
        build_static_tree(root / "www")
        self._start_nginx(root)
        self._start_origin(root)
        self._start_dnsmasq(root)
        srv = self.srv
        self._wait_tcp("cli", srv.ip4, HTTP_PORT, "nginx")
        self._wait_tcp("cli", srv.ip4, ORIGIN_PORT, "origin")
        self._wait(lambda: "status: NOERROR" in self.exec(
            "cli", ["dig", f"@{srv.ip4}", "+time=1", "+tries=1", f"www.{ZONE}", "A"], check=False).stdout,
            "dnsmasq", timeout=15)

    def _wait_tcp(self, pod, ip, port, what):
        code = (f"import socket,sys\ns=socket.socket(socket.AF_INET);s.settimeout(1)\n"
                f"sys.exit(s.connect_ex(('{ip}',{port})))")
        self._wait(lambda: self.exec(pod, [sys.executable, "-c", code], check=False).returncode == 0,
                   f"{what} listening on {ip}:{port}")
        # (the probe connection above is never in a capture: captures start after services)

    def _start_nginx(self, root: Path):
        for d in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi", "logs"):
            (root / d).mkdir(parents=True, exist_ok=True)
        conf = root / "nginx.conf"
        conf.write_text(nginx_conf(root, self.srv, workers=int(os.environ.get("SHK_NGINX_WORKERS", "1"))))
        self.exec("srv", ["nginx", "-t", "-c", conf, "-p", root])
        p = self.popen("srv", ["nginx", "-c", conf, "-p", root], log=root / "logs/nginx.out")
        self.services["nginx"] = Service("nginx", p, root / "logs/error.log")

    def _start_origin(self, root: Path):
        log = root / "logs/origin.log"
        p = self.popen("srv", [sys.executable, TOOLS / "origin.py", "--port", ORIGIN_PORT,
                               "--tag", self.run_id], log=log)
        self.services["origin"] = Service("origin", p, log)

    def _start_dnsmasq(self, root: Path):
        conf = root / "dnsmasq.conf"
        conf.write_text(dnsmasq_conf(self))
        log = root / "logs/dnsmasq.log"
        p = self.popen("srv", ["dnsmasq", "--keep-in-foreground", f"--conf-file={conf}",
                               f"--pid-file={root / 'dnsmasq.pid'}", f"--log-facility={log}"])
        self.services["dnsmasq"] = Service("dnsmasq", p, log)

    def check_services_alive(self):
        dead = [n for n, s in self.services.items() if s.proc.poll() is not None]
        if dead:
            raise TopologyError(f"services died: {dead}")


# ---- server content and configs ------------------------------------------------------------

def _det_text(seed: str, size: int) -> bytes:
    """Deterministic, compressible, human-looking text of exactly `size` bytes."""
    words = ["kube", "shark", "packet", "pod", "node", "service", "capture", "entry",
             "stream", "segment", "header", "body", "deploy", "namespace", "proxy", "cluster"]
    rnd = random.Random(seed)
    out = bytearray()
    line = 0
    while len(out) < size:
        line += 1
        out += (f"{line:06d} " + " ".join(rnd.choice(words) for _ in range(12)) + "\n").encode()
    return bytes(out[:size])


def _det_json(seed: str, items: int) -> bytes:
    rnd = random.Random(seed)
    data = {"items": [{"id": i, "name": f"item-{i}", "pod": f"web-{rnd.randrange(1000)}",
                       "ready": rnd.random() > 0.3, "tags": ["a", "b", "c"][: rnd.randrange(4)]}
                      for i in range(items)]}
    return json.dumps(data, indent=1).encode() + b"\n"


def _det_bin(seed: str, size: int) -> bytes:
    out = bytearray()
    h = hashlib.sha256(seed.encode()).digest()
    while len(out) < size:
        h = hashlib.sha256(h).digest()
        out += h
    return bytes(out[:size])


# The static tree: one directory per scenario, so exchanges can be attributed to scenarios.
STATIC_FILES = {
    "index.html": lambda: b"<!doctype html><title>shk</title><p>hello from the test pod</p>\n" * 20,
    "a.txt": lambda: _det_text("a", 3000),
    "b.json": lambda: _det_json("b", 40),
    "c.css": lambda: b"body { color: #123; }\n" * 200,
    "small.txt": lambda: b"tiny\n",
    "img.png": lambda: b"\x89PNG\r\n\x1a\n" + _det_bin("png", 20000),
    "big.txt": lambda: _det_text("big", 300_000),
    "data.json": lambda: _det_json("data", 2000),
    "big.bin": lambda: _det_bin("bigbin", 1_000_000),
}
SCENARIO_DIRS = ["ka", "pipe", "gz", "head", "cond", "v6", "h10", "short", "live", "bench", "misc"]


def build_static_tree(www: Path):
    www.mkdir(parents=True, exist_ok=True)
    contents = {name: gen() for name, gen in STATIC_FILES.items()}
    (www / "index.html").write_bytes(contents["index.html"])
    for d in SCENARIO_DIRS:
        (www / d).mkdir(exist_ok=True)
        for name, data in contents.items():
            (www / d / name).write_bytes(data)
    # Fixed mtime: Last-Modified and ETag (nginx derives it from mtime and size) are stable.
    fixed = 1_700_000_000
    for p in www.rglob("*"):
        os.utime(p, (fixed, fixed))
    for p in [www, *www.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)


def nginx_conf(root: Path, srv: Pod, workers: int = 1) -> str:
    return f"""
user root;
worker_processes {workers};
daemon off;
pid {root}/nginx.pid;
error_log {root}/logs/error.log notice;
events {{ worker_connections 8192; }}
http {{
    access_log {root}/logs/access.log;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    types {{
        text/html html; text/plain txt; text/css css; application/json json;
        image/png png; application/octet-stream bin;
    }}
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65s;
    keepalive_requests 1000000;
    server_tokens off;
    etag on;
    gzip on;
    gzip_types text/plain text/css application/json;
    gzip_min_length 256;
    gzip_vary on;
    client_max_body_size 64m;
    server {{
        listen {srv.ip4}:80 backlog=4096;
        listen [{srv.ip6}]:80 backlog=4096;
        root {root}/www;
        location = /nc {{ return 204; }}
        location /nc/ {{ return 204; }}
        location /proxy/ {{
            proxy_pass http://127.0.0.1:8080/;
            proxy_http_version 1.1;
            proxy_buffering off;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def dnsmasq_conf(t: Topology) -> str:
    """dnsmasq answers every query to srv's addresses authoritatively (`auth-server` names them).
    Over TCP, dnsmasq 2.90 then closes a connection at random after an answer (an uninitialised
    flag in tcp_request(); see traffic.dns_tcp_conn), so TCP clients here must cope with that."""
    srv = t.srv
    z = ZONE
    n4 = t.net4
    return f"""
port={DNS_PORT}
no-resolv
no-hosts
no-poll
bind-interfaces
listen-address={srv.ip4}
listen-address={srv.ip6}
user=root
log-queries=extra
local-ttl=300
auth-ttl=300
# Authoritative zone: NS and SOA come from here, unknown names are NXDOMAIN.
auth-server=ns1.{z},{srv.ip4},{srv.ip6}
auth-zone={z},{n4}.0/24,{t.net6}:/64
auth-soa=2024010101,hostmaster.{z},7200,1800,1209600,300
host-record=ns1.{z},{n4}.53
host-record=printer.{z},{n4}.99
host-record=www.{z},{srv.ip4},{srv.ip6}
host-record=mail.{z},{n4}.25
host-record=v6only.{z},{t.net6}:beef
host-record=multi.{z},{n4}.10
host-record=multi.{z},{n4}.11
host-record=multi.{z},{n4}.12
cname=alias.{z},www.{z}
cname=chain.{z},alias.{z}
txt-record=txt.{z},"v=shk1 hello world"
txt-record=multi-txt.{z},"first string","second string"
mx-host={z},mail.{z},10
mx-host=mx2.{z},mail.{z},20
srv-host=_http._tcp.{z},www.{z},80,0,5
srv-host=_dns._udp.{z},ns1.{z},53,10,20
"""
