#!/usr/bin/env python3
"""Generates session_fixture.json: whole HTTP/2 connections between real implementations, as the
bytes each side sent in order, with what the peers themselves made of every stream, for the
session tests (node-agent/src/dissect/http2/session_tests.rs).

    pip install h2==4.4.1 hpack==4.2.0 hyperframe==6.1.0 grpcio==1.85.4 grpcio-tools==1.85.4
    python3 gen_session.py > session_fixture.json

- "h2" scenarios: Python `h2` client and server connections in one process (no sockets). The
  expectations per stream are the peers' own events: the request as the server's h2 received it
  (method, path, body, trailers), the response as the client's h2 received it (status, body,
  trailers), resets, pushes.
- "grpc" scenarios: a real grpcio server and client on loopback, every call on its own channel
  (connection) through a relay that records the bytes. The expectations are what the grpcio
  client and server saw: status code and details, metadata, every message (serialised, and as
  protobuf's MessageToJson where the method is in the test schema).
Bodies are compared by length and FNV-1a hash (as gen_h2.py does).
"""
import base64
import gzip
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures

import grpc
import h2.config
import h2.connection
import h2.events
import h2.settings
from google.protobuf import json_format
from grpc_tools import protoc as grpc_protoc
from h2.errors import ErrorCodes

HERE = os.path.dirname(os.path.abspath(__file__))
PROTOS = os.path.join(HERE, "..", "..", "grpc", "testdata", "protos")
WKT = os.path.join(os.path.dirname(grpc_protoc.__file__), "_proto")


def fnv1a(data):
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return f"{h:08x}"


def body(data):
    return {"len": len(data), "fnv": fnv1a(data)}


def text(v):
    return v.decode() if isinstance(v, bytes) else v


# ---------------------------------------------------------------- h2 scenarios


class Pair:
    """An h2 client and server; `segments` records what each sent, `streams` what each received."""

    def __init__(self, client_settings=None):
        self.client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        self.segments = []
        self.streams = {}
        self.client.initiate_connection()
        if client_settings:
            self.client.update_settings(client_settings)
        self.server.initiate_connection()

    def stream(self, sid):
        return self.streams.setdefault(
            sid,
            {"stream_id": sid, "request_body": b"", "response_body": b"", "request_trailers": [],
             "response_trailers": [], "pushed": False, "status": None, "method": None, "path": None,
             "reset": None, "interim": []},
        )

    def pump(self):
        while True:
            moved = False
            for sender, receiver, tag in ((self.client, self.server, "c"), (self.server, self.client, "s")):
                data = sender.data_to_send()
                if data:
                    moved = True
                    self.segments.append([tag, data.hex()])
                    for e in receiver.receive_data(data):
                        self.on_event(tag, receiver, e)
            if not moved:
                return

    def on_event(self, sender, receiver, e):
        if isinstance(e, h2.events.RequestReceived):
            h = dict((text(k), text(v)) for k, v in e.headers)
            s = self.stream(e.stream_id)
            s["method"], s["path"] = h.get(":method"), h.get(":path")
        elif isinstance(e, h2.events.ResponseReceived):
            s = self.stream(e.stream_id)
            s["status"] = int(dict((text(k), text(v)) for k, v in e.headers)[":status"])
        elif isinstance(e, h2.events.InformationalResponseReceived):
            self.stream(e.stream_id)["interim"].append(int(dict((text(k), text(v)) for k, v in e.headers)[":status"]))
        elif isinstance(e, h2.events.DataReceived):
            key = "request_body" if sender == "c" else "response_body"
            self.stream(e.stream_id)[key] += e.data
            if e.flow_controlled_length:
                receiver.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
        elif isinstance(e, h2.events.TrailersReceived):
            key = "request_trailers" if sender == "c" else "response_trailers"
            self.stream(e.stream_id)[key] = [[text(k), text(v)] for k, v in e.headers]
        elif isinstance(e, h2.events.StreamReset):
            self.stream(e.stream_id)["reset"] = [sender, ErrorCodes(e.error_code).name]
        elif isinstance(e, h2.events.PushedStreamReceived):
            s = self.stream(e.pushed_stream_id)
            h = dict((text(k), text(v)) for k, v in e.headers)
            s["pushed"], s["method"], s["path"] = True, h[":method"], h[":path"]

    def result(self, name, **extra):
        streams = []
        for sid in sorted(self.streams):
            s = dict(self.streams[sid])
            s["request_body"] = body(s["request_body"])
            s["response_body"] = body(s["response_body"])
            streams.append(s)
        return {"name": name, "kind": "h2", "segments": self.segments, "streams": streams, **extra}


def respond(conn, sid, status, data=b"", headers=(), trailers=None, pad=None, chunk=None):
    conn.send_headers(sid, [(":status", str(status))] + list(headers), end_stream=not data and trailers is None)
    if data:
        chunk = chunk or len(data)
        for i in range(0, len(data), chunk):
            last = i + chunk >= len(data)
            conn.send_data(sid, data[i : i + chunk], end_stream=last and trailers is None, pad_length=pad)
    if trailers is not None:
        conn.send_headers(sid, trailers, end_stream=True)


def req(conn, path, method="GET", extra=(), end=True):
    sid = conn.get_next_available_stream_id()
    headers = [(":method", method), (":scheme", "http"), (":authority", "example.test"), (":path", path)]
    conn.send_headers(sid, headers + list(extra), end_stream=end)
    return sid


def concurrent():
    """Interleaved streams: GETs, a POST with a padded body in three frames and trailers, a 404,
    a HEAD, a response with trailers, a request header big enough for CONTINUATION frames."""
    p = Pair()
    p.pump()
    c, s = p.client, p.server
    a = req(c, "/a?x=1&y=two")
    post = req(c, "/upload", "POST", [("content-type", "application/json"), ("authorization", "Bearer t0ken")], end=False)
    missing = req(c, "/missing")
    head = req(c, "/index.html", "HEAD")
    trail = req(c, "/trailers", extra=[("te", "trailers")])
    big = req(c, "/big-header", extra=[("x-big", "v" * 20000)])
    for i, part in enumerate([b'{"name":', b'"golden",', b'"n":1}']):
        c.send_data(post, part, pad_length=7)
    c.send_headers(post, [("x-checksum", "abc")], end_stream=True)
    p.pump()
    respond(s, trail, 200, b"trailer body", [("content-type", "text/plain")], trailers=[("x-trailer", "done")])
    respond(s, missing, 404, b"not found\n", [("content-type", "text/plain")])
    respond(s, head, 200, b"", [("content-type", "text/html"), ("content-length", "1234")])
    respond(s, post, 201, b'{"id":1}', [("content-type", "application/json")], pad=3)
    respond(s, big, 200, b"ok", [("set-cookie", "sid=1")])
    respond(s, a, 200, b"A" * 5000, [("content-type", "text/plain")], chunk=1000)
    p.pump()
    return p.result("concurrent")


def large_body():
    """A gzip-encoded response body of 120 KB sent as one DATA frame (the client allowed 1 MiB
    frames), and a 100 KB request body in default-size frames."""
    big_window = {h2.settings.SettingCodes.MAX_FRAME_SIZE: 1 << 20, h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1 << 24}
    p = Pair(big_window)
    p.client.increment_flow_control_window(1 << 24)
    p.server.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1 << 24})
    p.server.increment_flow_control_window(1 << 24)
    p.pump()
    c, s = p.client, p.server
    text_body = b"".join(b"line %d of the large body\n" % i for i in range(5000))
    gz = gzip.compress(text_body, mtime=0)
    sid = req(c, "/large.txt", extra=[("accept-encoding", "gzip")])
    up = req(c, "/put", "PUT", end=False)
    payload = bytes((i * 7) & 0xFF for i in range(100_000))
    for i in range(0, len(payload), 16384):
        c.send_data(up, payload[i : i + 16384], end_stream=i + 16384 >= len(payload))
    p.pump()
    s.send_headers(sid, [(":status", "200"), ("content-type", "text/plain"), ("content-encoding", "gzip")])
    s.send_data(sid, gz + b"", end_stream=False)
    s.send_data(sid, b"", end_stream=True)
    respond(s, up, 204)
    big = b"Z" * 120_000
    sid3 = req(c, "/zeros")
    p.pump()
    s.send_headers(sid3, [(":status", "200")])
    s.send_data(sid3, big, end_stream=True, pad_length=200)
    p.pump()
    return p.result("large_body", decoded={"1": body(text_body)})


def reset_goaway_push():
    """A push promise with its pushed response, a stream the client cancels, one the server
    refuses, and a GOAWAY that leaves the last requests unanswered."""
    p = Pair()
    p.pump()
    c, s = p.client, p.server
    index = req(c, "/index.html")
    slow = req(c, "/slow")
    refused = req(c, "/refused")
    p.pump()
    s.push_stream(index, 2, [(":method", "GET"), (":scheme", "http"), (":authority", "example.test"), (":path", "/style.css")])
    respond(s, index, 200, b"<html></html>", [("content-type", "text/html")])
    respond(s, 2, 200, b"body{}", [("content-type", "text/css")])
    s.reset_stream(refused, ErrorCodes.REFUSED_STREAM)
    p.pump()
    c.reset_stream(slow, ErrorCodes.CANCEL)
    late1 = req(c, "/late1")
    late2 = req(c, "/late2")
    p.pump()
    s.close_connection(ErrorCodes.NO_ERROR, b"bye", last_stream_id=slow)
    p.pump()
    return p.result("reset_goaway_push", unanswered=[late1, late2])


def upgrade():
    """HTTP/1.1 `Upgrade: h2c` (RFC 7540 §3.2): the request is stream 1, answered in HTTP/2 after
    the 101; a second request follows on stream 3."""
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    settings = client.initiate_upgrade_connection()
    request = (
        b"GET /upgrade?x=1 HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade, HTTP2-Settings\r\n"
        b"Upgrade: h2c\r\nHTTP2-Settings: " + settings + b"\r\n\r\n"
    )
    server.initiate_upgrade_connection(settings)
    p = Pair.__new__(Pair)
    p.client, p.server, p.segments, p.streams = client, server, [], {}
    p.segments.append(["c", request.hex()])
    p.stream(1).update({"method": "GET", "path": "/upgrade?x=1"})
    switching = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
    respond(server, 1, 200, b"upgraded!", [("content-type", "text/plain")])
    p.segments.append(["s", (switching + server.data_to_send()).hex()])
    for e in client.receive_data(bytes.fromhex(p.segments[-1][1])[len(switching):]):
        p.on_event("s", client, e)
    second = req(client, "/second")
    p.pump()
    respond(server, second, 200, b"second", [("content-type", "text/plain")])
    p.pump()
    return p.result("upgrade")


# ---------------------------------------------------------------- gRPC scenarios


def compile_protos(out):
    files = []
    for root, _, names in os.walk(PROTOS):
        files += [os.path.relpath(os.path.join(root, n), PROTOS) for n in names if n.endswith(".proto")]
    r = subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTOS}", f"-I{WKT}", f"--python_out={out}", *sorted(files)], capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    sys.path.insert(0, out)
    from kshark.test.v1 import catalog_pb2

    return catalog_pb2


class Relay:
    """A TCP relay on loopback that records what each side sent, in the order it arrived."""

    def __init__(self, target_port):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.target = target_port
        self.segments = []
        self.lock = threading.Lock()
        self.threads = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        conn, _ = self.listener.accept()
        up = socket.create_connection(("127.0.0.1", self.target))
        for src, dst, tag in ((conn, up, "c"), (up, conn, "s")):
            t = threading.Thread(target=self.copy, args=(src, dst, tag), daemon=True)
            t.start()
            self.threads.append(t)

    def copy(self, src, dst, tag):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            with self.lock:
                self.segments.append([tag, data.hex()])
                dst.sendall(data)

    def close(self):
        for t in self.threads:
            t.join(timeout=5)
        self.listener.close()


def grpc_scenarios():
    tmp = tempfile.mkdtemp()
    pb = compile_protos(tmp)
    seen = {}

    def get_item(request_bytes, context):
        req = pb.GetItemRequest.FromString(request_bytes)
        seen.setdefault("requests", []).append(request_bytes)
        if req.id == 42:
            context.set_trailing_metadata([("x-debug", "looked everywhere")])
            context.abort(grpc.StatusCode.NOT_FOUND, "item 42 not found: ünïcode 100%")
        context.send_initial_metadata([("x-served-by", "golden")])
        if req.with_history:
            context.set_compression(grpc.Compression.Gzip)
        item = pb.Item(id=req.id, name="widget ✓", tags=["a", "b"], price=9.5, active=True)
        if req.with_history:
            item.history.add(currency_code="EUR", units=3)
            item.blob = b"x" * 3000
        context.set_trailing_metadata([("x-cost", "7")])
        return item.SerializeToString()

    def list_stream(request_bytes, context):
        # Server streaming, on a method the schema does not have.
        for i in range(3):
            yield pb.Item(id=i, name=f"item {i}").SerializeToString()

    def collect(request_iterator, context):
        # Client streaming.
        ids = [pb.GetItemRequest.FromString(r).id for r in request_iterator]
        return pb.ListItemsResponse(items=[pb.Item(id=i) for i in ids], next_page_token="end").SerializeToString()

    def watch(request_iterator, context):
        for r in request_iterator:
            req = pb.GetItemRequest.FromString(r)
            yield pb.Item(id=req.id, name="watched").SerializeToString()

    def fail(request_bytes, context):
        context.abort(grpc.StatusCode.UNAVAILABLE, "try later")

    ident = lambda b: b
    handlers = {
        "GetItem": grpc.unary_unary_rpc_method_handler(get_item, ident, ident),
        "Watch": grpc.stream_stream_rpc_method_handler(watch, ident, ident),
    }
    extra = {
        "ListStream": grpc.unary_stream_rpc_method_handler(list_stream, ident, ident),
        "Collect": grpc.stream_unary_rpc_method_handler(collect, ident, ident),
        "Fail": grpc.unary_unary_rpc_method_handler(fail, ident, ident),
    }
    ports = {}
    servers = []
    # A second server compresses everything it sends (gzip), for the compressed scenario.
    for compressed in (False, True):
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=4), compression=grpc.Compression.Gzip if compressed else None
        )
        server.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler("kshark.test.v1.Catalog", handlers),
                grpc.method_handlers_generic_handler("kshark.test.v1.Extra", extra),
            )
        )
        ports[compressed] = server.add_insecure_port("127.0.0.1:0")
        server.start()
        servers.append(server)

    scenarios = []

    def call(name, fn, schema_types, compressed=False):
        relay = Relay(ports[compressed])
        channel = grpc.insecure_channel(
            f"127.0.0.1:{relay.port}",
            options=[("grpc.enable_http_proxy", 0)],
            compression=grpc.Compression.Gzip if compressed else None,
        )
        outcome = fn(channel)
        channel.close()
        relay.close()
        time.sleep(0.2)
        with relay.lock:
            segments = list(relay.segments)
        scenarios.append({"name": name, "kind": "grpc", "segments": segments, "types": schema_types, **outcome})

    md = [("authorization", "Bearer s3cret"), ("x-request-id", "r-1"), ("trace-bin", b"\x00\x01\xff")]

    def status_of(e):
        return {"status": e.code().name, "code": e.code().value[0], "message": e.details(), "trailers": [[k, v if isinstance(v, str) else v.hex()] for k, v in (e.trailing_metadata() or [])]}

    def messages(list_of_bytes, type_name):
        out = []
        for b in list_of_bytes:
            m = {"hex": b.hex()}
            if type_name:
                msg = getattr(pb, type_name).FromString(b)
                m["json"] = json.loads(json_format.MessageToJson(msg))
            out.append(m)
        return out

    def unary(channel):
        rpc = channel.unary_unary("/kshark.test.v1.Catalog/GetItem")
        req = pb.GetItemRequest(id=7).SerializeToString()
        resp, c = rpc.with_call(req, metadata=md)
        return {"path": "/kshark.test.v1.Catalog/GetItem", "status": "OK", "code": 0, "message": None,
                "requests": messages([req], "GetItemRequest"), "responses": messages([resp], "Item"),
                "response_metadata": [[k, v] for k, v in c.initial_metadata()], "trailers": [[k, v] for k, v in c.trailing_metadata()]}

    def gzip_both(channel):
        rpc = channel.unary_unary("/kshark.test.v1.Catalog/GetItem")
        req = pb.GetItemRequest(id=8, with_history=True).SerializeToString()
        resp, c = rpc.with_call(req, compression=grpc.Compression.Gzip)
        return {"path": "/kshark.test.v1.Catalog/GetItem", "status": "OK", "code": 0, "message": None, "compressed": True,
                "requests": messages([req], "GetItemRequest"), "responses": messages([resp], "Item")}

    def not_found(channel):
        rpc = channel.unary_unary("/kshark.test.v1.Catalog/GetItem")
        req = pb.GetItemRequest(id=42).SerializeToString()
        try:
            rpc(req)
            raise AssertionError("expected NOT_FOUND")
        except grpc.RpcError as e:
            return {"path": "/kshark.test.v1.Catalog/GetItem", **status_of(e), "requests": messages([req], "GetItemRequest"), "responses": []}

    def unavailable(channel):
        rpc = channel.unary_unary("/kshark.test.v1.Extra/Fail")
        try:
            rpc(b"")
            raise AssertionError("expected UNAVAILABLE")
        except grpc.RpcError as e:
            return {"path": "/kshark.test.v1.Extra/Fail", **status_of(e), "requests": [{"hex": ""}], "responses": []}

    def server_streaming(channel):
        rpc = channel.unary_stream("/kshark.test.v1.Extra/ListStream")
        req = pb.ListItemsRequest(filter="all").SerializeToString()
        resps = list(rpc(req))
        return {"path": "/kshark.test.v1.Extra/ListStream", "status": "OK", "code": 0, "message": None,
                "requests": messages([req], None), "responses": messages(resps, None)}

    def client_streaming(channel):
        rpc = channel.stream_unary("/kshark.test.v1.Extra/Collect")
        reqs = [pb.GetItemRequest(id=i).SerializeToString() for i in (1, 2, 3)]
        resp = rpc(iter(reqs))
        return {"path": "/kshark.test.v1.Extra/Collect", "status": "OK", "code": 0, "message": None,
                "requests": messages(reqs, None), "responses": messages([resp], None)}

    def bidi(channel):
        rpc = channel.stream_stream("/kshark.test.v1.Catalog/Watch")
        reqs = [pb.GetItemRequest(id=i).SerializeToString() for i in (5, 6, 7)]
        resps = list(rpc(iter(reqs)))
        return {"path": "/kshark.test.v1.Catalog/Watch", "status": "OK", "code": 0, "message": None,
                "requests": messages(reqs, "GetItemRequest"), "responses": messages(resps, "Item")}

    call("grpc_unary", unary, True)
    call("grpc_gzip", gzip_both, True, compressed=True)
    call("grpc_not_found", not_found, True)
    call("grpc_unavailable", unavailable, False)
    call("grpc_server_streaming", server_streaming, False)
    call("grpc_client_streaming", client_streaming, False)
    call("grpc_bidi", bidi, True)
    for server in servers:
        server.stop(0)
    return scenarios


def main():
    scenarios = [concurrent(), large_body(), reset_goaway_push(), upgrade()] + grpc_scenarios()
    json.dump({"generator": "gen_session.py", "scenarios": scenarios}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
