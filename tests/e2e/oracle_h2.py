"""tshark 4.0 as the oracle for HTTP/2, gRPC and WebSocket, and the comparison of kubectl-shark's
entries with it.

tshark is told which ports carry what (`-d tcp.port==P,http2` for prior-knowledge h2c and gRPC,
`-d tcp.port==P,http` where an HTTP/1.1 upgrade to h2c or WebSocket happens; it follows the
upgrade itself) and reassembles out-of-order segments. A Lua tap (fields.lua) prints the wanted
fields of every frame in tree order, so each header, gRPC message and WebSocket frame is
attributed to its HTTP/2 frame's stream or its connection.

What is read (per TCP connection; the client is the side whose port is not a server port):
  HTTP/2 streams  request pseudo-headers (and how HPACK carried each: `http2.header.repr`/`index`),
                  the final :status, interim 1xx, trailers, RST_STREAM; stream 1 of an h2c
                  upgrade takes the HTTP/1.1 request (RFC 7540 §3.2)
  gRPC            streams whose request content-type is application/grpc*: path, grpc-status from
                  the trailers (or a trailers-only response), messages per direction
                  (`grpc.message_length` occurrences)
  WebSocket       frames (opcode, FIN, mask, RSV1/pmc, lengths) joined into messages; a message's
                  size is its payload length, inflated for permessage-deflate (the length of what
                  tshark decompressed)
  HTTP/1.1        the upgrade requests and their 101 (each stays an HTTP/1 entry)

Keys compared as multisets (client ip/port, server ip/port first in each):
  HTTP/2:    (..., method, path, status, stream id)
  gRPC:      (..., path, status name, request messages, response messages, stream id)
  WebSocket: (..., direction, opcode, size)
  HTTP/1.1:  (..., method, path, status) of the upgrades: the 101 is an HTTP/1 entry of its own
             (WebSocket handshakes, and h2c upgrades, whose request is also stream 1's)

tshark quirk: a FRAGMENTED compressed WebSocket message is reassembled but not inflated (its
"text" is the compressed bytes), so its size is unknown here: such messages are matched on
direction and opcode only (recorded in `quirks`).
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from oracle import canon_ip, diff_counters

HERE = Path(__file__).resolve().parent
LUA = HERE / "fields.lua"

FIELDS = ["frame.time_epoch", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport",
          "tcp.stream", "http2.type", "http2.flags", "http2.streamid", "http2.headers", "http2.header.name", "http2.header.value",
          "http2.header.repr", "http2.header.index", "http2.rst_stream.error", "grpc.message_length",
          "grpc.compressed_flag", "http.request.method", "http.request.uri", "http.authorization", "http.response.code",
          "websocket.fin", "websocket.rsv", "websocket.opcode", "websocket.mask", "websocket.payload_length",
          "websocket.payload_length_ext_16", "websocket.payload_length_ext_64", "websocket.fragment.count",
          "websocket.payload.close.status_code", "websocket.payload.close.reason"]
LEN_FIELDS = ["websocket.payload.text", "data.data", "websocket.payload.ping", "websocket.payload.pong",
              "websocket.payload.close", "websocket.payload.unknown"]

GRPC_CODES = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
              "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
              "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"]
WS_OPCODES = {0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}
HPACK_STATIC = 61     # entries of the static table (RFC 7541 Appendix A)
HEADERS, PRIORITY, RST_STREAM, PUSH_PROMISE, CONTINUATION = 1, 2, 3, 5, 9


def tshark_args(h2_ports=(), http_ports=()):
    args = ["-o", "tcp.reassemble_out_of_order:TRUE", "-o", "tcp.desegment_tcp_streams:TRUE",
            "-o", "http.desegment_headers:TRUE", "-o", "http.desegment_body:TRUE"]
    for p in h2_ports:
        args += ["-d", f"tcp.port=={p},http2"]
    for p in http_ports:
        args += ["-d", f"tcp.port=={p},http"]
    return args


def _unesc(s: str) -> str:
    if "\\" not in s:
        return s
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}.get(s[i + 1], s[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def frames(pcap, h2_ports=(), http_ports=()):
    """[(frame number, [(field, value), ...])] in capture order, fields in tree order."""
    env = dict(os.environ, SHK_FIELDS=" ".join(FIELDS), SHK_LEN_FIELDS=" ".join(LEN_FIELDS))
    res = subprocess.run(["tshark", "-n", "-r", str(pcap), *tshark_args(h2_ports, http_ports),
                          "-X", f"lua_script:{LUA}", "-q"], capture_output=True, text=True, env=env, timeout=600)
    if res.returncode not in (0, 2):
        raise RuntimeError(f"tshark failed ({res.returncode}): {res.stderr[-2000:]}")
    out = []
    for line in res.stdout.split("\n"):
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0].isdigit():
            continue
        items = []
        for p in parts[1:]:
            k, _, v = p.partition("=")
            items.append((k, _unesc(v)))
        out.append((int(parts[0]), items))
    return out


# ---- records -------------------------------------------------------------------------------------

@dataclass
class H2Stream:
    conn: int
    client: tuple
    server: tuple
    stream_id: int
    first_frame: int = 0
    first_time: str = ""
    pseudo: dict = field(default_factory=dict)          # request pseudo-headers
    req_headers: list = field(default_factory=list)     # [(name, value)] non-pseudo
    pseudo_repr: dict = field(default_factory=dict)     # name -> (repr, index or None)
    status: int | None = None
    interim: list = field(default_factory=list)
    resp_headers: list = field(default_factory=list)
    trailers: list = field(default_factory=list)
    trailers_only: bool = False
    reset: int | None = None
    msgs: list = field(default_factory=lambda: [0, 0])  # gRPC messages client->server, server->client
    compressed: list = field(default_factory=lambda: [0, 0])  # of which with the compressed flag
    largest: int = 0                                    # largest gRPC message length
    upgrade: bool = False
    seen_request_headers: bool = False

    @property
    def method(self):
        return self.pseudo.get(":method")

    @property
    def path(self):
        return self.pseudo.get(":path")

    @property
    def content_type(self):
        return next((v for k, v in self.req_headers if k.lower() == "content-type"), "")

    @property
    def is_grpc(self):
        ct = self.content_type.lower()
        return ct == "application/grpc" or ct.startswith("application/grpc+") or ct.startswith("application/grpc;")

    @property
    def grpc_status(self):
        """From the trailers, or from the response head of a trailers-only response."""
        for k, v in list(self.trailers) + (list(self.resp_headers) if self.trailers_only else []):
            if k == "grpc-status":
                try:
                    n = int(v)
                except ValueError:
                    return v
                return GRPC_CODES[n] if 0 <= n < len(GRPC_CODES) else f"CODE_{n}"
        return None

    @property
    def grpc_message(self):
        return next((v for k, v in list(self.trailers) + (list(self.resp_headers) if self.trailers_only else [])
                     if k == "grpc-message"), None)

    def ends(self):
        return (self.client[0], self.client[1], self.server[0], self.server[1])

    @property
    def h2_key(self):
        return self.ends() + (self.method, self.path, self.status, self.stream_id)

    @property
    def grpc_key(self):
        return self.ends() + (self.path, self.grpc_status, self.msgs[0], self.msgs[1], self.stream_id)


@dataclass
class WsMsg:
    conn: int
    client: tuple
    server: tuple
    direction: str
    opcode: str
    size: int | None            # None: tshark did not inflate it (fragmented + compressed)
    frames: int = 1
    compressed: bool = False
    masked: bool = False
    close_code: int | None = None
    close_reason: str | None = None
    first_frame: int = 0

    def ends(self):
        return (self.client[0], self.client[1], self.server[0], self.server[1])

    @property
    def key(self):
        return self.ends() + (self.direction, self.opcode, self.size)


@dataclass
class Http1Ex:
    conn: int
    client: tuple
    server: tuple
    method: str
    path: str
    status: int | None
    upgrade_to: str = ""       # "h2c" | "websocket" | ""

    def ends(self):
        return (self.client[0], self.client[1], self.server[0], self.server[1])

    @property
    def key(self):
        return (self.client[0], self.client[1], self.server[0], self.server[1], self.method, self.path, self.status)


@dataclass
class H2Oracle:
    streams: list               # every HTTP/2 stream with headers (gRPC ones included)
    ws: list
    http1: list                 # HTTP/1.1 exchanges on the given ports (the upgrades and their 101s)
    quirks: list

    @property
    def h2(self):
        return [s for s in self.streams if not s.is_grpc]

    @property
    def grpc(self):
        return [s for s in self.streams if s.is_grpc]

    @property
    def ws_handshakes(self):
        return [x for x in self.http1 if x.upgrade_to == "websocket"]


# ---- reading --------------------------------------------------------------------------------------

def oracle_h2(pcap, server_ports, h2_ports=(), http_ports=()) -> H2Oracle:
    server_ports = set(server_ports)
    streams: dict = {}
    ws_state: dict = {}     # (conn, direction) -> pending message
    ws_msgs, quirks = [], []
    http1 = defaultdict(lambda: {"reqs": [], "resps": []})
    has_h2 = set()
    decoders, pending, pending_tshark = {}, {}, {}
    for num, items in frames(pcap, h2_ports, http_ports):
        hdr = {}
        i = 0
        while i < len(items) and items[i][0] in ("frame.time_epoch", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
                                                  "tcp.srcport", "tcp.dstport", "tcp.stream"):
            hdr.setdefault(items[i][0], items[i][1])
            i += 1
        if "tcp.stream" not in hdr:
            continue
        src = (canon_ip(hdr.get("ip.src") or hdr.get("ipv6.src")), int(hdr["tcp.srcport"]))
        dst = (canon_ip(hdr.get("ip.dst") or hdr.get("ipv6.dst")), int(hdr["tcp.dstport"]))
        conn = int(hdr["tcp.stream"])
        to_server = dst[1] in server_ports and src[1] not in server_ports
        client, server = (src, dst) if to_server else (dst, src)
        direction = "client" if to_server else "server"
        cur = None          # current HTTP/2 frame: [type, flags, stream]
        hcur = None         # current header: [name, value, repr, index]
        ftype = None
        ws = None
        rest = items[i:]

        def flush_header():
            nonlocal hcur
            if hcur is not None and cur is not None and cur[2] is not None:
                _add_header(streams, conn, client, server, cur, hcur, to_server, num, hdr.get("frame.time_epoch"))
                block[1] += 1
            hcur = None

        def close_block():
            """End of an HTTP/2 frame: its header block (if any) goes through the independent
            HPACK decoder too, which stands in where tshark could not decode the block."""
            flush_header()
            if cur is None or cur[0] not in (HEADERS, CONTINUATION) or block[0] is None:
                return
            key = (conn, direction)
            pending[key] = pending.get(key, b"") + block[0]
            pending_tshark[key] = pending_tshark.get(key, 0) + block[1]
            if not cur[1] & 0x4:          # END_HEADERS not yet: a CONTINUATION follows
                return
            raw, n_tshark = pending.pop(key), pending_tshark.pop(key)
            dec = decoders.setdefault(key, _hpack_decoder())
            try:
                fields = dec.decode(raw, raw=False) if dec is not None else None
            except Exception as ex:  # noqa: BLE001  (hpack raises its own error types)
                fields = None
                if n_tshark == 0:
                    quirks.append(f"tcp.stream {conn} frame {num}: neither tshark nor hpack decode a header block ({ex})")
            if n_tshark == 0 and fields:
                quirks.append(f"tcp.stream {conn} frame {num} stream {cur[2]}: tshark did not decode the header block; "
                              f"decoded with the hpack package instead")
                for name, value in fields:
                    _add_header(streams, conn, client, server, cur, [name, value, "(hpack package)", None], to_server,
                                num, hdr.get("frame.time_epoch"))

        def flush_ws():
            nonlocal ws
            if ws is not None:
                _ws_frame(ws_state, ws_msgs, quirks, conn, client, server, direction, ws, num)
            ws = None

        block = [None, 0]   # header block bytes of the current frame, headers tshark decoded from it
        gflag = "0"         # compressed flag of the gRPC message being read
        for k, v in rest:
            if k == "http2.type":
                close_block()
                block = [None, 0]
                ftype = int(v)
                cur = [ftype, 0, None]
            elif k == "http2.headers" and cur is not None:
                block[0] = bytes.fromhex(v.replace(":", ""))
            elif k == "http2.flags" and cur is not None:
                cur[1] = int(v)
            elif k == "http2.streamid" and cur is not None:
                cur[2] = int(v)
                has_h2.add(conn)
                _start_block(streams, conn, client, server, cur, to_server, num, hdr.get("frame.time_epoch"))
            elif k == "http2.header.name":
                flush_header()
                hcur = [v, "", None, None]
            elif k == "http2.header.value" and hcur is not None:
                hcur[1] = v
            elif k == "http2.header.repr" and hcur is not None:
                hcur[2] = v
            elif k == "http2.header.index" and hcur is not None:
                hcur[3] = int(v)
            elif k == "http2.rst_stream.error" and cur is not None and cur[2]:
                s = _stream(streams, conn, client, server, cur[2], num, hdr.get("frame.time_epoch"))
                s.reset = int(v)
            elif k == "grpc.compressed_flag":
                gflag = v
            elif k == "grpc.message_length" and cur is not None and cur[2]:
                flush_header()
                s = _stream(streams, conn, client, server, cur[2], num, hdr.get("frame.time_epoch"))
                s.msgs[0 if to_server else 1] += 1
                s.compressed[0 if to_server else 1] += gflag == "1"
                s.largest = max(s.largest, int(v))
            elif k == "http.request.method":
                http1[conn]["reqs"].append({"client": client, "server": server, "method": v, "path": None})
            elif k == "http.request.uri" and http1[conn]["reqs"]:
                http1[conn]["reqs"][-1]["path"] = v
            elif k == "http.authorization" and http1[conn]["reqs"]:
                http1[conn]["reqs"][-1]["authorization"] = v
            elif k == "http.response.code":
                http1[conn]["resps"].append(int(v))
            elif k == "websocket.fin":
                flush_ws()
                ws = {"fin": v == "true"}
            elif (k.startswith("websocket.") or k == "data.data#len") and ws is not None:
                ws[k] = v
        close_block()
        flush_ws()
    # HTTP/1.1 exchanges and upgrades
    h1 = []
    for conn, st in http1.items():
        finals = [c for c in st["resps"] if not (100 <= c < 200 and c != 101)]
        for j, q in enumerate(st["reqs"]):
            status = finals[j] if j < len(finals) else None
            up = ""
            if status == 101:
                up = "h2c" if conn in has_h2 else "websocket"
            h1.append(Http1Ex(conn, q["client"], q["server"], q["method"], q["path"], status, up))
            if up == "h2c":
                s = streams.get((conn, 1))
                if s is None:
                    s = streams[(conn, 1)] = H2Stream(conn, q["client"], q["server"], 1)
                s.pseudo.setdefault(":method", q["method"])
                s.pseudo.setdefault(":path", q["path"])
                if q.get("authorization"):
                    s.req_headers.append(("authorization", q["authorization"]))
                s.upgrade = True
                s.seen_request_headers = True
    out = [s for s in streams.values() if s.seen_request_headers or s.status is not None]
    out.sort(key=lambda s: (s.conn, s.stream_id))
    return H2Oracle(out, ws_msgs, h1, quirks)


def _hpack_decoder():
    import hpack    # python-hyper's HPACK (RFC 7541): where tshark 4.0 fails to decode a block
    d = hpack.Decoder()
    d.max_header_list_size = 1 << 24
    return d


def _stream(streams, conn, client, server, sid, frame, t):
    s = streams.get((conn, sid))
    if s is None:
        s = streams[(conn, sid)] = H2Stream(conn, client, server, sid, first_frame=frame, first_time=t or "")
    return s


def _start_block(streams, conn, client, server, cur, to_server, frame, t):
    """A HEADERS frame opens a header block: the request (the client's first), request trailers
    (its later ones), or on the server side interim/response/trailers (decided by :status)."""
    ftype, flags, sid = cur
    if ftype != HEADERS or not sid:
        return
    s = _stream(streams, conn, client, server, sid, frame, t)
    if to_server:
        s._block = "request" if not s.seen_request_headers else "request-trailers"
        s.seen_request_headers = True
    else:
        s._block = "server"
    s._block_end_stream = bool(flags & 0x1)


def _add_header(streams, conn, client, server, cur, h, to_server, frame, t):
    ftype, flags, sid = cur
    if ftype not in (HEADERS, CONTINUATION) or not sid:
        return          # PUSH_PROMISE headers belong to the promised stream (none in these scenarios)
    s = _stream(streams, conn, client, server, sid, frame, t)
    name, value, rep, idx = h
    block = getattr(s, "_block", None)
    if block == "request":
        if name.startswith(":"):
            s.pseudo.setdefault(name, value)
            s.pseudo_repr.setdefault(name, (rep, idx))
        else:
            s.req_headers.append((name, value))
    elif block in ("server", "interim", "response", "trailers") and not to_server:
        if name == ":status":
            code = int(value)
            if 100 <= code < 200:
                s.interim.append(code)
                s._block = "interim"
            else:
                s.status = code
                s.pseudo_repr[":status"] = (rep, idx)
                s._block = "response"
                s.trailers_only = s._block_end_stream
        elif block == "response":
            s.resp_headers.append((name, value))
        elif block in ("server", "trailers"):
            s._block = "trailers"
            s.trailers.append((name, value))


def _ws_frame(state, out, quirks, conn, client, server, direction, f, frame):
    opcode = int(f.get("websocket.opcode", -1))
    plen = int(f.get("websocket.payload_length", 0))
    if plen == 126:
        plen = int(f.get("websocket.payload_length_ext_16", 0))
    elif plen == 127:
        plen = int(f.get("websocket.payload_length_ext_64", 0))
    rsv1 = int(f.get("websocket.rsv", "0"), 0) & 0x4 != 0
    decoded = None
    for k in ("websocket.payload.text#len", "data.data#len"):
        if k in f:
            decoded = int(f[k])
    key = (conn, direction)
    if opcode >= 8:     # control frame: never fragmented, never compressed
        m = WsMsg(conn, client, server, direction, WS_OPCODES.get(opcode, f"opcode-{opcode}"), plen,
                  masked=f.get("websocket.mask") == "true", first_frame=frame)
        if opcode == 8:
            if "websocket.payload.close.status_code" in f:
                m.close_code = int(f["websocket.payload.close.status_code"])
            m.close_reason = f.get("websocket.payload.close.reason")
        out.append(m)
        return
    if opcode != 0:
        state[key] = WsMsg(conn, client, server, direction, WS_OPCODES.get(opcode, f"opcode-{opcode}"), 0,
                           frames=0, compressed=rsv1, masked=f.get("websocket.mask") == "true", first_frame=frame)
        state[key]._wire = 0
    m = state.get(key)
    if m is None:
        quirks.append(f"tcp.stream {conn}: continuation frame {frame} without a first frame")
        return
    m.frames += 1
    m._wire += plen
    if f.get("fin"):
        del state[key]
        if not m.compressed:
            m.size = m._wire
        elif m.frames == 1:
            m.size = decoded if decoded is not None else (0 if plen == 0 else None)
        else:
            m.size = None
            quirks.append(f"tcp.stream {conn}: compressed {m.opcode} message of {m.frames} frames (frame "
                          f"{m.first_frame}): tshark reassembles it without inflating; size not checked")
        out.append(m)


# ---- the CLI's entries --------------------------------------------------------------------------------

def _ends(e):
    s, d = e.get("src") or {}, e.get("dst") or {}
    return (canon_ip(s.get("ip")), s.get("port"), canon_ip(d.get("ip")), d.get("port"))


def is_h2_entry(e):
    return e.get("protocol") == "http" and isinstance(e.get("request"), dict) and "stream_id" in e["request"]


def entry_h2_key(e):
    q, r = e.get("request") or {}, e.get("response")
    status = r.get("status") if isinstance(r, dict) else None
    return _ends(e) + (q.get("method"), q.get("path"), status, q.get("stream_id"))


def _count(side):
    if not isinstance(side, dict):
        return 0
    return len(side.get("messages") or []) + int(side.get("messages_not_shown") or 0)


def entry_grpc_key(e):
    q, r = e.get("request") or {}, e.get("response")
    return _ends(e) + (q.get("path"), e.get("status"), _count(q), _count(r), q.get("stream_id"))


def ws_entry_size(q):
    b = q.get("body")
    if isinstance(b, dict) and isinstance(b.get("size"), int):
        return b["size"]
    return q.get("size")


def entry_ws_key(e):
    q = e.get("request") or {}
    return _ends(e) + (q.get("from"), q.get("opcode"), ws_entry_size(q))


def entry_http1_key(e):
    q, r = e.get("request") or {}, e.get("response")
    status = r.get("status") if isinstance(r, dict) else None
    return _ends(e) + (q.get("method"), q.get("path"), status)


def split(entries):
    h2 = [e for e in entries if is_h2_entry(e)]
    http1 = [e for e in entries if e.get("protocol") == "http" and not is_h2_entry(e)]
    grpc = [e for e in entries if e.get("protocol") == "grpc"]
    ws = [e for e in entries if e.get("protocol") == "websocket"]
    other = [e for e in entries if e.get("protocol") not in ("http", "grpc", "websocket")]
    return h2, http1, grpc, ws, other


def diff_ws(want: list, got: Counter, label: str) -> str | None:
    """Multiset comparison where an oracle size of None matches any size (same ends/direction/opcode)."""
    exact = Counter(k for k in want if k[-1] is not None)
    loose = Counter(k[:-1] for k in want if k[-1] is None)
    rest = Counter(got)
    missing = Counter()
    for k, n in exact.items():
        m = min(n, rest[k])
        rest[k] -= m
        if n > m:
            missing[k] += n - m
    rest = +rest
    for k, n in loose.items():
        for g in sorted(rest):
            if n == 0:
                break
            if g[:-1] == k and rest[g] > 0:
                m = min(n, rest[g])
                rest[g] -= m
                n -= m
        if n:
            missing[k + ("?",)] += n
    rest = +rest
    if not missing and not rest:
        return None
    return diff_counters(missing, rest, label + " (left over after matching)") or None


def compare_h2(o: H2Oracle, entries, keep_oracle=lambda x: True, keep_entry=lambda e: True,
               protocols=("http2", "grpc", "websocket", "http1")) -> list[str]:
    h2, http1, grpc, ws, other = split([e for e in entries if keep_entry(e)])
    problems = []
    if "http2" in protocols:
        p = diff_counters(Counter(s.h2_key for s in o.h2 if keep_oracle(s)), Counter(map(entry_h2_key, h2)),
                          "HTTP/2 streams (client, server, method, path, status, stream)")
        problems += [p] if p else []
    elif h2:
        problems.append(f"{len(h2)} HTTP/2 entries where none are wanted, e.g. {h2[0].get('summary')}")
    if "grpc" in protocols:
        p = diff_counters(Counter(s.grpc_key for s in o.grpc if keep_oracle(s)), Counter(map(entry_grpc_key, grpc)),
                          "gRPC calls (client, server, path, status, messages in, out, stream)")
        problems += [p] if p else []
    elif grpc:
        problems.append(f"{len(grpc)} gRPC entries where none are wanted, e.g. {grpc[0].get('summary')}")
    if "websocket" in protocols:
        p = diff_ws([m.key for m in o.ws if keep_oracle(m)], Counter(map(entry_ws_key, ws)),
                    "WebSocket messages (client, server, from, opcode, size)")
        problems += [p] if p else []
    elif ws:
        problems.append(f"{len(ws)} WebSocket entries where none are wanted, e.g. {ws[0].get('summary')}")
    if "http1" in protocols:
        p = diff_counters(Counter(x.key for x in o.http1 if keep_oracle(x)),
                          Counter(map(entry_http1_key, http1)), "HTTP/1.1 exchanges (the upgrades' 101s)")
        problems += [p] if p else []
    elif http1:
        problems.append(f"{len(http1)} HTTP/1 entries where none are wanted, e.g. {http1[0].get('summary')}")
    if other:
        problems.append(f"{len(other)} entries of other protocols, e.g. {other[0].get('protocol')} {other[0].get('summary')}")
    return problems


def summary(o: H2Oracle) -> dict:
    return {"h2_streams": len(o.h2), "grpc_calls": len(o.grpc), "ws_messages": len(o.ws),
            "ws_handshakes": len(o.ws_handshakes), "h2c_upgrades": sum(1 for x in o.http1 if x.upgrade_to == "h2c"),
            "grpc_messages": [sum(s.msgs[0] for s in o.grpc), sum(s.msgs[1] for s in o.grpc)],
            "connections": len({s.conn for s in o.streams} | {m.conn for m in o.ws}), "quirks": len(o.quirks)}


if __name__ == "__main__":
    import sys
    from h2family import H2_PORTS, HTTP1_PORTS
    o = oracle_h2(Path(sys.argv[1]), set(H2_PORTS) | set(HTTP1_PORTS), H2_PORTS, HTTP1_PORTS)
    for s in o.streams:
        print("H2" if not s.is_grpc else "GRPC", s.conn, s.client, s.stream_id, s.method, s.path, s.status,
              s.grpc_status if s.is_grpc else "", s.msgs if s.is_grpc else "", "reset" if s.reset is not None else "",
              "upgrade" if s.upgrade else "")
    for m in o.ws:
        print("WS", m.conn, m.direction, m.opcode, m.size, m.frames, "deflate" if m.compressed else "")
    for x in o.http1:
        print("HTTP1", x.conn, x.method, x.path, x.status, x.upgrade_to)
    for q in o.quirks:
        print("quirk:", q)
    print(summary(o))
