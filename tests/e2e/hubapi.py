"""A client of the hub API (docs/api.md) for the e2e tests: plain HTTP requests with the session
token, and a small WebSocket client (RFC 6455, stdlib only) for `/api/v1/stream`.

The WebSocket client is deliberately minimal: one connection, text messages, the server's frames
unmasked and ours masked, fragmented messages reassembled, pings answered, and every message
bounded in size (MAX_MESSAGE) so a misbehaving server cannot make the test eat memory.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import struct
import time
import urllib.error
import urllib.parse
import urllib.request

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_MESSAGE = 64 * 1024 * 1024


class HubError(AssertionError):
    pass


def parse_dashboard_url(url: str):
    """`http://127.0.0.1:P/?token=T` -> (base `http://127.0.0.1:P`, token T)."""
    u = urllib.parse.urlsplit(url)
    token = urllib.parse.parse_qs(u.query).get("token", [None])[0]
    if u.scheme != "http" or not u.hostname or not u.port or not token:
        raise HubError(f"not a dashboard URL with a token: {url!r}")
    return f"http://{u.hostname}:{u.port}", token


class Hub:
    def __init__(self, base: str, token: str | None):
        self.base, self.token = base.rstrip("/"), token
        u = urllib.parse.urlsplit(self.base)
        self.host, self.port = u.hostname, u.port

    @classmethod
    def from_dashboard_url(cls, url: str) -> "Hub":
        return cls(*parse_dashboard_url(url))

    def url(self, path: str, params: dict | None = None) -> str:
        q = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v is not None})
        return f"{self.base}{path}" + (f"?{q}" if q else "")

    def request(self, path: str, params: dict | None = None, token: str | None | bool = True, timeout=60):
        """GET; returns (status, headers with lowercase names, body bytes) also for error statuses. token=True: the
        session's token as `Authorization: Bearer`; a string: that token; None/False: none."""
        req = urllib.request.Request(self.url(path, params))
        tok = self.token if token is True else (token or None)
        if tok:
            req.add_header("Authorization", f"Bearer {tok}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def get_json(self, path: str, params: dict | None = None):
        status, _, body = self.request(path, params)
        if status != 200:
            raise HubError(f"GET {path} {params or ''} -> {status}: {body[:500]!r}")
        return json.loads(body)

    def rows(self, q: str | None = None, limit: int = 10000) -> list:
        return self.get_json("/api/v1/entries", {"q": q, "limit": limit})["entries"]

    def entry(self, entry_id: str) -> dict:
        return self.get_json(f"/api/v1/entries/{urllib.parse.quote(entry_id, safe='')}")

    def entry_raw(self, entry_id: str, suffix: str = ""):
        return self.request(f"/api/v1/entries/{urllib.parse.quote(entry_id, safe='')}{suffix}")

    def full_entries(self, rows) -> list:
        return [self.entry(r["id"]) for r in rows]

    def health(self) -> dict:
        return self.get_json("/api/v1/health")

    def stream(self, params: dict, token: str | None | bool = True, timeout=30) -> "WebSocket":
        q = dict(params)
        if token is True:
            q["token"] = self.token
        elif token:
            q["token"] = token
        path = "/api/v1/stream?" + urllib.parse.urlencode(q)
        return WebSocket.connect(self.host, self.port, path, timeout=timeout)


def wait_for(cond, timeout: float, what: str, interval: float = 0.25):
    """Polls `cond()` until it returns something truthy (returned) or `timeout` s pass (fails)."""
    deadline = time.time() + timeout
    last = None
    while True:
        last = cond()
        if last:
            return last
        if time.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class WsRefused(AssertionError):
    def __init__(self, status: int, head: str, body: bytes):
        super().__init__(f"WebSocket upgrade refused with {status}: {head[:300]} {body[:300]!r}")
        self.status, self.head, self.body = status, head, body


class WebSocket:
    def __init__(self, sock: socket.socket, rest: bytes):
        self.sock, self.buf, self.closed = sock, bytearray(rest), False
        self._msg_op, self._msg = None, bytearray()  # a fragmented message being reassembled

    @classmethod
    def connect(cls, host, port, path, timeout=30, headers=()):
        sock = socket.create_connection((host, port), timeout=timeout)
        try:
            key = base64.b64encode(os.urandom(16)).decode()
            lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket", "Connection: Upgrade",
                     f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13", *headers]
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            data = bytearray()
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
                if len(data) > 64 * 1024:
                    raise AssertionError("WebSocket handshake response too long")
            head, _, rest = bytes(data).partition(b"\r\n\r\n")
            text = head.decode("latin-1")
            status_line, *hlines = text.split("\r\n")
            parts = status_line.split(" ", 2)
            status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            hdrs = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in hlines)}
            if status != 101:
                # an error answer: read its body (Content-Length) for the message
                n = int(hdrs.get("content-length", "0") or 0)
                body = bytearray(rest)
                while len(body) < n:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    body += chunk
                raise WsRefused(status, text, bytes(body))
            want = base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()
            if hdrs.get("sec-websocket-accept") != want:
                raise AssertionError(f"bad Sec-WebSocket-Accept in {text!r}")
            return cls(sock, rest)
        except BaseException:
            sock.close()
            raise

    def _fill(self, n: int, deadline: float):
        """Reads until at least `n` bytes are buffered (TimeoutError at the deadline)."""
        while len(self.buf) < n:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError from None
            if not chunk:
                raise ConnectionError("WebSocket closed by the server without a close frame")
            self.buf += chunk

    def _frame(self, deadline: float):
        """The next whole frame as (fin, opcode, payload); it leaves the buffer only when whole,
        so a timeout in the middle of a frame loses nothing."""
        self._fill(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        if b1 & 0x80:
            raise AssertionError("the server masked a frame (RFC 6455 5.1 forbids it)")
        n, head = b1 & 0x7F, 2
        if n == 126:
            self._fill(4, deadline)
            n, head = struct.unpack(">H", self.buf[2:4])[0], 4
        elif n == 127:
            self._fill(10, deadline)
            n, head = struct.unpack(">Q", self.buf[2:10])[0], 10
        if n > MAX_MESSAGE:
            raise AssertionError(f"WebSocket frame over {MAX_MESSAGE} bytes")
        self._fill(head + n, deadline)
        payload = bytes(self.buf[head:head + n])
        del self.buf[:head + n]
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def _send_frame(self, opcode: int, payload: bytes):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def send_json(self, obj):
        self._send_frame(0x1, json.dumps(obj).encode())

    def recv(self, timeout: float):
        """The next text message as JSON, or None when `timeout` s pass without a whole one.
        Raises ConnectionError when the server closes."""
        deadline = time.time() + timeout
        while True:
            try:
                fin, op, payload = self._frame(deadline)
            except TimeoutError:
                return None
            if op == 0x8:
                self.closed = True
                raise ConnectionError(f"WebSocket closed by the server: {payload[:2].hex()} {payload[2:200]!r}")
            if op == 0x9:
                self._send_frame(0xA, payload)
                continue
            if op == 0xA:
                continue
            if op in (0x1, 0x2):
                self._msg_op, self._msg = op, bytearray(payload)
            elif op == 0x0 and self._msg_op is not None:
                self._msg += payload
            else:
                raise AssertionError(f"unexpected WebSocket opcode {op}")
            if len(self._msg) > MAX_MESSAGE:
                raise AssertionError(f"WebSocket message over {MAX_MESSAGE} bytes")
            if fin:
                op, msg = self._msg_op, bytes(self._msg)
                self._msg_op, self._msg = None, bytearray()
                if op != 0x1:
                    raise AssertionError("binary message on the stream (only text is specified)")
                return json.loads(msg)

    def messages_until(self, cond, timeout: float, what: str) -> list:
        """Reads messages until `cond(all_messages_so_far)` is true; fails after `timeout` s."""
        got = []
        deadline = time.time() + timeout
        while not cond(got):
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; "
                                     f"{len(got)} messages: {json.dumps(got)[:1500]}")
            m = self.recv(min(left, 1.0))
            if m is not None:
                got.append(m)
        return got

    def close(self):
        if self.closed:
            self.sock.close()
            return
        self.closed = True
        try:
            self._send_frame(0x8, struct.pack(">H", 1000))
        except OSError:
            pass
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
