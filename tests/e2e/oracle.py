"""tshark as the oracle: what HTTP and DNS exchanges a capture really holds, and the comparison
of kubectl-shark's entries with it.

HTTP: `tshark -Y http -T fields` lists requests (method, target, version) and responses (status)
per TCP connection (tcp.stream). tshark's own request/response matching is wrong for pipelined
requests (it keeps the *latest* request's method per conversation), so requests and final
responses are paired here by order within the connection; 1xx interim responses are attached to
the request being answered. When tshark's response framing itself breaks (a HEAD inside a
pipeline makes it expect a body the response never has, and it swallows the following
responses), the connection is re-read from tshark's own reassembled byte stream
(`-z follow,tcp,raw`) and framed here by RFC 9112 rules, knowing every request's method; the
requests found that way must equal tshark's.

DNS: `tshark -Y dns -T json` gives every message with its sections; queries and responses are
paired on (transport, client, server, id) in order.

Keys compared (as multisets):
  HTTP: (client ip, client port, server ip, server port, method, path, status)
  DNS:  (transport, client ip, client port, server ip, server port, id, qname, qtype, rcode,
         sorted answers (name, type, ttl, data))
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

TSHARK_PREFS = ["-o", "tcp.reassemble_out_of_order:TRUE", "-o", "tcp.desegment_tcp_streams:TRUE",
                "-o", "http.desegment_headers:TRUE", "-o", "http.desegment_body:TRUE",
                "-o", "http.dechunk_body:TRUE", "-o", "dns.desegment_dns_messages:TRUE"]
SEP = "\x1f"
AGG = "\x1e"

DNS_TYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 13: "HINFO", 15: "MX", 16: "TXT",
             28: "AAAA", 33: "SRV", 35: "NAPTR", 39: "DNAME", 41: "OPT", 43: "DS", 46: "RRSIG",
             47: "NSEC", 48: "DNSKEY", 64: "SVCB", 65: "HTTPS", 99: "SPF", 252: "AXFR", 255: "ANY",
             257: "CAA"}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
          6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE"}


def canon_ip(ip) -> str:
    try:
        return str(ipaddress.ip_address(str(ip)))
    except ValueError:
        return str(ip)


def tshark(pcap, *args, timeout=900) -> str:
    res = subprocess.run(["tshark", "-n", "-r", str(pcap), *TSHARK_PREFS, *args],
                         capture_output=True, text=True, timeout=timeout)
    # tshark exits 2 on a capture cut short but still prints what it read; keep stderr for that.
    if res.returncode not in (0, 2):
        raise RuntimeError(f"tshark failed ({res.returncode}): {res.stderr}")
    return res.stdout


def tshark_warnings(pcap) -> str:
    res = subprocess.run(["tshark", "-n", "-r", str(pcap), "-q"], capture_output=True, text=True)
    return res.stderr


def time_ns(epoch: str) -> int:
    sec, _, frac = epoch.partition(".")
    return int(sec) * 1_000_000_000 + int((frac + "000000000")[:9])


# ---- HTTP ------------------------------------------------------------------------------------

@dataclass
class HttpEx:
    stream: int
    client: tuple
    server: tuple
    method: str
    path: str
    status: int | None
    req_version: str = ""
    resp_version: str | None = None
    interim: list = field(default_factory=list)
    req_frame: int = 0
    req_time_ns: int = 0           # time of the frame where tshark completed the request
    req_single_frame: bool = False  # the whole request is inside that frame: its time is the first byte's
    framed_by: str = "tshark"       # or "follow" when the connection had to be re-framed
    req_headers: list | None = None   # [[name, value]] in wire order, when known unambiguously
    resp_headers: list | None = None

    @property
    def key(self):
        return (self.client[0], self.client[1], self.server[0], self.server[1], self.method, self.path,
                self.status)

    @property
    def conn(self):
        return (self.client, self.server)


HTTP_FIELDS = ["frame.number", "frame.time_epoch", "tcp.stream", "ip.src", "ipv6.src", "tcp.srcport",
               "ip.dst", "ipv6.dst", "tcp.dstport", "http.request.method", "http.request.uri",
               "http.request.version", "http.response.code", "http.response.version",
               "tcp.segment.count", "http.request.line", "http.response.line"]


def _split(v):
    return v.split(AGG) if v else []


def _headers(v):
    out = []
    for line in _split(v):
        # tshark prints the line's CRLF as the four characters \r\n
        line = line[:-4] if line.endswith("\\r\\n") else line.rstrip("\r\n")
        name, _, value = line.partition(":")
        out.append([name, value.strip(" \t")])
    return out


def http_exchanges(pcap, quirks: list | None = None) -> list[HttpEx]:
    quirks = quirks if quirks is not None else []
    args = ["-Y", "http", "-T", "fields", "-E", f"separator={SEP}", "-E", "occurrence=a",
            "-E", f"aggregator={AGG}", "-E", "quote=n"]
    for f in HTTP_FIELDS:
        args += ["-e", f]
    out = tshark(pcap, *args)
    streams = defaultdict(lambda: {"reqs": [], "resps": [], "suspect": []})
    for line in out.split("\n"):  # not splitlines(): it also splits on \x1e
        v = dict(zip(HTTP_FIELDS, line.split(SEP)))
        if not v.get("tcp.stream"):
            continue
        st = streams[int(v["tcp.stream"])]
        src = (canon_ip(v["ip.src"] or v["ipv6.src"]), int(v["tcp.srcport"]))
        dst = (canon_ip(v["ip.dst"] or v["ipv6.dst"]), int(v["tcp.dstport"]))
        frame, t = int(v["frame.number"]), time_ns(v["frame.time_epoch"])
        single = not v.get("tcp.segment.count")
        methods, uris, vers = _split(v["http.request.method"]), _split(v["http.request.uri"]), \
            _split(v["http.request.version"])
        codes, rvers = _split(v["http.response.code"]), _split(v["http.response.version"])
        # header lines can only be attributed when the frame carries a single message
        req_lines = _headers(v["http.request.line"]) if len(methods) == 1 else None
        resp_lines = _headers(v["http.response.line"]) if len(codes) == 1 else None
        if methods:
            if not (len(methods) == len(uris) == len(vers)):
                st["suspect"].append(f"frame {frame}: misaligned request fields")
            for m, u, ver in zip(methods, uris, vers):
                st["reqs"].append(dict(client=src, server=dst, method=m, path=u, version=ver,
                                       frame=frame, t=t, single=single, headers=req_lines))
        if codes:
            if len(codes) != len(rvers):
                st["suspect"].append(f"frame {frame}: misaligned response fields")
            for c, ver in zip(codes, rvers):
                st["resps"].append(dict(code=int(c), version=ver, frame=frame, server=src,
                                        headers=resp_lines))
        if not methods and not codes:
            st["suspect"].append(f"frame {frame}: http PDU without request or status line")
    result = []
    refollow = {}
    for sid, st in sorted(streams.items()):
        finals = [r for r in st["resps"] if not (100 <= r["code"] < 200 and r["code"] != 101)]
        if st["suspect"] or len(finals) > len(st["reqs"]) or (
                len(finals) < len(st["reqs"]) and len(st["reqs"]) > 1):
            refollow[sid] = st
            continue
        result += _pair(sid, st["reqs"], st["resps"])
    if refollow:
        follows = follow_streams(pcap, list(refollow))
        for sid, st in refollow.items():
            c2s, s2c = follows[sid]
            exs = _reframe(sid, st, c2s, s2c)
            quirks.append(f"tcp.stream {sid}: tshark framed {len(st['reqs'])} requests / "
                          f"{len(st['resps'])} responses ({'; '.join(st['suspect'][:2]) or 'count mismatch'}); "
                          f"re-framed from the reassembled stream: {len(exs)} exchanges")
            result += exs
    return result


def _pair(sid, reqs, resps, framed_by="tshark"):
    """Pairs requests with final responses by order; 1xx go to the request being answered."""
    out = []
    pending_interim = defaultdict(list)
    finals = []
    for r in resps:
        if 100 <= r["code"] < 200 and r["code"] != 101:
            pending_interim[len(finals)].append(r["code"])
        else:
            finals.append(r)
    for i, q in enumerate(reqs):
        resp = finals[i] if i < len(finals) else None
        out.append(HttpEx(stream=sid, client=q["client"], server=q["server"], method=q["method"],
                          path=q["path"], status=resp["code"] if resp else None,
                          req_version=q["version"], resp_version=resp["version"] if resp else None,
                          interim=pending_interim.get(i, []), req_frame=q["frame"], req_time_ns=q["t"],
                          req_single_frame=q["single"], framed_by=framed_by,
                          req_headers=q.get("headers"), resp_headers=resp.get("headers") if resp else None))
    return out


def follow_streams(pcap, sids) -> dict:
    """tshark's reassembled payload of each stream: {sid: (client->server bytes, server->client bytes)}.
    Node 0 is the side that sent the first packet tshark saw (the client for a captured handshake)."""
    out = {}
    args = []
    for sid in sids:
        args += ["-z", f"follow,tcp,raw,{sid}"]
    text = tshark(pcap, "-q", *args)
    for block in text.split("=" * 67):
        m = re.search(r"Filter: tcp\.stream eq (\d+)", block)
        if not m:
            continue
        a, b = bytearray(), bytearray()
        for line in block.splitlines():
            if not line.strip() or ":" in line:
                continue
            if line.startswith("\t"):
                b += bytes.fromhex(line.strip())
            else:
                a += bytes.fromhex(line.strip())
        out[int(m.group(1))] = (bytes(a), bytes(b))
    return out


class _Buf:
    def __init__(self, data):
        self.d, self.i = data, 0

    def line(self):
        j = self.d.find(b"\r\n", self.i)
        if j < 0:
            raise EOFError
        ln, self.i = self.d[self.i:j], j + 2
        return ln

    def take(self, n):
        if self.i + n > len(self.d):
            raise EOFError
        self.i += n

    def headers(self):
        hs = []
        while True:
            ln = self.line()
            if not ln:
                return hs
            k, _, v = ln.decode("latin-1").partition(":")
            hs.append((k.strip().lower(), v.strip()))

    def body(self, hs, close_delimited_ok):
        h = dict(hs)
        if "chunked" in h.get("transfer-encoding", "").lower():
            while True:
                size = int(self.line().split(b";")[0].strip(), 16)
                if size == 0:
                    self.headers()  # trailers
                    return
                self.take(size)
                if self.line() != b"":
                    raise ValueError("bad chunk end")
        elif "content-length" in h:
            self.take(int(h["content-length"]))
        elif close_delimited_ok:
            self.i = len(self.d)


def parse_requests(data: bytes):
    b, out = _Buf(data), []
    while b.i < len(data):
        try:
            method, target, version = b.line().decode("latin-1").split(" ", 2)
            hs = b.headers()
            b.body(hs, close_delimited_ok=False)
        except (EOFError, ValueError):
            break
        out.append((method, target, version))
    return out


def parse_responses(data: bytes, methods):
    """Status codes of the responses in `data`, given the request methods in order (HEAD and
    1xx/204/304 responses have no body). Returns [(code, version)] including interim ones."""
    b, out, k = _Buf(data), [], 0
    while b.i < len(data) and k < len(methods):
        try:
            version, code = b.line().decode("latin-1").split(" ", 2)[:2]
            code = int(code)
            hs = b.headers()
            if not (100 <= code < 200 or code in (204, 304) or methods[k] == "HEAD"):
                b.body(hs, close_delimited_ok=True)
        except (EOFError, ValueError):
            break
        out.append((code, version))
        if not (100 <= code < 200 and code != 101):
            k += 1
    return out


def _reframe(sid, st, c2s, s2c):
    reqs = st["reqs"]
    if not reqs:
        return []
    parsed = parse_requests(c2s)
    if [(m, u) for m, u, _ in parsed] != [(q["method"], q["path"]) for q in reqs]:
        gaps = b"missing in capture file" in c2s or b"missing in capture file" in s2c
        raise AssertionError(f"oracle: tcp.stream {sid}: requests in the reassembled stream "
                             f"{parsed[:6]}... differ from tshark's {[(q['method'], q['path']) for q in reqs][:6]}..."
                             + (" (the capture lost packets: tshark marks bytes missing)" if gaps else ""))
    resps = [dict(code=c, version=v, frame=0, server=reqs[0]["server"])
             for c, v in parse_responses(s2c, [q["method"] for q in reqs])]
    return _pair(sid, reqs, resps, framed_by="follow")


def tcp_payload_bytes(pcap) -> dict:
    """{(src endpoint, dst endpoint): bytes of the TCP stream} — the union of the sequence ranges
    that segments carry, per connection and direction, so a retransmission sent with different
    boundaries (e.g. after part of a GSO super-packet was lost on a veth) is counted once."""
    ranges = defaultdict(list)          # (tcp.stream, src, dst) -> [(start, end)]
    text = tshark(pcap, "-Y", "tcp.len > 0", "-T", "fields",
                  "-E", f"separator={SEP}", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport",
                  "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport", "-e", "tcp.stream",
                  "-e", "tcp.seq", "-e", "tcp.len")
    for line in text.split("\n"):
        f = line.split(SEP)
        if len(f) < 9:
            continue
        src = (canon_ip(f[0] or f[1]), int(f[2]))
        dst = (canon_ip(f[3] or f[4]), int(f[5]))
        start, length = int(f[7]), int(f[8])
        ranges[(int(f[6]), src, dst)].append((start, start + length))
    out = defaultdict(int)
    for (_stream, src, dst), rs in ranges.items():
        covered, end = 0, None
        for a, b in sorted(rs):
            if end is None or a >= end:
                covered += b - a
                end = b
            elif b > end:
                covered += b - end
                end = b
        out[(src, dst)] += covered
    return dict(out)


# ---- DNS ---------------------------------------------------------------------------------------

@dataclass
class DnsEx:
    transport: str
    client: tuple
    server: tuple
    id: int
    qname: str
    qtype: str
    rcode: str | None
    answers: tuple        # sorted ((name, type, ttl, data), ...)
    query_frame: int = 0
    query_time_ns: int = 0
    query_single_frame: bool = True
    authorities: tuple = ()
    additionals: tuple = ()
    query_size: int | None = None      # DNS message length (UDP only)
    response_size: int | None = None

    @property
    def key(self):
        return (self.transport, self.client[0], self.client[1], self.server[0], self.server[1], self.id,
                self.qname, self.qtype, self.rcode, self.answers)


def txt_canon(s: str) -> str:
    """TXT data with several character-strings has no single obvious text form; compare it with
    quotes and white space removed."""
    return re.sub(r'[\s"]', "", s)


def rr_data(rr: dict, rtype: str) -> str:
    g = rr.get
    if rtype == "A":
        return g("dns.a", "")
    if rtype == "AAAA":
        return canon_ip(g("dns.aaaa", ""))
    if rtype == "CNAME":
        return g("dns.cname", "")
    if rtype == "NS":
        return g("dns.ns", "")
    if rtype == "PTR":
        return g("dns.ptr.domain_name", "")
    if rtype == "MX":
        return f"{g('dns.mx.preference')} {g('dns.mx.mail_exchange')}"
    if rtype == "SRV":
        return f"{g('dns.srv.priority')} {g('dns.srv.weight')} {g('dns.srv.port')} {g('dns.srv.target')}"
    if rtype == "SOA":
        return " ".join(str(g(k)) for k in ("dns.soa.mname", "dns.soa.rname", "dns.soa.serial_number",
                                            "dns.soa.refresh_interval", "dns.soa.retry_interval",
                                            "dns.soa.expire_limit", "dns.soa.minimum_ttl"))
    if rtype == "TXT":
        t = g("dns.txt", "")
        return txt_canon("".join(t) if isinstance(t, list) else t)
    return "?"


def _rrs(section: dict | None):
    out = []
    for _, rr in (section or {}).items():
        t = int(rr.get("dns.resp.type", 0))
        rtype = DNS_TYPES.get(t, f"TYPE{t}")
        if rtype == "OPT":
            continue
        name = rr.get("dns.resp.name")
        if name is None and "dns.srv.name" in rr:
            # tshark 4.0 has no dns.resp.name for SRV: the owner name is split into
            # dns.srv.service, dns.srv.proto and dns.srv.name (the rest)
            parts = [rr.get("dns.srv.service"), rr.get("dns.srv.proto"), rr.get("dns.srv.name")]
            name = ".".join(p for p in parts if p)
        out.append((name, rtype, int(rr.get("dns.resp.ttl", 0)), rr_data(rr, rtype)))
    return tuple(sorted(out))


def dns_messages(pcap):
    out = tshark(pcap, "-Y", "dns", "-T", "json", "--no-duplicate-keys", "-J", "frame ip ipv6 udp tcp dns")
    frames = json.loads(out) if out.strip() else []
    msgs = []
    for f in frames:
        L = f["_source"]["layers"]
        fr = L["frame"]
        frame_no, t = int(fr["frame.number"]), time_ns(fr["frame.time_epoch"])
        ipl = L.get("ip") or L.get("ipv6")
        if isinstance(ipl, list):
            ipl = ipl[-1]
        src = canon_ip(ipl.get("ip.src") or ipl.get("ipv6.src"))
        dst = canon_ip(ipl.get("ip.dst") or ipl.get("ipv6.dst"))
        if "tcp" in L:
            tl = L["tcp"]
            transport, sport, dport = "tcp", int(tl["tcp.srcport"]), int(tl["tcp.dstport"])
            single = "tcp.segment.count" not in json.dumps(tl)
        else:
            ul = L["udp"]
            transport, sport, dport, single = "udp", int(ul["udp.srcport"]), int(ul["udp.dstport"]), True
        size = int(L["udp"]["udp.length"]) - 8 if "udp" in L else None
        dl = L["dns"]
        for d in (dl if isinstance(dl, list) else [dl]):
            flags = d.get("dns.flags_tree", {})
            qs = list((d.get("Queries") or {}).values())
            q = qs[0] if qs else {}
            qt = int(q.get("dns.qry.type", 0) or 0)
            msgs.append(dict(
                frame=frame_no, t=t, single=single, transport=transport, size=size, src=(src, sport), dst=(dst, dport),
                id=int(d["dns.id"], 16), response=flags.get("dns.flags.response") == "1",
                rcode=RCODES.get(int(flags.get("dns.flags.rcode", 0)), flags.get("dns.flags.rcode")),
                qname=q.get("dns.qry.name", ""), qtype=DNS_TYPES.get(qt, f"TYPE{qt}"),
                answers=_rrs(d.get("Answers")), authorities=_rrs(d.get("Authoritative nameservers")),
                additionals=_rrs(d.get("Additional records"))))
    return msgs


def dns_exchanges(pcap) -> list[DnsEx]:
    pending = defaultdict(list)
    out = []
    for m in dns_messages(pcap):
        if not m["response"]:
            ex = DnsEx(m["transport"], m["src"], m["dst"], m["id"], m["qname"], m["qtype"], None, (),
                       m["frame"], m["t"], m["single"], query_size=m["size"])
            pending[(m["transport"], m["src"], m["dst"], m["id"])].append(ex)
            out.append(ex)
        else:
            k = (m["transport"], m["dst"], m["src"], m["id"])
            if pending[k]:
                ex = pending[k].pop(0)
                ex.rcode, ex.answers = m["rcode"], m["answers"]
                ex.authorities, ex.additionals = m["authorities"], m["additionals"]
                ex.response_size = m["size"]
            # a response without a query in the capture is not an exchange we can expect
    return out


# ---- the CLI's entries as keys ---------------------------------------------------------------------

def _ep(e, side):
    x = e.get(side) or {}
    return canon_ip(x.get("ip")), x.get("port")


def entry_http_key(e):
    req, resp = e.get("request") or {}, e.get("response")
    (cip, cport), (sip, sport) = _ep(e, "src"), _ep(e, "dst")
    status = resp.get("status") if isinstance(resp, dict) else None
    return (cip, cport, sip, sport, req.get("method"), req.get("path"), status)


def _int(x):
    try:
        return int(x, 0) if isinstance(x, str) else int(x)
    except (TypeError, ValueError):
        return x


def entry_answer(a):
    rtype = a.get("type")
    data = str(a.get("data", ""))
    if rtype == "AAAA":
        data = canon_ip(data)
    elif rtype == "TXT":
        data = txt_canon(data)
    return (a.get("name"), rtype, _int(a.get("ttl")), data)


def entry_dns_key(e):
    req, resp = e.get("request") or {}, e.get("response")
    (cip, cport), (sip, sport) = _ep(e, "src"), _ep(e, "dst")
    qs = req.get("questions") or [{}]
    answers = ()
    rcode = None
    if isinstance(resp, dict):
        rcode = resp.get("rcode")
        answers = tuple(sorted(entry_answer(a) for a in resp.get("answers") or [] if a.get("type") != "OPT"))
    return (e.get("transport"), cip, cport, sip, sport, _int(req.get("id")), qs[0].get("name"),
            qs[0].get("type"), rcode, answers)


# ---- comparison ------------------------------------------------------------------------------------

@dataclass
class Oracle:
    http: list
    dns: list
    quirks: list

    def http_counter(self, keep=lambda ex: True):
        return Counter(x.key for x in self.http if keep(x))

    def dns_counter(self, keep=lambda ex: True):
        return Counter(x.key for x in self.dns if keep(x))


def oracle_for(pcap) -> Oracle:
    quirks = []
    http = http_exchanges(pcap, quirks)
    dns = dns_exchanges(pcap)
    return Oracle(http, dns, quirks)


def split_entries(entries):
    http = [e for e in entries if e.get("protocol") == "http"]
    dns = [e for e in entries if e.get("protocol") == "dns"]
    other = [e for e in entries if e.get("protocol") not in ("http", "dns")]
    return http, dns, other


def diff_counters(want: Counter, got: Counter, label: str, limit=25) -> str | None:
    missing = want - got
    extra = got - want
    if not missing and not extra:
        return None
    lines = [f"{label}: expected {sum(want.values())}, got {sum(got.values())}; "
             f"{sum(missing.values())} missing, {sum(extra.values())} unexpected"]
    for name, c in (("missing", missing), ("unexpected", extra)):
        for k, n in sorted(c.items(), key=repr)[:limit]:
            lines.append(f"  {name} x{n}: {k}")
        if len(c) > limit:
            lines.append(f"  ... {len(c) - limit} more {name}")
    return "\n".join(lines)


def compare(oracle: Oracle, entries, keep_http=lambda k: True, keep_dns=lambda k: True,
            keep_oracle_http=lambda x: True, keep_oracle_dns=lambda x: True) -> list[str]:
    """Multiset comparison of the CLI's entries with the oracle. Returns problems (empty = equal)."""
    http, dns, other = split_entries(entries)
    problems = []
    want_h = Counter(x.key for x in oracle.http if keep_oracle_http(x))
    got_h = Counter(k for k in map(entry_http_key, http) if keep_http(k))
    want_d = Counter(x.key for x in oracle.dns if keep_oracle_dns(x))
    got_d = Counter(k for k in map(entry_dns_key, dns) if keep_dns(k))
    for p in (diff_counters(want_h, got_h, "HTTP exchanges"), diff_counters(want_d, got_d, "DNS exchanges")):
        if p:
            problems.append(p)
    # Entries of other protocols between the same kind of ends (keep_http's filter on the addresses:
    # on all interfaces, other programs' traffic on the host, e.g. a database on loopback, is not ours).
    other = [e for e in other
             if keep_http((e["src"]["ip"], e["src"]["port"], e["dst"]["ip"], e["dst"]["port"]))]
    if other:
        problems.append(f"{len(other)} entries with an unexpected protocol, e.g. {json.dumps(other[0])[:300]}")
    return problems


def summarize(oracle: Oracle, http_scenario, dns_scenario) -> dict:
    """Numbers of exchanges per scenario (for reports and the harness self-check)."""
    c = Counter()
    for x in oracle.http:
        c[http_scenario(x.path)] += 1
    for x in oracle.dns:
        c[dns_scenario(x.transport, x.server[0])] += 1
    return dict(sorted(c.items()))


if __name__ == "__main__":
    import sys
    o = oracle_for(Path(sys.argv[1]))
    for q in o.quirks:
        print("quirk:", q)
    for x in o.http:
        print("HTTP", x.stream, x.client, x.server, x.method, x.path, x.status, x.interim, x.framed_by)
    for x in o.dns:
        print("DNS", x.transport, x.client, x.server, x.id, x.qname, x.qtype, x.rcode, x.answers)
