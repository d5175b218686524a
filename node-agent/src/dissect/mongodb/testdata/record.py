#!/usr/bin/env python3
"""Records the unit-test vectors of the MongoDB dissector from real software.

FerretDB (a MongoDB wire-protocol server, SQLite backend) listens on loopback; pymongo talks to
it through a recording proxy that writes each TCP connection's bytes, in the order and pieces
they were read, to <name>.stream (records: direction byte b"C" or b"S", u32 little-endian length,
bytes). pymongo's command monitoring (CommandListener) is the client's own record of each command
and its outcome: <name>.commands.json. The unit tests compare the dissector's entries with it.

OP_COMPRESSED vectors (FerretDB v1 does not negotiate compression): the recorded OP_MSG
messages of the CRUD connection rewrapped per the wire-protocol spec, their bodies compressed
by python-snappy, zlib and zstandard: compressed-<name>.stream.

usage: record.py FERRETDB_BINARY  (writes next to this script)
"""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

import bson
import pymongo
import snappy
import zstandard
from pymongo import monitoring

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proxy:
    """Accepts connections and relays them to the server, recording every read per connection."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.conns = []  # per connection: list of (dir, bytes)
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.upstream))
            rec = []
            with self.lock:
                self.conns.append(rec)
            threading.Thread(target=self.pump, args=(c, u, b"C", rec), daemon=True).start()
            threading.Thread(target=self.pump, args=(u, c, b"S", rec), daemon=True).start()

    def pump(self, src, dst, tag, rec):
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
                rec.append((tag, data))
            dst.sendall(data)


class Listener(monitoring.CommandListener):
    def __init__(self):
        self.events = []

    def started(self, e):
        self.events.append({"request_id": e.request_id, "command": e.command_name, "database": e.database_name,
                            "connection_port": e.connection_id[1]})

    def succeeded(self, e):
        ev = next(x for x in self.events if x["request_id"] == e.request_id and "outcome" not in x)
        reply = e.reply
        write_errors = reply.get("writeErrors") or []
        ev["outcome"] = "succeeded"
        ev["ok"] = reply.get("ok")
        if write_errors:
            ev["write_error_code"] = write_errors[0].get("code")
        if "cursor" in reply:
            batch = reply["cursor"].get("firstBatch", reply["cursor"].get("nextBatch", []))
            ev["batch_count"] = len(batch)
        if "n" in reply:
            ev["n"] = reply["n"]

    def failed(self, e):
        ev = next(x for x in self.events if x["request_id"] == e.request_id and "outcome" not in x)
        ev["outcome"] = "failed"
        ev["code"] = e.failure.get("code")
        ev["codeName"] = e.failure.get("codeName")


def write_stream(path, rec):
    with open(path, "wb") as f:
        for tag, data in rec:
            f.write(tag + struct.pack("<I", len(data)) + data)


def messages(rec, tag):
    buf = b"".join(d for t, d in rec if t == tag)
    out = []
    while len(buf) >= 16:
        (n,) = struct.unpack_from("<i", buf)
        out.append(buf[:n])
        buf = buf[n:]
    return out


def compressed(msg, compressor):
    length, req, resp, op = struct.unpack_from("<iiii", msg)
    body = msg[16:]
    packed = {1: snappy.compress, 2: zlib.compress, 3: zstandard.ZstdCompressor().compress}[compressor](body)
    rest = struct.pack("<iiB", op, len(body), compressor) + packed
    return struct.pack("<iiii", 16 + len(rest), req, resp, 2012) + rest


def main():
    binary = sys.argv[1]
    state = tempfile.mkdtemp()
    port = free_port()
    server = subprocess.Popen([binary, f"--listen-addr=127.0.0.1:{port}", "--handler=sqlite",
                               f"--sqlite-url=file:{state}/", f"--state-dir={state}", "--telemetry=disable",
                               "--log-level=error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.1)
        proxy = Proxy(port)
        listener = Listener()
        client = pymongo.MongoClient(f"mongodb://127.0.0.1:{proxy.port}/?directConnection=true",
                                     event_listeners=[listener], maxPoolSize=1, heartbeatFrequencyMS=500)
        db = client.shop
        orders = db.orders
        orders.drop()
        orders.insert_one({"_id": 1, "sku": "a", "qty": 5, "note": "<script>alert(1)</script>"})
        orders.insert_many([{"_id": i, "sku": "b", "qty": i % 7, "pad": "x" * 40} for i in range(2, 260)])
        found = list(orders.find({"sku": "b"}, batch_size=60))
        assert len(found) == 258
        orders.update_one({"_id": 1}, {"$set": {"qty": 6}})
        orders.delete_many({"qty": 0})
        list(orders.aggregate([{"$match": {"sku": "b"}}, {"$group": {"_id": "$qty", "n": {"$sum": 1}}}]))
        db.users.drop()
        db.users.create_index("email", unique=True)
        db.users.insert_one({"email": "a@example.com"})
        try:
            db.users.insert_one({"email": "a@example.com"})
        except pymongo.errors.DuplicateKeyError:
            pass
        try:
            db.command("noSuchCommand")
        except pymongo.errors.OperationFailure:
            pass
        time.sleep(1.2)  # a few heartbeats on the monitoring connection
        client.close()
        time.sleep(0.3)
        # The legacy handshake: OP_QUERY on admin.$cmd (bytes laid out per the wire-protocol spec
        # around a document encoded by pymongo's bson), answered by the server's OP_REPLY.
        with socket.create_connection(("127.0.0.1", proxy.port)) as s:
            query = bson.encode({"isMaster": 1, "client": {"application": {"name": "legacy"}}})
            body = struct.pack("<i", 0) + b"admin.$cmd\x00" + struct.pack("<ii", 0, -1) + query
            s.sendall(struct.pack("<iiii", 16 + len(body), 77, 0, 2004) + body)
            reply = b""
            while len(reply) < 4 or len(reply) < struct.unpack_from("<i", reply)[0]:
                reply += s.recv(65536)
        time.sleep(0.3)
    finally:
        server.terminate()
        server.wait()

    # The application connection is the one whose client messages carry the commands.
    app = [rec for rec in proxy.conns if any(b"insert" in d for t, d in rec if t == b"C")]
    legacy = proxy.conns[-1]
    monitor = [rec for rec in proxy.conns if rec not in app and rec is not legacy and rec]
    assert len(app) == 1, len(app)
    write_stream(os.path.join(HERE, "crud.stream"), app[0])
    write_stream(os.path.join(HERE, "monitor.stream"), monitor[0])
    write_stream(os.path.join(HERE, "legacy.stream"), legacy)
    with open(os.path.join(HERE, "crud.commands.json"), "w") as f:
        json.dump(listener.events, f, indent=1)
    # Compressed: every OP_MSG of the CRUD connection, requests and replies in order.
    client_msgs, server_msgs = messages(app[0], b"C"), messages(app[0], b"S")
    for cid, name in ((1, "snappy"), (2, "zlib"), (3, "zstd")):
        rec = []
        for i, m in enumerate(client_msgs):
            cm = compressed(m, cid) if struct.unpack_from("<i", m, 12)[0] == 2013 else m
            rec.append((b"C", cm))
            if i < len(server_msgs):
                sm = server_msgs[i]
                rec.append((b"S", compressed(sm, cid) if struct.unpack_from("<i", sm, 12)[0] == 2013 else sm))
        write_stream(os.path.join(HERE, f"compressed-{name}.stream"), rec)
    print("recorded", len(listener.events), "commands")


if __name__ == "__main__":
    main()
