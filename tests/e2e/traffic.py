"""Traffic scenarios run between the pods of a Topology, with real clients and servers.

Every scenario returns what it is expected to put on the wire (`Expect` records): the tests use
them to check that the oracle (tshark) really finds every exchange, before comparing the CLI's
output with the oracle. Each scenario also checks its clients' own view (curl's status codes,
dig's rcodes), so a broken server shows up as a traffic failure, not as an oracle mismatch.

HTTP requests are attributable to scenarios by their path (see `http_scenario`), DNS queries by
transport and address family (see `dns_scenario`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from topology import DNS_PORT, HTTP_PORT, ORIGIN_PORT, TOOLS, ZONE, Topology, TopologyError


@dataclass(frozen=True)
class Expect:
    scenario: str
    proto: str                # "http" | "dns"
    method: str = ""
    path: str = ""
    status: int | None = None
    qname: str = ""
    qtype: str = ""
    rcode: str = ""
    transport: str = "tcp"
    family: int = 4


def http_scenario(path: str) -> str:
    """Which scenario a request belongs to, from its path."""
    rules = [
        (r"/pipe", "pipeline"), (r"^/ka/", "keepalive"), (r"^/(chunked|proxy/chunked)/", "chunked_resp"),
        (r"^/(echo|proxy/echo)/", "chunked_req"), (r"^/gz/", "gzip"), (r"^/head/", "head"),
        (r"^/cond/", "cond_304"), (r"^/nc", "no_content_204"), (r"^/upload/", "expect_100"),
        (r"^/v6/", "ipv6"), (r"^/(h10|close)/", "http10"), (r"^/short/", "short_conns"),
        (r"^/live/", "live"), (r"^/bench/", "bench"),
    ]
    for rx, name in rules:
        if re.search(rx, path):
            return name
    return "other"


def dns_scenario(transport: str, server_ip: str) -> str:
    fam = 6 if ":" in server_ip else 4
    return f"dns_{transport}" + ("_v6" if fam == 6 else "")


CURL = ["curl", "-sS", "--max-time", "60", "-w", "%{http_code}\\n"]


def curl(t: Topology, pod: str, urls, extra=(), expect_codes=None):
    """One curl process (so one connection where curl can reuse it) fetching every URL."""
    args = list(CURL) + list(extra)
    for u in urls:
        args += ["-o", "/dev/null", u]
    res = t.exec(pod, args, check=False, timeout=300)
    codes = [int(x) for x in res.stdout.split() if x.isdigit()]
    if res.returncode != 0 or (expect_codes is not None and codes != list(expect_codes)):
        raise TopologyError(f"curl {urls} -> rc={res.returncode} codes={codes} "
                            f"expected {expect_codes}\nstderr: {res.stderr}")
    return codes


def py_client(t: Topology, pod: str, args, timeout=120):
    res = t.exec(pod, [sys.executable, TOOLS / "client.py"] + list(args), check=False, timeout=timeout)
    if res.returncode != 0:
        raise TopologyError(f"client.py {args} failed: {res.stderr}")
    return [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]


def u4(t, path, port=HTTP_PORT):
    return f"http://{t.srv.ip4}{'' if port == 80 else f':{port}'}{path}"


def u6(t, path, port=HTTP_PORT):
    return f"http://[{t.srv.ip6}]{'' if port == 80 else f':{port}'}{path}"


def H(scn, method, path, status, family=4):
    return Expect(scn, "http", method=method, path=path, status=status, family=family)


# ---- HTTP scenarios ------------------------------------------------------------------------

def sc_keepalive(t):
    paths = ["/ka/index.html", "/ka/a.txt", "/ka/b.json", "/ka/c.css", "/ka/img.png",
             "/ka/big.bin", "/ka/missing.txt", "/ka/small.txt?x=1&y=two"]
    codes = [200, 200, 200, 200, 200, 200, 404, 200]
    curl(t, "cli", [u4(t, p) for p in paths], expect_codes=codes)
    return [H("keepalive", "GET", p, c) for p, c in zip(paths, codes)]


def sc_pipeline(t):
    reqs = ["GET /pipe/a.txt", "GET /pipe/b.json", "HEAD /pipe/big.bin", "GET /pipe/small.txt",
            "GET /pipe/missing", "GET /nc/pipe", "GET /pipe/img.png", "GET /pipe/index.html?q=last"]
    codes = [200, 200, 200, 200, 404, 204, 200, 200]
    got = py_client(t, "cli", ["pipeline", t.srv.ip4, HTTP_PORT, *reqs, "--close-last"])
    # Against the Python origin: a chunked response and a HEAD inside the pipeline.
    reqs2 = ["GET /hello/pipe1", "GET /chunked/pipe?n=3&size=50", "HEAD /hello/pipe3", "GET /hello/pipe4"]
    codes2 = [200, 200, 200, 200]
    got2 = py_client(t, "cli2", ["pipeline", t.srv.ip4, ORIGIN_PORT, *reqs2])
    if [g["status"] for g in got] != codes or [g["status"] for g in got2] != codes2:
        raise TopologyError(f"pipeline statuses {got} {got2}")
    return [H("pipeline", *r.split(" ", 1), c) for r, c in zip(reqs + reqs2, codes + codes2)]


def sc_chunked_resp(t):
    paths = ["/chunked/a?n=20&size=1000", "/chunked/t?n=5&size=300&trailer=1"]
    curl(t, "cli", [u4(t, p, ORIGIN_PORT) for p in paths], expect_codes=[200, 200])
    # nginx re-chunks a chunked upstream response (proxy_buffering off).
    curl(t, "cli2", [u4(t, "/proxy/chunked/p?n=6&size=2000")], expect_codes=[200])
    return ([H("chunked_resp", "GET", p, 200) for p in paths]
            + [H("chunked_resp", "GET", "/proxy/chunked/p?n=6&size=2000", 200)])


def sc_chunked_req(t):
    body = t.workdir / "chunked-body.bin"
    body.write_bytes(hashlib.sha256(b"c").digest() * 6250)  # 200 000 bytes
    te = ["-H", "Transfer-Encoding: chunked", "-H", "Content-Type: application/octet-stream",
          "--data-binary", f"@{body}"]
    curl(t, "cli", [u4(t, "/echo/curl", ORIGIN_PORT)], extra=te, expect_codes=[200])
    got = py_client(t, "cli", ["chunked-post", t.srv.ip4, ORIGIN_PORT, "/echo/py", "--chunks", "30",
                               "--size", "700", "--trailer"])
    if got[0]["status"] != 200 or json.loads(got[0]["body"])["received"] != 30 * 700:
        raise TopologyError(f"chunked-post: {got}")
    # nginx reads a chunked request body and forwards it upstream with a Content-Length.
    curl(t, "cli2", [u4(t, "/proxy/echo/via-nginx")], extra=te, expect_codes=[200])
    return [H("chunked_req", "POST", "/echo/curl", 200), H("chunked_req", "POST", "/echo/py", 200),
            H("chunked_req", "POST", "/proxy/echo/via-nginx", 200)]


def sc_gzip(t):
    paths = ["/gz/big.txt", "/gz/data.json", "/gz/c.css"]
    curl(t, "cli", [u4(t, p) for p in paths], extra=["--compressed"], expect_codes=[200] * 3)
    curl(t, "cli", [u4(t, "/gz/big.txt?plain=1")], expect_codes=[200])  # no Accept-Encoding
    return [H("gzip", "GET", p, 200) for p in paths + ["/gz/big.txt?plain=1"]]


def sc_head(t):
    curl(t, "cli", [u4(t, "/head/a.txt"), u4(t, "/head/big.bin")], extra=["-I"], expect_codes=[200, 200])
    curl(t, "cli", [u4(t, "/head/big.txt")], extra=["-I", "--compressed"], expect_codes=[200])
    return [H("head", "HEAD", p, 200) for p in ("/head/a.txt", "/head/big.bin", "/head/big.txt")]


def sc_cond_304(t):
    hdr = t.workdir / "cond-headers.txt"
    curl(t, "cli", [u4(t, "/cond/a.txt")], extra=["-D", str(hdr)], expect_codes=[200])
    h = {k.strip().lower(): v.strip() for k, _, v in
         (ln.partition(":") for ln in hdr.read_text().splitlines() if ":" in ln)}
    etag, lm = h["etag"], h["last-modified"]
    curl(t, "cli", [u4(t, "/cond/a.txt")], extra=["-H", f"If-None-Match: {etag}"], expect_codes=[304])
    curl(t, "cli", [u4(t, "/cond/a.txt")], extra=["-H", f"If-Modified-Since: {lm}"], expect_codes=[304])
    curl(t, "cli", [u4(t, "/cond/a.txt")], extra=["-H", 'If-None-Match: "stale"'], expect_codes=[200])
    return [H("cond_304", "GET", "/cond/a.txt", s) for s in (200, 304, 304, 200)]


def sc_no_content_204(t):
    curl(t, "cli", [u4(t, "/nc")], expect_codes=[204])
    curl(t, "cli", [u4(t, "/nc/item-7")], extra=["-X", "DELETE"], expect_codes=[204])
    curl(t, "cli", [u4(t, "/nc/form")], extra=["--data", "x=1&y=2"], expect_codes=[204])
    return [H("no_content_204", "GET", "/nc", 204), H("no_content_204", "DELETE", "/nc/item-7", 204),
            H("no_content_204", "POST", "/nc/form", 204)]


BIG_PUT_SIZE = 6 * 1024 * 1024 + 123


def sc_expect_100(t):
    f = t.workdir / "big-put.bin"
    seed = hashlib.sha256(b"put").digest()
    f.write_bytes((seed * (BIG_PUT_SIZE // 32 + 1))[:BIG_PUT_SIZE])
    curl(t, "cli", [u4(t, "/upload/big.bin", ORIGIN_PORT)],
         extra=["-T", str(f), "-H", "Expect: 100-continue", "--expect100-timeout", "30"], expect_codes=[201])
    return [H("expect_100", "PUT", "/upload/big.bin", 201)]


def sc_ipv6(t):
    paths = ["/v6/a.txt", "/v6/b.json", "/v6/missing"]
    curl(t, "cli", [u6(t, p) for p in paths], extra=["-g"], expect_codes=[200, 200, 404])
    curl(t, "cli2", [u6(t, "/chunked/v6?n=4&size=100", ORIGIN_PORT)], extra=["-g"], expect_codes=[200])
    got = py_client(t, "cli2", ["pipeline", t.srv.ip6, HTTP_PORT, "GET /v6/pipe-1.txt", "GET /v6/small.txt"])
    if [g["status"] for g in got] != [404, 200]:
        raise TopologyError(f"v6 pipeline {got}")
    return ([H("ipv6", "GET", p, c, 6) for p, c in zip(paths, [200, 200, 404])]
            + [H("ipv6", "GET", "/chunked/v6?n=4&size=100", 200, 6),
               H("pipeline", "GET", "/v6/pipe-1.txt", 404, 6), H("ipv6", "GET", "/v6/small.txt", 200, 6)])


def sc_http10(t):
    curl(t, "cli", [u4(t, "/h10/a.txt")], extra=["-0"], expect_codes=[200])            # nginx, 1.0 request
    curl(t, "cli", [u4(t, "/close/a?size=20000", ORIGIN_PORT)], extra=["-0"], expect_codes=[200])
    curl(t, "cli2", [u4(t, "/close/b?size=3000", ORIGIN_PORT)], expect_codes=[200])  # 1.1 req, 1.0 resp
    return [H("http10", "GET", "/h10/a.txt", 200), H("http10", "GET", "/close/a?size=20000", 200),
            H("http10", "GET", "/close/b?size=3000", 200)]


SHORT_CONNS = 200


def sc_short_conns(t):
    paths = [f"/short/small.txt?i={i}" for i in range(SHORT_CONNS)]
    curl(t, "cli2", [u4(t, p) for p in paths], extra=["-H", "Connection: close", "-Z", "--parallel-max", "8"],
         expect_codes=None)
    return [H("short_conns", "GET", p, 200) for p in paths]


# ---- DNS scenarios -------------------------------------------------------------------------

def dns_queries(t):
    z = ZONE
    rev4 = ipaddress.ip_address(t.srv.ip4).reverse_pointer
    rev6 = ipaddress.ip_address(t.srv.ip6).reverse_pointer
    return [
        (f"www.{z}", "A", "NOERROR"), (f"www.{z}", "AAAA", "NOERROR"), (f"v6only.{z}", "AAAA", "NOERROR"),
        (f"multi.{z}", "A", "NOERROR"), (f"alias.{z}", "CNAME", "NOERROR"), (f"alias.{z}", "A", "NOERROR"),
        (f"chain.{z}", "A", "NOERROR"), (f"txt.{z}", "TXT", "NOERROR"), (f"multi-txt.{z}", "TXT", "NOERROR"),
        (z, "MX", "NOERROR"), (f"mx2.{z}", "MX", "NOERROR"), (f"_http._tcp.{z}", "SRV", "NOERROR"),
        (f"_dns._udp.{z}", "SRV", "NOERROR"), (rev4, "PTR", "NOERROR"), (rev6, "PTR", "NOERROR"),
        (z, "NS", "NOERROR"), (z, "SOA", "NOERROR"), (f"nope.{z}", "A", "NXDOMAIN"),
        (f"missing.nope.{z}", "AAAA", "NXDOMAIN"),
    ]


def dig(t, pod, server, queries, tcp=False):
    """One dig process; over TCP it opens one connection per query."""
    args = ["dig", f"@{server}", "+tries=1", "+time=5", "+nostats"]
    if tcp:
        args.append("+tcp")
    for name, qtype, _ in queries:
        args += [name, qtype]
    res = t.exec(pod, args, check=False, timeout=120)
    rcodes = re.findall(r"status: ([A-Z]+)", res.stdout)
    if res.returncode != 0 or rcodes != [q[2] for q in queries]:
        raise TopologyError(f"dig {args} -> rc={res.returncode} rcodes={rcodes}\n{res.stdout}\n{res.stderr}")


def _D(scn, q, transport, family):
    return Expect(scn, "dns", qname=q[0], qtype=q[1], rcode=q[2], transport=transport, family=family)


def sc_dns_udp(t):
    qs = dns_queries(t)
    dig(t, "cli", t.srv.ip4, qs)
    return [_D("dns_udp", q, "udp", 4) for q in qs]


def dns_tcp_conn(t, pod, server, queries, pipeline=False):
    """Several queries on one TCP connection (tests/tools/client.py dns-tcp), written one at a time
    or all at once (pipelined). The server may end a connection after any answer: dnsmasq 2.90
    does so at random after its authoritative answers over TCP, and every query to an
    `auth-server` address (ours, see topology.dnsmasq_conf) gets one: tcp_request() reads two
    local flags, `stale` and `filtered`, that only its cache path (answer_request) sets; after
    answer_auth() they hold stack garbage, a non-zero `stale` shuts the connection down after
    the answer and a non-zero `filtered` adds EDE 17 (Filtered). The client then writes the
    unanswered queries again on a new connection, so what is on the wire depends on the server:
    the expectations are what the client wrote, each with the rcode it got or None (no answer on
    that connection), and the oracle (tshark) judges the CLI on whatever it was. Every query must
    be answered once, with the expected rcode, and the first connection must carry several
    queries (all of them when pipelined; at least two otherwise, since the second is written
    after the first answer even when the server has closed)."""
    args = ["dns-tcp", server, DNS_PORT] + [f"{n}/{qt}" for n, qt, _ in queries]
    got = py_client(t, pod, args + (["--pipeline"] if pipeline else []))
    want = {(n, qt): rc for n, qt, rc in queries}
    answers = [g for g in got if g["rcode"] is not None]
    first_conn = sum(1 for g in got if g["conn"] == 1)
    if (Counter((g["qname"], g["qtype"]) for g in answers) != Counter((n, qt) for n, qt, _ in queries)
            or any(g["rcode"] != want[(g["qname"], g["qtype"])] for g in answers)
            or first_conn < (len(queries) if pipeline else min(len(queries), 2))):
        raise TopologyError(f"dns-tcp {args} pipeline={pipeline}: {got}")
    fam = 6 if ":" in server else 4
    return [Expect(dns_scenario("tcp", server), "dns", qname=g["qname"], qtype=g["qtype"], rcode=g["rcode"],
                   transport="tcp", family=fam) for g in got]


def sc_dns_tcp(t):
    qs = dns_queries(t)
    dig(t, "cli2", t.srv.ip4, qs, tcp=True)                 # one connection per query
    several = qs[:3] + [q for q in qs if q[2] == "NXDOMAIN"][:1]
    return ([_D("dns_tcp", q, "tcp", 4) for q in qs]
            + dns_tcp_conn(t, "cli", t.srv.ip4, several)                    # one query at a time
            + dns_tcp_conn(t, "cli2", t.srv.ip4, several, pipeline=True))   # all in one write


def sc_dns_v6(t):
    qs = [q for q in dns_queries(t) if q[1] in ("AAAA", "A", "NS", "SOA")][:5]
    dig(t, "cli", t.srv.ip6, qs)
    dig(t, "cli2", t.srv.ip6, qs, tcp=True)
    return [_D("dns_udp_v6", q, "udp", 6) for q in qs] + [_D("dns_tcp_v6", q, "tcp", 6) for q in qs]


SCENARIOS = {
    "keepalive": sc_keepalive, "pipeline": sc_pipeline, "chunked_resp": sc_chunked_resp,
    "chunked_req": sc_chunked_req, "gzip": sc_gzip, "head": sc_head, "cond_304": sc_cond_304,
    "no_content_204": sc_no_content_204, "expect_100": sc_expect_100, "ipv6": sc_ipv6,
    "http10": sc_http10, "short_conns": sc_short_conns,
    "dns_udp": sc_dns_udp, "dns_tcp": sc_dns_tcp, "dns_v6": sc_dns_v6,
}


def run_scenarios(t: Topology, names=None) -> list[Expect]:
    out = []
    for name in names or SCENARIOS:
        out += SCENARIOS[name](t)
        t.check_services_alive()
    return out


def expected_http_counter(expects):
    """Multiset of (method, path, status) the wire must carry."""
    return Counter((e.method, e.path, e.status) for e in expects if e.proto == "http")


def expected_dns_counter(expects):
    return Counter((e.transport, e.qname, e.qtype, e.rcode) for e in expects if e.proto == "dns")


def run_small_mix(t: Topology) -> list[Expect]:
    """A short, quick mix of HTTP and DNS (used for second captures and live stop tests)."""
    paths = ["/live/a.txt", "/live/b.json", "/live/missing"]
    curl(t, "cli", [u4(t, p) for p in paths], expect_codes=[200, 200, 404])
    qs = dns_queries(t)[:4]
    dig(t, "cli2", t.srv.ip4, qs)
    return ([H("live", "GET", p, c) for p, c in zip(paths, [200, 200, 404])]
            + [_D("dns_udp", q, "udp", 4) for q in qs])
