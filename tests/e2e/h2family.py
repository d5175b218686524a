"""HTTP/2, gRPC and WebSocket with real servers and clients in the pods of a Topology.

Servers (in the srv pod, started by `start_h2_services`):
  nginx          `listen PORT http2` (h2c with prior knowledge), its own instance and tree
  h2c (Go)       golang.org/x/net/http2/h2c: prior knowledge and the `Upgrade: h2c` of RFC 7540 §3.2
  grpc_peer.py   Python grpcio server of tests/tools/proto/shk_echo.proto
  grpcecho (Go)  google.golang.org/grpc server of the same service
  ws_peer.py     Python `websockets` echo server (permessage-deflate offered)
Clients (in the cli/cli2 pods): nghttp (concurrent streams, HEAD, POST, table size), curl
--http2-prior-knowledge and --http2 (upgrade), the Go h2c client (waves on one connection),
grpc_peer.py's client, ws_peer.py's client.

The Go programs (tests/tools/go) are built with modules from the Go proxy into
~/.cache/kubectl-shark/go-bin/<name>-<hash of their sources and the Go version>, reused while
the sources do not change. grpc_peer.py generates its stubs at run time into the work dir.

Every scenario returns what its clients report they put on the wire (H2x/Grpcx/Wsx/Http1x records
below, from the clients' own logs), so the tests can first check that the oracle (tshark) sees
all of it, then compare kubectl-shark's entries with the oracle.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from topology import STATIC_FILES, TOOLS, Service, Topology, TopologyError

NGINX_H2_PORT = 8200     # nginx, h2c prior knowledge
H2C_PORT = 8201          # Go h2c: prior knowledge and Upgrade
GRPC_PY_PORT = 50051     # Python grpcio
GRPC_GO_PORT = 50052     # Go grpc
WS_PORT = 8765           # Python websockets
H2_PORTS = (NGINX_H2_PORT, GRPC_PY_PORT, GRPC_GO_PORT)   # tshark: -d tcp.port==P,http2
HTTP1_PORTS = (H2C_PORT, WS_PORT)                         # tshark: -d tcp.port==P,http (then it follows the upgrade)

REQUIRED = ["nghttp", "go"]
GO_DIR = TOOLS / "go"
GO_CACHE = Path(os.environ.get("SHK_GO_BIN_CACHE", Path.home() / ".cache" / "kubectl-shark" / "go-bin"))
H2_SECRET = "Bearer h2-secret-token-1"
GRPC_SECRET_KEY = "x-auth-token"


# ---- what the clients say they sent ----------------------------------------------------------

@dataclass(frozen=True)
class H2x:
    """An HTTP/2 request/response on one stream (stream 1 of an upgrade: the HTTP/1.1 request)."""
    scenario: str
    method: str
    path: str
    status: int | None
    stream: int | None      # None where the client does not tell (Go client)


@dataclass(frozen=True)
class Http1x:
    scenario: str
    method: str
    path: str
    status: int


@dataclass(frozen=True)
class Grpcx:
    scenario: str
    path: str
    status: str             # status name: OK, NOT_FOUND, ...
    sent: int               # request messages
    received: int           # response messages


@dataclass(frozen=True)
class Wsx:
    scenario: str
    direction: str          # client | server
    opcode: str
    size: int               # payload bytes after decompression


# ---- Go programs ------------------------------------------------------------------------------

def go_binary(name: str) -> Path:
    """tests/tools/go/<name> built once per source hash (Go modules come from the Go proxy)."""
    if shutil.which("go") is None:
        raise TopologyError("missing tool: go (Go 1.24 or newer builds tests/tools/go)")
    env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-mod=readonly -buildvcs=false")
    version = subprocess.run(["go", "version"], capture_output=True, text=True, env=env).stdout.strip()
    h = hashlib.sha256(version.encode())
    for f in sorted([GO_DIR / "go.mod", GO_DIR / "go.sum", *(GO_DIR / name).rglob("*.go")]):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    out = GO_CACHE / f"{name}-{h.hexdigest()[:16]}"
    if out.is_file() and os.access(out, os.X_OK):
        return out
    GO_CACHE.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    res = subprocess.run(["go", "build", "-trimpath", "-o", str(tmp), f"./{name}"], cwd=GO_DIR, env=env,
                         capture_output=True, text=True, timeout=900)
    if res.returncode != 0:
        raise TopologyError(f"go build {name} failed:\n{res.stderr[-3000:]}")
    os.replace(tmp, out)
    return out


# ---- services ----------------------------------------------------------------------------------

H2_FILES = ["index.html", "a.txt", "b.json", "small.txt", "big.txt", "big.bin", "img.png"]


def nginx_h2_conf(root: Path, ip4: str) -> str:
    return f"""
user root;
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/logs/error.log notice;
events {{ worker_connections 4096; }}
http {{
    access_log {root}/logs/access.log;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    types {{
        text/html html; text/plain txt; application/json json; image/png png; application/octet-stream bin;
    }}
    default_type application/octet-stream;
    server_tokens off;
    keepalive_timeout 65s;
    keepalive_requests 100000;
    http2_max_concurrent_streams 128;
    gzip on;
    gzip_types text/plain application/json;
    gzip_min_length 256;
    server {{
        listen {ip4}:{NGINX_H2_PORT} http2;
        root {root}/www;
        location = /h2/post {{ client_body_buffer_size 1m; client_max_body_size 8m; return 200 "posted\\n"; }}
    }}
}}
"""


class H2Services:
    def __init__(self, t: Topology):
        self.t = t
        self.root = t.workdir / "h2"
        self.gen = self.root / "grpc-gen"
        self.bins = {}

    def start(self):
        t, root = self.t, self.root
        for tool in REQUIRED:
            if shutil.which(tool) is None:
                raise TopologyError(f"e2e environment not usable: missing tool: {tool}")
        for d in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi", "logs", "www/h2"):
            (root / d).mkdir(parents=True, exist_ok=True)
        for name in H2_FILES:
            (root / "www/h2" / name).write_bytes(STATIC_FILES[name]())
        self.bins = {n: go_binary(n) for n in ("h2c", "grpcecho")}
        res = subprocess.run([sys.executable, str(TOOLS / "grpc_peer.py"), "gen", str(self.gen)],
                             capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise TopologyError(f"grpc stubs: {res.stderr}")
        srv = t.srv
        conf = root / "nginx.conf"
        conf.write_text(nginx_h2_conf(root, srv.ip4))
        t.exec("srv", ["nginx", "-t", "-c", conf, "-p", root])
        logs = root / "logs"
        procs = {
            "nginx-h2": (["nginx", "-c", conf, "-p", root], NGINX_H2_PORT),
            "h2c": ([self.bins["h2c"], "server", "-listen", f"{srv.ip4}:{H2C_PORT}"], H2C_PORT),
            "grpc-py": ([sys.executable, TOOLS / "grpc_peer.py", "server", "--listen", f"{srv.ip4}:{GRPC_PY_PORT}",
                         "--gen", self.gen], GRPC_PY_PORT),
            "grpc-go": ([self.bins["grpcecho"], "-listen", f"{srv.ip4}:{GRPC_GO_PORT}"], GRPC_GO_PORT),
            "ws": ([sys.executable, TOOLS / "ws_peer.py", "server", "--listen", srv.ip4, "--port", WS_PORT], WS_PORT),
        }
        for name, (args, _) in procs.items():
            log = logs / f"{name}.log"
            p = t.popen("srv", args, log=log)
            t.services[name] = Service(name, p, log)
        for name, (_, port) in procs.items():
            t._wait_tcp("cli", srv.ip4, port, name)
        return self


# ---- client helpers -------------------------------------------------------------------------------

def _run(t: Topology, pod: str, args, what: str, timeout=300):
    res = t.exec(pod, args, check=False, timeout=timeout)
    if res.returncode != 0:
        raise TopologyError(f"{what}: exit {res.returncode}\n$ {' '.join(map(str, args))}\n"
                            f"stdout: {res.stdout[-2000:]}\nstderr: {res.stderr[-3000:]}")
    return res


def nghttp(t: Topology, pod: str, scenario: str, urls, extra=()):
    """nghttp -nv: every stream's request pseudo-headers and :status, from its own frame log.
    Returns (H2x records, Http1x records of a `-u` upgrade)."""
    res = _run(t, pod, ["nghttp", "-nv", "-t", "60", *extra, *urls], f"nghttp {scenario}")
    return parse_nghttp(res.stdout, scenario)


def parse_nghttp(text: str, scenario: str):
    reqs, status, cur, h1 = {}, {}, None, []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"([A-Z]+) (\S+) HTTP/1\.1$", line)
        if m and i and lines[i - 1].endswith("HTTP Upgrade request"):
            reqs[1] = {"method": m.group(1), "path": m.group(2)}      # RFC 7540 §3.2: stream 1
            h1.append(Http1x(scenario, m.group(1), m.group(2), 101))
            continue
        if line.startswith("HTTP/1.1 ") and not line.startswith("HTTP/1.1 101 "):
            raise TopologyError(f"nghttp {scenario}: upgrade refused: {line}")
        m = re.search(r"send HEADERS frame <.*stream_id=(\d+)>", line)
        if m:
            cur = int(m.group(1))
            reqs[cur] = {}
            continue
        m = re.match(r"\s+(:method|:path): (.*)$", line)
        if m and cur is not None and m.group(1)[1:] not in reqs[cur]:
            reqs[cur][m.group(1)[1:]] = m.group(2)
            continue
        if not line.startswith(" "):
            cur = None
        m = re.search(r"recv \(stream_id=(\d+)\) :status: (\d+)", line)
        if m:
            status[int(m.group(1))] = int(m.group(2))
    out = []
    for sid, r in sorted(reqs.items()):
        if sid not in status:
            raise TopologyError(f"nghttp {scenario}: no response on stream {sid}")
        out.append(H2x(scenario, r.get("method", "GET"), r["path"], status[sid], sid))
    return out, h1


def curl_h2(t: Topology, pod: str, scenario: str, urls, extra=(), mode="--http2-prior-knowledge"):
    """One curl process (one connection) over HTTP/2; stream ids and statuses from its -v log.
    Returns (H2x records, Http1x records of 101 upgrades)."""
    args = ["curl", "-sS", "-v", "--max-time", "60", mode, *extra]
    for u in urls:
        args += ["-o", "/dev/null", u]
    res = _run(t, pod, args, f"curl {scenario}")
    h2, h1 = [], []
    sid, req = None, None
    for line in res.stderr.splitlines():
        m = re.search(r"Using Stream ID: (\d+)", line)
        if m:
            sid = int(m.group(1))
            continue
        m = re.match(r"> ([A-Z]+) (\S+) HTTP/(1\.1|2)$", line)
        if m:
            req = (m.group(1), m.group(2))
            continue
        m = re.match(r"< HTTP/(1\.1|2) (\d+)", line)
        if m and req:
            code = int(m.group(2))
            if m.group(1) == "1.1" and code == 101:
                h1.append(Http1x(scenario, req[0], req[1], code))
                sid = 1       # RFC 7540 §3.2: the upgrade request is stream 1
                continue
            if m.group(1) != "2" or sid is None:
                raise TopologyError(f"curl {scenario}: {line!r} is not an HTTP/2 response\n{res.stderr[-2000:]}")
            h2.append(H2x(scenario, req[0], req[1], code, sid))
            req, sid = None, None
    if len(h2) != len(urls):
        raise TopologyError(f"curl {scenario}: {len(h2)} HTTP/2 responses for {len(urls)} URLs\n{res.stderr[-3000:]}")
    return h2, h1


def grpc_client(t: Topology, pod: str, scenario: str, port: int, gen: Path, plan="main", wait_file=None,
                popen=False):
    args = [sys.executable, TOOLS / "grpc_peer.py", "client", "--target", f"{t.srv.ip4}:{port}", "--gen", gen,
            "--plan", plan]
    if wait_file:
        args += ["--wait-file", wait_file]
    if popen:
        return t.popen(pod, args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    res = _run(t, pod, args, f"grpc client {scenario}")
    return parse_grpc_log(res.stdout, scenario)


def parse_grpc_log(text: str, scenario: str) -> list[Grpcx]:
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            if "path" in r:
                out.append(Grpcx(scenario, r["path"], r["code"], r["sent"], r["received"]))
    return out


def ws_client(t: Topology, pod: str, scenario: str, path: str, compression: str):
    args = [sys.executable, TOOLS / "ws_peer.py", "client", "--url", f"ws://{t.srv.ip4}:{WS_PORT}{path}",
            "--compression", compression]
    res = _run(t, pod, args, f"ws client {scenario}")
    msgs, done = [], None
    for line in res.stdout.splitlines():
        r = json.loads(line)
        if r.get("event") == "done":
            done = r
        else:
            msgs.append(Wsx(scenario, r["from"], r["opcode"], r["size"]))
    if done is None:
        raise TopologyError(f"ws client {scenario} did not finish: {res.stdout[-2000:]}")
    want_ext = compression != "none"
    if bool(done["extensions"]) != want_ext:
        raise TopologyError(f"ws client {scenario}: negotiated {done['extensions']}, wanted compression={compression}")
    return msgs, [Http1x(scenario, "GET", path, 101)]


def u(t, port, path):
    return f"http://{t.srv.ip4}:{port}{path}"


# ---- scenarios ----------------------------------------------------------------------------------

@dataclass
class Wire:
    """What the scenarios put on the wire."""
    h2: list
    http1: list
    grpc: list
    ws: list

    def __iadd__(self, other):
        self.h2 += other.h2
        self.http1 += other.http1
        self.grpc += other.grpc
        self.ws += other.ws
        return self


def sc_nghttp(t, svc):
    base = lambda p: u(t, NGINX_H2_PORT, p)  # noqa: E731
    post = svc.root / "post.bin"
    post.write_bytes(b"kubectl-shark h2 post body\n" * 1500)
    h2 = []
    # concurrent streams with large bodies (flow control), a 404, on one connection
    h2 += nghttp(t, "cli", "h2_concurrent", [base(p) for p in ("/h2/index.html", "/h2/a.txt", "/h2/big.bin",
                                                                 "/h2/missing", "/h2/big.txt")], ["-m", "3"])[0]
    # hundreds of streams on one connection (more than nginx's 128 concurrent)
    h2 += nghttp(t, "cli2", "h2_many", [base("/h2/small.txt")], ["-m", "300"])[0]
    # HEAD, and a small header table (SETTINGS_HEADER_TABLE_SIZE, a table size update)
    h2 += nghttp(t, "cli", "h2_head", [base("/h2/big.txt"), base("/h2/b.json")], ["-H", ":method: HEAD", "-c", "512"])[0]
    # POST: nginx answers before reading the 40 kB body and resets the stream (RST_STREAM);
    # the Go server reads it all
    h2 += nghttp(t, "cli2", "h2_post", [base("/h2/post")], ["-d", str(post)])[0]
    h2 += nghttp(t, "cli2", "h2_post", [u(t, H2C_PORT, "/post/nghttp")], ["-d", str(post)])[0]
    return Wire(h2, [], [], [])


def sc_curl_h2(t, svc):
    # One URL per curl: curl 7.88.1 fails every transfer after the first on a reused
    # prior-knowledge connection ("Error in the HTTP2 framing layer"); nghttp covers many streams.
    h2 = []
    for path in ("/h2/a.txt", "/h2/b.json", "/h2/missing-curl", "/h2/big.txt"):
        h2 += curl_h2(t, "cli", "h2_curl", [u(t, NGINX_H2_PORT, path)],
                      ["-H", f"Authorization: {H2_SECRET}", "--compressed"])[0]
    # POST to the Go server (nginx's `return` answers a POST before its body and resets the
    # stream, which curl reports as a failure)
    h2 += curl_h2(t, "cli2", "h2_curl", [u(t, H2C_PORT, "/post/curl")], ["--data-binary", "x=1&y=2"])[0]
    return Wire(h2, [], [], [])


def sc_h2c_upgrade(t, svc):
    urls = [u(t, H2C_PORT, p) for p in ("/up/size/5000", "/up/missing", "/up/size/200000", "/up/hello")]
    h2, h1 = curl_h2(t, "cli", "h2c_upgrade", urls, ["-H", f"Authorization: {H2_SECRET}"], mode="--http2")
    if not h1 or h2[0].stream != 1:
        raise TopologyError(f"curl --http2 did not upgrade: {h1} {h2}")
    # nghttp -u: the upgrade too, with concurrent streams after it
    h2b, h1b = nghttp(t, "cli2", "h2c_upgrade", [u(t, H2C_PORT, "/up/nghttp"), u(t, H2C_PORT, "/up/size/3000")], ["-u"])
    if len(h1b) != 1:
        raise TopologyError(f"nghttp -u did not upgrade: {h2b}")
    return Wire(h2 + h2b, h1 + h1b, [], [])


def sc_grpc(t, svc):
    g = grpc_client(t, "cli", "grpc_py", GRPC_PY_PORT, svc.gen)
    g += grpc_client(t, "cli2", "grpc_go", GRPC_GO_PORT, svc.gen)
    return Wire([], [], g, [])


def sc_ws(t, svc):
    ws, h1 = [], []
    for scn, path, comp in (("ws_plain", "/ws/plain", "none"), ("ws_deflate", "/ws/deflate", "deflate"),
                            ("ws_deflate_nt", "/ws/deflate-nt", "deflate-no-takeover")):
        m, h = ws_client(t, "cli", scn, path, comp)
        ws += m
        h1 += h
    return Wire([], h1, [], ws)


SCENARIOS = {"nghttp": sc_nghttp, "curl_h2": sc_curl_h2, "h2c_upgrade": sc_h2c_upgrade, "grpc": sc_grpc, "ws": sc_ws}


def run_h2_scenarios(t: Topology, svc: H2Services, names=None) -> Wire:
    w = Wire([], [], [], [])
    for name in names or SCENARIOS:
        w += SCENARIOS[name](t, svc)
        t.check_services_alive()
    return w


# ---- long-lived connections in two waves (captures started mid-connection) ------------------------

def run_waves(t: Topology, svc: H2Services, on_pause) -> Wire:
    """Long-lived connections that make requests in two waves: wave 0 fills the HPACK dynamic
    tables, then every client waits; `on_pause()` runs while all of them wait (the test notes the
    time there, to cut the capture), then wave 1 repeats the same headers (indexed from the dynamic
    tables) and adds new paths (literal). One Go HTTP/2 client against the Go server and nginx,
    and a gRPC client against each gRPC server, all at once."""
    flag = svc.root / f"wave-go-{time.time_ns()}"
    hdr = ["-header", "x-shk-wave: populated-header-value", "-header", f"authorization: {H2_SECRET}"]
    procs = {
        "h2_waves_go": t.popen("cli", [svc.bins["h2c"], "client", "-url", u(t, H2C_PORT, ""), *hdr,
                                       "-wave", "GET /w/size/100,GET /w/size/100,POST /w/post,GET /w/missing",
                                       "-wave", f"WAIT {flag}",
                                       "-wave", "GET /w/size/100,GET /w/size/100,GET /w/new-path,POST /w/post"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE),
        "h2_waves_nginx": t.popen("cli2", [svc.bins["h2c"], "client", "-url", u(t, NGINX_H2_PORT, ""), *hdr,
                                           "-wave", "GET /h2/a.txt,GET /h2/a.txt,GET /h2/missing",
                                           "-wave", f"WAIT {flag}",
                                           "-wave", "GET /h2/a.txt,GET /h2/b.json,GET /h2/missing"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE),
        "grpc_waves_py": grpc_client(t, "cli", "grpc_waves_py", GRPC_PY_PORT, svc.gen, "waves", flag, popen=True),
        "grpc_waves_go": grpc_client(t, "cli2", "grpc_waves_go", GRPC_GO_PORT, svc.gen, "waves", flag, popen=True),
    }
    lines = {name: b"" for name in procs}
    try:
        for name, p in procs.items():
            line = b""
            while b"wave-done" not in line:
                line = p.stdout.readline()     # the clients end (and so EOF) on any failure
                if not line:
                    p.wait(10)
                    raise TopologyError(f"{name} ended before its first wave finished: {p.stderr.read()[-2000:]}")
                lines[name] += line
        on_pause()
        flag.write_text("go")
        w = Wire([], [], [], [])
        for name, p in procs.items():
            rest, err = p.communicate(timeout=120)
            t.forget(p)
            if p.returncode != 0:
                raise TopologyError(f"{name}: exit {p.returncode}: {err.decode(errors='replace')[-2000:]}")
            text = (lines[name] + rest).decode()
            if name.startswith("grpc"):
                w.grpc += parse_grpc_log(text, name)
            else:
                for ln in text.splitlines():
                    r = json.loads(ln)
                    if "method" in r:
                        if r.get("proto") != "HTTP/2.0":
                            raise TopologyError(f"{name}: {r}")
                        w.h2.append(H2x(name, r["method"], r["path"], r["status"], None))
        return w
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(10)
            t.forget(p)


# ---- expectations as multisets ---------------------------------------------------------------------

def h2_counter(items, with_stream=True):
    return Counter((x.method, x.path, x.status, x.stream if with_stream else None) for x in items)


def grpc_counter(items):
    return Counter((x.path, x.status, x.sent, x.received) for x in items)


def ws_counter(items):
    return Counter((x.direction, x.opcode, x.size) for x in items)


def http1_counter(items):
    return Counter((x.method, x.path, x.status) for x in items)
