#!/usr/bin/env python3
"""HTTP and DNS-over-TCP client for the e2e tests, for what curl and dig cannot do (stdlib only,
raw sockets).

  client.py pipeline HOST PORT "GET /a" "HEAD /b" ...
      writes every request on one connection in a single send() before reading anything,
      then reads the responses in order. Prints one JSON line per response.
  client.py chunked-post HOST PORT PATH --chunks K --size S [--trailer]
      sends a chunked request body in K separate writes (with short pauses), reads the response.
  client.py hold HOST PORT PATH --seconds T
      one GET on a keep-alive connection, reads the response, then keeps the connection open
      (idle) for T seconds or until SIGTERM/SIGINT, then closes it. Prints "ready" after the response.
  client.py dns-tcp HOST PORT NAME/TYPE ... [--pipeline]
      DNS over TCP (RFC 7766): every query on one connection, each a 2-byte length and an RFC 1035
      message (RD set, an EDNS0 OPT RR with a 1232-byte UDP size, as dig sends). Without --pipeline
      it writes a query and reads its answer before writing the next (as dig +keepopen); with
      --pipeline it writes every query in one send() before reading anything. A server may close a
      connection after any answer (RFC 7766 lets it; dnsmasq 2.90 does so at random after
      authoritative answers): the queries written on a connection that ends before their answers
      are reported unanswered and written again, with new ids, on a new connection, as RFC 7766
      asks of clients. A connection that answers nothing at all is an error. Prints one JSON line per
      query written: {"conn": N, "id": ID, "qname", "qtype", "rcode": "NOERROR"|...|null (no answer)}.
"""

import argparse
import json
import os
import signal
import socket
import struct
import sys
import time


def connect(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(20)
    s.connect((host, port))
    return s


def host_header(host, port):
    h = f"[{host}]" if ":" in host else host
    return h if port == 80 else f"{h}:{port}"


class Reader:
    def __init__(self, sock):
        self.s = sock
        self.buf = b""
        self.eof = False

    def _fill(self):
        d = self.s.recv(1 << 16)
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def line(self):
        while b"\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionError("eof in line")
        i = self.buf.index(b"\r\n")
        ln, self.buf = self.buf[:i], self.buf[i + 2:]
        return ln

    def exact(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise ConnectionError("eof in body")
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def rest(self):
        while self._fill():
            pass
        d, self.buf = self.buf, b""
        return d

    def response(self, method):
        """Reads one final response (skipping 1xx). Returns (status, headers, body)."""
        while True:
            status_line = self.line().decode("latin-1")
            version, status = status_line.split(" ", 2)[:2]
            status = int(status)
            headers = []
            while True:
                ln = self.line()
                if not ln:
                    break
                k, _, v = ln.decode("latin-1").partition(":")
                headers.append((k.strip().lower(), v.strip()))
            if 100 <= status < 200 and status != 101:
                continue
            break
        h = dict(headers)
        if method == "HEAD" or status in (204, 304):
            return status, headers, b""
        if "chunked" in h.get("transfer-encoding", "").lower():
            body = b""
            while True:
                size = int(self.line().split(b";")[0], 16)
                if size == 0:
                    while self.line():
                        pass
                    return status, headers, body
                body += self.exact(size)
                self.exact(2)
        if "content-length" in h:
            return status, headers, self.exact(int(h["content-length"]))
        return status, headers, self.rest()


def cmd_pipeline(a):
    hh = host_header(a.host, a.port)
    reqs = []
    wire = b""
    for i, r in enumerate(a.requests):
        method, path = r.split(" ", 1)
        last = i == len(a.requests) - 1
        conn = "close" if (last and a.close_last) else "keep-alive"
        wire += (f"{method} {path} HTTP/1.1\r\nHost: {hh}\r\nUser-Agent: shk-e2e-pipeline/1\r\n"
                 f"Accept: */*\r\nConnection: {conn}\r\n\r\n").encode()
        reqs.append((method, path))
    s = connect(a.host, a.port)
    s.sendall(wire)  # every request leaves before any response is read
    rd = Reader(s)
    for method, path in reqs:
        status, headers, body = rd.response(method)
        print(json.dumps({"method": method, "path": path, "status": status, "body": len(body)}), flush=True)
    s.close()


def cmd_chunked_post(a):
    hh = host_header(a.host, a.port)
    s = connect(a.host, a.port)
    head = (f"POST {a.path} HTTP/1.1\r\nHost: {hh}\r\nUser-Agent: shk-e2e-chunked/1\r\n"
            f"Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n")
    if a.trailer:
        head += "Trailer: X-Upload-Note\r\n"
    s.sendall((head + "\r\n").encode())
    for i in range(a.chunks):
        data = (f"[{i:05d}]".encode() + b"z" * a.size)[: a.size]
        ext = b";n=%d" % i if i % 3 == 0 else b""  # chunk extensions are legal and ignored
        s.sendall(b"%x%s\r\n%s\r\n" % (len(data), ext, data))
        time.sleep(0.002)
    s.sendall(b"0\r\n" + (b"X-Upload-Note: done\r\n" if a.trailer else b"") + b"\r\n")
    status, headers, body = Reader(s).response("POST")
    print(json.dumps({"status": status, "body": body.decode(errors="replace")}), flush=True)
    s.close()


def cmd_hold(a):
    stop = {"now": False}

    def on_sig(*_):
        stop["now"] = True
    signal.signal(signal.SIGTERM, on_sig)
    signal.signal(signal.SIGINT, on_sig)
    s = connect(a.host, a.port)
    s.sendall((f"GET {a.path} HTTP/1.1\r\nHost: {host_header(a.host, a.port)}\r\n"
               f"User-Agent: shk-e2e-hold/1\r\nConnection: keep-alive\r\n\r\n").encode())
    status, _, body = Reader(s).response("GET")
    print(json.dumps({"status": status, "body": len(body)}), flush=True)
    print("ready", flush=True)
    deadline = time.time() + a.seconds
    while time.time() < deadline and not stop["now"]:
        time.sleep(0.05)
    s.close()


# ---- DNS over TCP ----------------------------------------------------------------------------

DNS_TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def dns_query(qid, qname, qtype):
    """An RFC 1035 query: header (RD set, one question, one additional), the question, and an
    RFC 6891 OPT RR (root owner, type 41, CLASS = UDP payload size 1232, no options)."""
    header = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1)
    labels = [x for x in qname.rstrip(".").split(".") if x]
    name = b"".join(bytes([len(x)]) + x.encode("ascii") for x in labels) + b"\0"
    question = name + struct.pack("!HH", DNS_TYPES[qtype], 1)
    opt = b"\0" + struct.pack("!HHIH", 41, 1232, 0, 0)
    return header + question + opt


class DnsConn:
    """One TCP connection: writes length-prefixed queries, reads length-prefixed answers."""

    def __init__(self, host, port):
        self.s = connect(host, port)
        self.rd = Reader(self.s)

    def write(self, msgs):
        """True when every message was handed to the kernel; False when the connection is gone."""
        try:
            self.s.sendall(b"".join(struct.pack("!H", len(m)) + m for m in msgs))
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def answer(self):
        """(id, rcode) of the next answer, or None when the server ended the connection."""
        try:
            size = struct.unpack("!H", self.rd.exact(2))[0]
            msg = self.rd.exact(size)
        except ConnectionError:   # the end of the stream (Reader) or a reset; a timeout is an error
            return None
        if len(msg) < 12 or not msg[2] & 0x80:
            raise SystemExit(f"dns-tcp: not a DNS response ({len(msg)} bytes)")
        rc = msg[3] & 0x0F
        return struct.unpack("!H", msg[:2])[0], RCODES.get(rc, f"RCODE{rc}")

    def close(self):
        self.s.close()


def cmd_dns_tcp(a):
    todo = []                    # (qname, qtype) not answered yet, in order
    for q in a.queries:
        name, _, qtype = q.rpartition("/")
        if not name or qtype not in DNS_TYPES:
            raise SystemExit(f"dns-tcp: NAME/TYPE expected, got {q!r}")
        todo.append((name, qtype))
    used = set()

    def new_id():
        while True:
            qid = struct.unpack("!H", os.urandom(2))[0]
            if qid not in used:
                used.add(qid)
                return qid

    def report(conn, qid, q, rcode):
        print(json.dumps({"conn": conn, "id": qid, "qname": q[0], "qtype": q[1], "rcode": rcode}), flush=True)

    conn_no = 0
    while todo:
        conn_no += 1
        c = DnsConn(a.host, a.port)
        unsent = list(todo)
        outstanding = {}         # id -> (qname, qtype): written, not answered yet (in write order)
        answered = 0
        try:
            while unsent or outstanding:
                if not outstanding:
                    batch = unsent if a.pipeline else unsent[:1]
                    ids = [new_id() for _ in batch]
                    # A failed write means the connection was already gone: none of it left.
                    if not c.write([dns_query(qid, *q) for qid, q in zip(ids, batch)]):
                        break
                    outstanding.update(zip(ids, batch))
                    del unsent[:len(batch)]
                got = c.answer()
                if got is None:
                    break
                qid, rcode = got
                if qid not in outstanding:
                    raise SystemExit(f"dns-tcp: answer with an id that is not outstanding: {qid}")
                report(conn_no, qid, outstanding.pop(qid), rcode)
                answered += 1
        finally:
            c.close()
        for qid, q in outstanding.items():
            report(conn_no, qid, q, None)
        if answered == 0:
            raise SystemExit(f"dns-tcp: connection {conn_no} to {a.host}:{a.port} ended without an answer")
        todo = list(outstanding.values()) + unsent

def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pipeline")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("requests", nargs="+")
    p.add_argument("--close-last", action="store_true")
    p.set_defaults(fn=cmd_pipeline)
    p = sub.add_parser("chunked-post")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("path")
    p.add_argument("--chunks", type=int, default=20)
    p.add_argument("--size", type=int, default=700)
    p.add_argument("--trailer", action="store_true")
    p.set_defaults(fn=cmd_chunked_post)
    p = sub.add_parser("hold")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("path")
    p.add_argument("--seconds", type=float, default=30)
    p.set_defaults(fn=cmd_hold)
    p = sub.add_parser("dns-tcp")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("queries", nargs="+", metavar="NAME/TYPE")
    p.add_argument("--pipeline", action="store_true")
    p.set_defaults(fn=cmd_dns_tcp)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
