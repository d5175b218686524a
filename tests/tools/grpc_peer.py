#!/usr/bin/env python3
"""gRPC server and client for the end-to-end tests (Python grpcio), on the service of
tests/tools/proto/shk_echo.proto, whose stubs are generated at run time (`gen DIR`).

  grpc_peer.py gen DIR                                  generate shk_echo_pb2*.py into DIR
  grpc_peer.py server --listen IP:PORT --gen DIR
  grpc_peer.py client --target IP:PORT --gen DIR --plan main|waves [--wait-file F]

The client makes every call of its plan on ONE channel (one HTTP/2 connection, one stream per
call) and prints one JSON line per call, from its own view of the call:
  {"path", "code" (status name), "details", "sent" (request messages), "received" (response messages)}
and, for the `waves` plan, {"event": "wave-done", "wave": N} before waiting for --wait-file to exist.

The server behaves like tests/tools/go/grpcecho (see there): NOT_FOUND for text "missing",
INVALID_ARGUMENT for "fail", x-shk-echo returned as a header and x-shk-trailer as a trailer, and a
gzip-compressed response when the request metadata has x-shk-compress: gzip.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import sys
import time
from concurrent import futures
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTO_DIR = HERE / "proto"
PROTO = "shk_echo.proto"
SERVICE = "shk.echo.Echo"
MAX_MSG = 64 * 1024 * 1024
BIG = 4 * 1024 * 1024  # the 4 MB message each way
OPTIONS = [("grpc.max_receive_message_length", MAX_MSG), ("grpc.max_send_message_length", MAX_MSG)]


def gen(out: Path):
    from grpc_tools import protoc  # grpcio-tools
    import grpc_tools
    out.mkdir(parents=True, exist_ok=True)
    include = Path(grpc_tools.__file__).resolve().parent / "_proto"
    rc = protoc.main(["protoc", f"-I{PROTO_DIR}", f"-I{include}", f"--python_out={out}",
                      f"--grpc_python_out={out}", str(PROTO_DIR / PROTO)])
    if rc != 0:
        raise SystemExit(f"protoc failed ({rc})")


def load(gen_dir: str):
    sys.path.insert(0, gen_dir)
    import shk_echo_pb2 as pb  # noqa: E402
    import shk_echo_pb2_grpc as pbg  # noqa: E402
    return pb, pbg


def blob(n: int) -> bytes:
    """Compressible, deterministic bytes."""
    unit = b"kubectl-shark grpc blob 0123456789 "
    return (unit * (n // len(unit) + 1))[:n]


# ---- server ------------------------------------------------------------------------------------

def serve(args):
    import grpc
    pb, pbg = load(args.gen)

    def meta(context):
        md = dict(context.invocation_metadata())
        if "x-shk-echo" in md:
            context.send_initial_metadata((("x-shk-echo", md["x-shk-echo"]),))
        if "x-shk-trailer" in md:
            context.set_trailing_metadata((("x-shk-trailer", md["x-shk-trailer"]),))
        if md.get("x-shk-compress") == "gzip":
            context.set_compression(grpc.Compression.Gzip)

    def check(req, context):
        if req.text == "missing":
            context.abort(grpc.StatusCode.NOT_FOUND, "no such item: missing")
        if req.text == "fail":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad request: fail")

    class Echo(pbg.EchoServicer):
        def Unary(self, req, context):
            meta(context)
            check(req, context)
            return pb.EchoReply(text="echo:" + req.text, blob=blob(req.blob_size))

        def ServerStream(self, req, context):
            meta(context)
            check(req, context)
            for i in range(1, req.count + 1):
                yield pb.EchoReply(text=f"{req.text} #{i}", index=i, blob=blob(req.blob_size))

        def ClientStream(self, reqs, context):
            meta(context)
            n = sum(1 for _ in reqs)
            return pb.EchoReply(text=f"got {n}", index=n)

        def Bidi(self, reqs, context):
            meta(context)
            for i, req in enumerate(reqs, 1):
                check(req, context)
                yield pb.EchoReply(text="re:" + req.text, index=i, blob=blob(req.blob_size))

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=OPTIONS)
    pbg.add_EchoServicer_to_server(Echo(), server)
    server.add_insecure_port(args.listen)
    server.start()
    print(f"grpc_peer: serving on {args.listen}", flush=True)
    server.wait_for_termination()


# ---- client ------------------------------------------------------------------------------------

class Caller:
    def __init__(self, target, gen_dir):
        import grpc
        self.grpc = grpc
        self.pb, pbg = load(gen_dir)
        self.channel = grpc.insecure_channel(target, options=OPTIONS)
        grpc.channel_ready_future(self.channel).result(timeout=20)
        self.stub = pbg.EchoStub(self.channel)

    def report(self, method, sent, received, err=None):
        code, details = ("OK", "") if err is None else (err.code().name, err.details() or "")
        rec = {"path": f"/{SERVICE}/{method}", "code": code, "details": details, "sent": sent,
               "received": received}
        print(json.dumps(rec), flush=True)
        return rec

    def unary(self, text="hello", blob_size=0, payload=0, metadata=(), compression=None):
        req = self.pb.EchoRequest(text=text, blob=blob(payload), blob_size=blob_size)
        try:
            self.stub.Unary(req, metadata=metadata, compression=compression, timeout=60)
            return self.report("Unary", 1, 1)
        except self.grpc.RpcError as e:
            return self.report("Unary", 1, 0, e)

    def server_stream(self, text="s", count=3, metadata=(), compression=None):
        got = 0
        try:
            for _ in self.stub.ServerStream(self.pb.EchoRequest(text=text, count=count), metadata=metadata,
                                            compression=compression, timeout=60):
                got += 1
            return self.report("ServerStream", 1, got)
        except self.grpc.RpcError as e:
            return self.report("ServerStream", 1, got, e)

    def client_stream(self, n=4, metadata=()):
        sent = [0]

        def reqs():
            for i in range(n):
                sent[0] += 1
                yield self.pb.EchoRequest(text=f"part {i}")
        try:
            self.stub.ClientStream(reqs(), metadata=metadata, timeout=60)
            return self.report("ClientStream", sent[0], 1)
        except self.grpc.RpcError as e:
            return self.report("ClientStream", sent[0], 0, e)

    def bidi(self, texts, metadata=()):
        """Lock-step: the next request goes only after the previous reply arrived, so the
        messages on the wire are exactly those reported even when the server fails midway."""
        replies = queue.Queue()
        sent = [0]

        def reqs():
            for i, t in enumerate(texts):
                if i and not replies.get(timeout=60):
                    return          # the call ended (an error status): nothing more is sent
                sent[0] += 1
                yield self.pb.EchoRequest(text=t)

        got = 0
        try:
            for _ in self.stub.Bidi(reqs(), metadata=metadata, timeout=60):
                got += 1
                replies.put(True)
            rec = self.report("Bidi", sent[0], got)
        except self.grpc.RpcError as e:
            rec = self.report("Bidi", sent[0], got, e)
        replies.put(False)
        return rec


def plan_main(c: Caller):
    md = (("x-shk-echo", "one"), ("x-shk-trailer", "t-one"), ("x-auth-token", "grpc-secret-token-1"))
    c.unary("hello", metadata=md)
    c.unary("missing")
    c.server_stream("s", count=5, metadata=(("x-shk-echo", "stream"),))
    c.client_stream(4)
    c.bidi(["b1", "b2", "b3"])
    c.unary("zip", payload=20000, blob_size=30000, metadata=(("x-shk-compress", "gzip"),),
            compression=c.grpc.Compression.Gzip)
    c.server_stream("zs", count=3, metadata=(("x-shk-compress", "gzip"),), compression=c.grpc.Compression.Gzip)
    c.unary("big", payload=BIG, blob_size=BIG)
    c.bidi(["ok-1", "fail", "never"])


def plan_waves(c: Caller, wait_file, waves=2):
    """Wave 0 fills the HPACK tables (same path, user agent and metadata each call); wave 1 repeats
    them (indexed from the dynamic table) and adds new paths (literal)."""
    md = (("x-shk-echo", "wave"), ("x-auth-token", "grpc-secret-token-2"))
    for _ in range(3):
        c.unary("w0", metadata=md)
    c.server_stream("w0s", count=2, metadata=md)
    print(json.dumps({"event": "wave-done", "wave": 0}), flush=True)
    deadline = time.time() + 60
    while not os.path.exists(wait_file):
        if time.time() > deadline:
            raise SystemExit("grpc_peer: wait file never appeared")
        time.sleep(0.05)
    c.unary("w1", metadata=md)
    c.unary("missing", metadata=md)
    c.client_stream(3, metadata=md)
    c.bidi(["w1b1", "w1b2"], metadata=md)
    c.server_stream("w1s", count=2, metadata=md)


def client(args):
    c = Caller(args.target, args.gen)
    if args.plan == "main":
        plan_main(c)
    elif args.plan == "waves":
        plan_waves(c, args.wait_file)
    c.channel.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("dir")
    s = sub.add_parser("server")
    s.add_argument("--listen", required=True)
    s.add_argument("--gen", required=True)
    c = sub.add_parser("client")
    c.add_argument("--target", required=True)
    c.add_argument("--gen", required=True)
    c.add_argument("--plan", default="main", choices=["main", "waves"])
    c.add_argument("--wait-file")
    a = ap.parse_args()
    if a.cmd == "gen":
        gen(Path(a.dir))
    elif a.cmd == "server":
        serve(a)
    else:
        client(a)


if __name__ == "__main__":
    main()
