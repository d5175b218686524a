#!/usr/bin/env python3
"""A small real HTTP/1.1 origin for the e2e tests (stdlib only).

Endpoints (any path below the prefix works, so scenarios can tag their requests):
  PUT|POST /upload/...    reads the body (Content-Length or chunked) and answers 201 with its size
                          and sha256. With `Expect: 100-continue` a real `100 Continue` is sent
                          before a single body byte is read (BaseHTTPRequestHandler.handle_expect_100).
  POST /echo/...          reads a (typically chunked) body, answers 200 JSON: size, chunks, trailers.
  GET  /chunked/...?n=K&size=S   chunked response: K chunks of S bytes, small pauses in between so
                          chunks travel in separate segments; `&trailer=1` adds a trailer field.
  GET  /close/...         HTTP/1.0 response without Content-Length, delimited by closing the connection.
  GET  /hello/...         small fixed 200 with Content-Length.
Everything else is 404 with a body.
"""

import argparse
import hashlib
import json
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "shk-origin/1"
    sys_version = ""

    # ---- body reading -------------------------------------------------------------------
    def read_body(self):
        """Returns (body bytes, number of chunks or None, trailers)."""
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            body = bytearray()
            chunks = 0
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("eof in chunk size")
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    break
                body += self.rfile.read(size)
                chunks += 1
                if self.rfile.read(2) != b"\r\n":
                    raise ValueError("bad chunk terminator")
            trailers = []
            while True:
                line = self.rfile.readline(65537)
                if line in (b"\r\n", b"\n", b""):
                    break
                k, _, v = line.decode("latin-1").partition(":")
                trailers.append([k.strip(), v.strip()])
            return bytes(body), chunks, trailers
        n = int(self.headers.get("Content-Length") or 0)
        data = bytearray()
        while len(data) < n:
            part = self.rfile.read(min(1 << 20, n - len(data)))
            if not part:
                raise ConnectionError("eof in body")
            data += part
        return bytes(data), None, []

    def send_json(self, status, obj, extra_headers=()):
        body = (json.dumps(obj, sort_keys=True) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra_headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    # ---- routing --------------------------------------------------------------------------
    def route(self):
        u = urlsplit(self.path)
        q = parse_qs(u.query)
        p = u.path
        if p.startswith("/upload/") and self.command in ("PUT", "POST"):
            body, chunks, _ = self.read_body()
            return self.send_json(201, {"received": len(body), "chunks": chunks,
                                        "sha256": hashlib.sha256(body).hexdigest()},
                                  [("Location", p)])
        if p.startswith("/echo/") and self.command in ("POST", "PUT", "PATCH"):
            body, chunks, trailers = self.read_body()
            return self.send_json(200, {"received": len(body), "chunks": chunks, "trailers": trailers,
                                        "sha256": hashlib.sha256(body).hexdigest()})
        if p.startswith("/chunked/") and self.command in ("GET", "HEAD"):
            return self.chunked(int(q.get("n", ["8"])[0]), int(q.get("size", ["1000"])[0]),
                                q.get("trailer", ["0"])[0] == "1")
        if p.startswith("/close/") and self.command == "GET":
            return self.close_delimited(int(q.get("size", ["5000"])[0]))
        if p.startswith("/hello/"):
            if self.headers.get("Content-Length") or self.headers.get("Transfer-Encoding"):
                self.read_body()
            return self.send_json(200, {"hello": p})
        if self.headers.get("Content-Length") or self.headers.get("Transfer-Encoding"):
            self.read_body()
        return self.send_json(404, {"error": "not found", "path": p})

    def chunked(self, n, size, trailer):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        if trailer:
            self.send_header("Trailer", "X-Checksum")
        self.end_headers()
        if self.command == "HEAD":
            return
        h = hashlib.sha256()
        for i in range(n):
            data = (f"chunk {i:04d} ".encode() + b"x" * size)[:size]
            h.update(data)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
            time.sleep(0.003)
        self.wfile.write(b"0\r\n")
        if trailer:
            self.wfile.write(b"X-Checksum: " + h.hexdigest().encode() + b"\r\n")
        self.wfile.write(b"\r\n")

    def close_delimited(self, size):
        body = (b"close-delimited body line\n" * (size // 26 + 1))[:size]
        self.wfile.write(b"HTTP/1.0 200 OK\r\nServer: shk-origin/1\r\nContent-Type: text/plain\r\n\r\n")
        self.wfile.flush()
        half = size // 2
        self.wfile.write(body[:half])
        self.wfile.flush()
        time.sleep(0.005)
        self.wfile.write(body[half:])
        self.wfile.flush()
        self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = route


class Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--tag", default="", help="run id, only to recognise the process")
    a = ap.parse_args()
    srv = Server(("::", a.port), Handler)
    print(f"origin listening on [::]:{a.port}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
