#!/usr/bin/env python3
"""HTTP client for the e2e tests, for what curl cannot do (stdlib only, raw sockets).

  client.py pipeline HOST PORT "GET /a" "HEAD /b" ...
      writes every request on one connection in a single send() before reading anything,
      then reads the responses in order. Prints one JSON line per response.
  client.py chunked-post HOST PORT PATH --chunks K --size S [--trailer]
      sends a chunked request body in K separate writes (with short pauses), reads the response.
  client.py hold HOST PORT PATH --seconds T
      one GET on a keep-alive connection, reads the response, then keeps the connection open
      (idle) for T seconds or until SIGTERM/SIGINT, then closes it. Prints "ready" after the response.
"""

import argparse
import json
import signal
import socket
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
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
