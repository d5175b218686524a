#!/usr/bin/env python3
"""Records the unit tests' Redis conversations from a real server and real clients.

Starts Debian's redis-server 7 on a free loopback port (temp dir, no persistence), puts a
recording proxy in front of it, and runs redis-py (pip install redis) through the proxy. For each
connection it writes:
  <name>.transcript.gz  the bytes each way in the order the proxy relayed them (causal order):
                        records of 1 byte direction (C or S), 4 bytes big-endian length, the bytes;
  <name>.oracle.json    the client's own record: what it sent and what it got, one item per entry
                        the dissector must give, in order: {"command", "key", "status", "value"?}
                        for commands, {"push": kind, "channel"} for pushed messages.
Usage: python3 record.py  (from anywhere; writes beside itself)
"""
import gzip
import json
import os
import select
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import redis
from redis.maint_notifications import MaintNotificationsConfig

HERE = os.path.dirname(os.path.abspath(__file__))
# No CLIENT SETINFO on connect: every command on the wire is one the script made.
QUIET = {"lib_name": None, "lib_version": None, "protocol": 2,
         "maint_notifications_config": MaintNotificationsConfig(enabled=False)}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proxy:
    """Accepts connections and relays them to the server, recording each connection's chunks."""

    def __init__(self, server_port):
        self.server_port = server_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        self.connections = []  # list of chunk lists, in accept order
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            client, _ = self.listener.accept()
            upstream = socket.create_connection(("127.0.0.1", self.server_port))
            chunks = []
            self.connections.append(chunks)
            threading.Thread(target=self.relay, args=(client, upstream, chunks), daemon=True).start()

    def relay(self, client, upstream, chunks):
        peers = {client: (upstream, b"C"), upstream: (client, b"S")}
        while True:
            ready, _, _ = select.select(list(peers), [], [])
            for s in ready:
                data = s.recv(65536)
                if not data:
                    for p in peers:
                        p.close()
                    return
                other, tag = peers[s]
                chunks.append((tag, data))
                other.sendall(data)


def save(name, chunks, oracle):
    with gzip.GzipFile(os.path.join(HERE, f"{name}.transcript.gz"), "wb", mtime=0) as f:
        for tag, data in chunks:
            f.write(tag + struct.pack(">I", len(data)) + data)
    with open(os.path.join(HERE, f"{name}.oracle.json"), "w") as f:
        json.dump(oracle, f, indent=1)
        f.write("\n")


def text(v):
    if isinstance(v, bytes):
        try:
            return v.decode()
        except UnicodeDecodeError:
            return None
    return v


def status(result):
    if isinstance(result, redis.exceptions.ResponseError):
        return str(result).split(" ")[0]
    return "OK"


def call(r, oracle, key, *args, keep_value=True):
    """Runs one command and records it as the client saw it. redis-py strips the error code of
    some errors (a WRONGTYPE error reads 'Operation against a key ...'), so the code is read from
    its exception class where it has one."""
    try:
        result = r.execute_command(*args)
        st = "OK"
    except (redis.exceptions.ResponseError, redis.exceptions.AuthenticationError) as e:
        result = e
        st = error_code(e)
    item = {"command": args[0].upper() if isinstance(args[0], str) else args[0].decode().upper(), "key": key, "status": st}
    if keep_value and st == "OK" and isinstance(result, (bytes, str)) and text(result) is not None and len(result) < 512:
        item["value"] = text(result)
    if keep_value and st == "OK" and isinstance(result, int) and not isinstance(result, bool):
        item["value"] = result
    oracle.append(item)
    return result


def error_code(e):
    """The error code as the client saw it. redis-py keeps codes it has no exception class for in
    the message ('WRONGTYPE Operation against ...'), and turns the others into classes, dropping the
    code (ERR is dropped from every message)."""
    msg = str(e)
    first = msg.split(" ")[0]
    if first.isupper() and first.isalpha() and first != "AUTH":
        return first
    exc = redis.exceptions
    classes = [(exc.ExecAbortError, "EXECABORT"), (exc.NoScriptError, "NOSCRIPT"), (exc.ReadOnlyError, "READONLY"),
               (exc.BusyLoadingError, "LOADING"), (exc.NoPermissionError, "NOPERM"), (exc.OutOfMemoryError, "OOM")]
    for cls, code in classes:
        if isinstance(e, cls):
            return code
    if isinstance(e, exc.AuthenticationError) and "called without any password" not in msg:
        return "WRONGPASS" if "invalid username-password" in msg else "NOAUTH"
    return "ERR"


def main():
    tmp = tempfile.mkdtemp(prefix="shark-redis-rec-")
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", tmp, "--save", "",
         "--appendonly", "no", "--enable-debug-command", "yes", "--logfile", os.path.join(tmp, "log")])
    try:
        for _ in range(100):
            try:
                redis.Redis(port=port, **QUIET).ping()
                break
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        proxy = Proxy(port)
        record(proxy)
    finally:
        server.terminate()
        server.wait()


def conn(proxy, **kw):
    return redis.Redis(host="127.0.0.1", port=proxy.port, single_connection_client=True, **{**QUIET, **kw})


def record(proxy):
    # 1. RESP2: strings, lists, hashes, errors, containers, binary and big values, scripts.
    o = []
    r = conn(proxy)
    call(r, o, None, "PING")
    first = len(proxy.connections) - 1
    call(r, o, "greeting", "SET", "greeting", "hello world")
    call(r, o, "greeting", "GET", "greeting")
    call(r, o, "missing", "GET", "missing")
    call(r, o, "counter", "INCR", "counter")
    call(r, o, "list", "RPUSH", "list", "a", "b", "c")
    call(r, o, "list", "LRANGE", "list", "0", "-1")
    call(r, o, "list", "INCR", "list")
    call(r, o, None, "NOSUCHCOMMAND", "x")
    call(r, o, "h", "HSET", "h", "f1", "v1", "f2", "v2")
    call(r, o, "h", "HGETALL", "h")
    call(r, o, None, "CLIENT", "SETNAME", "shark-test")
    call(r, o, None, "CONFIG", "GET", "maxmemory")
    call(r, o, "bin", "SET", "bin", bytes(range(256)))
    call(r, o, "bin", "GET", "bin")
    call(r, o, "big", "SET", "big", b"x" * (1 << 20))
    call(r, o, "big", "GET", "big")
    call(r, o, "big", "STRLEN", "big")
    call(r, o, "stream", "XADD", "stream", "*", "field", "value", keep_value=False)
    call(r, o, "stream", "XINFO", "STREAM", "stream", keep_value=False)
    call(r, o, "k1", "EVAL", "return redis.call('GET', KEYS[1])", "1", "k1")
    call(r, o, None, "EVALSHA", "0000000000000000000000000000000000000000", "0")
    call(r, o, "k1", "MSET", "k1", "1", "k2", "2")
    # Last: redis-py drops the connection after an authentication error.
    call(r, o, None, "AUTH", "not-the-password")
    r.close()
    # The AUTH error made redis-py retry on a new connection: this conversation is the first one.
    save("resp2", proxy.connections[first], o)

    # 2. Pipelining (200 commands in flight) and a transaction.
    o = []
    r = conn(proxy)
    p = r.pipeline(transaction=False)
    for i in range(200):
        p.execute_command("SET", f"p{i}", str(i))
        o.append({"command": "SET", "key": f"p{i}", "status": "OK", "value": "OK"})
    p.execute()
    p = r.pipeline(transaction=True)
    p.execute_command("SET", "t1", "one")
    p.execute_command("INCR", "t2")
    p.execute_command("LPUSH", "t1", "x")
    res = p.execute(raise_on_error=False)
    o.append({"command": "MULTI", "key": None, "status": "OK", "value": "OK"})
    for cmd, key in [("SET", "t1"), ("INCR", "t2"), ("LPUSH", "t1")]:
        o.append({"command": cmd, "key": key, "status": "OK", "value": "QUEUED"})
    o.append({"command": "EXEC", "key": None, "status": "OK"})
    assert isinstance(res[2], redis.exceptions.ResponseError), res
    # A transaction the server aborts: a command it refuses while queueing.
    p = r.pipeline(transaction=True)
    p.execute_command("SET", "t3", "x")
    p.execute_command("SET")
    try:
        p.execute()
    except redis.exceptions.ResponseError as e:
        assert "EXECABORT" in str(e) or "wrong number" in str(e), e
    o.append({"command": "MULTI", "key": None, "status": "OK", "value": "OK"})
    o.append({"command": "SET", "key": "t3", "status": "OK", "value": "QUEUED"})
    o.append({"command": "SET", "key": None, "status": "ERR"})
    o.append({"command": "EXEC", "key": None, "status": "EXECABORT"})
    r.close()
    save("pipeline", proxy.connections[-1], o)

    # 3. RESP3 (HELLO 3): maps, sets, doubles, big numbers, booleans, verbatim strings,
    # attributes, pushes (DEBUG PROTOCOL makes the server send each type), client-side caching.
    o = []
    r = conn(proxy, protocol=3)
    o.append({"command": "HELLO", "key": None, "status": "OK"})
    if r.connection is not None:
        pass
    call(r, o, "h", "HGETALL", "h", keep_value=False)
    call(r, o, "s", "SADD", "s", "m1", "m2")
    call(r, o, "s", "SMEMBERS", "s", keep_value=False)
    call(r, o, "z", "ZADD", "z", "1.5", "m")
    call(r, o, "z", "ZSCORE", "z", "m", keep_value=False)
    for t in ["map", "set", "double", "bignum", "true", "false", "verbatim", "null"]:
        call(r, o, None, "DEBUG", "PROTOCOL", t, keep_value=False)
    call(r, o, None, "CLIENT", "TRACKING", "on")
    call(r, o, "tracked", "GET", "tracked")
    other = redis.Redis(port=proxy.port, **QUIET)
    other.set("tracked", "changed")
    other.close()
    proxy.connections.pop()  # the other connection is not this conversation
    # The invalidation push arrives before the next reply; redis-py hands it to its push handler.
    pushes = []
    r.connection._parser.set_invalidation_push_handler(lambda m: pushes.append(m))
    call(r, o, "tracked", "GET", "tracked")
    o.insert(len(o) - 1, {"push": "invalidate", "channel": None})
    assert pushes, "no invalidation push"
    r.close()
    save("resp3", proxy.connections[-1], o)

    # 4. Pub/sub: a subscriber (RESP2) and messages published on another connection.
    o = []
    sub = redis.Redis(host="127.0.0.1", port=proxy.port, **QUIET).pubsub()
    sub.subscribe("news", "sport")
    sub.psubscribe("log.*")
    got = []
    while len(got) < 3:
        m = sub.get_message(timeout=1)
        if m:
            got.append(m)
    o.append({"command": "SUBSCRIBE", "key": None, "status": "OK"})
    o.append({"command": "PSUBSCRIBE", "key": None, "status": "OK"})
    pub = redis.Redis(port=proxy.port, **QUIET)
    conns_before = len(proxy.connections)
    pub.publish("news", "extra")
    pub.publish("log.app", "line 1")
    pub.publish("sport", "goal")
    pub.close()
    while len(got) < 6:
        m = sub.get_message(timeout=1)
        if m:
            got.append(m)
            kind = m["type"]
            o.append({"push": kind, "channel": text(m["channel"])})
    sub.unsubscribe()
    sub.punsubscribe()
    while len(got) < 9:
        m = sub.get_message(timeout=1)
        if m:
            got.append(m)
    o.append({"command": "UNSUBSCRIBE", "key": None, "status": "OK"})
    o.append({"command": "PUNSUBSCRIBE", "key": None, "status": "OK"})
    sub.close()
    time.sleep(0.1)
    save("pubsub", proxy.connections[conns_before - 1], o)

    # 4b. RESP3 attributes: redis-py cannot read them, so a raw client sends the commands and
    # checks the replies by their bytes (the attribute, then the reply it describes).
    o = []
    s = socket.create_connection(("127.0.0.1", proxy.port))
    s.sendall(b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n")
    buf = b""
    while b"modules" not in buf or not buf.endswith(b"\r\n"):
        buf += s.recv(4096)
    o.append({"command": "HELLO", "key": None, "status": "OK"})
    s.sendall(b"*3\r\n$5\r\nDEBUG\r\n$8\r\nPROTOCOL\r\n$6\r\nattrib\r\n")
    buf = b""
    while not buf.endswith(b"Some real reply following the attribute\r\n"):
        buf += s.recv(4096)
    assert buf.startswith(b"|1\r\n"), buf
    o.append({"command": "DEBUG", "key": None, "status": "OK", "value": "Some real reply following the attribute"})
    s.close()
    time.sleep(0.1)
    save("attrib", proxy.connections[-1], o)

    # 5. MONITOR, and inline commands (what a person types into telnet).
    o = []
    s = socket.create_connection(("127.0.0.1", proxy.port))
    s.sendall(b"MONITOR\r\n")
    assert s.recv(100) == b"+OK\r\n"
    o.append({"command": "MONITOR", "key": None, "status": "OK", "value": "OK"})
    mon_conn = len(proxy.connections) - 1
    other = redis.Redis(port=proxy.port, **QUIET)
    other.set("watched", "1")
    other.get("watched")
    other.close()
    buf = b""
    while buf.count(b"\r\n") < 2:
        buf += s.recv(4096)
    for line in buf.split(b"\r\n")[:2]:
        o.append({"push": "monitor", "channel": None})
    s.close()
    time.sleep(0.1)
    save("monitor", proxy.connections[mon_conn], o)

    o = []
    s = socket.create_connection(("127.0.0.1", proxy.port))
    s.sendall(b"SET inline 'two words'\r\n\r\nGET inline\r\nPING\r\n")
    buf = b""
    while buf.count(b"\r\n") < 4:
        buf += s.recv(4096)
    assert buf == b"+OK\r\n$9\r\ntwo words\r\n+PONG\r\n", buf
    o += [{"command": "SET", "key": "inline", "status": "OK", "value": "OK"},
          {"command": "GET", "key": "inline", "status": "OK", "value": "two words"},
          {"command": "PING", "key": None, "status": "OK", "value": "PONG"}]
    s.close()
    time.sleep(0.1)
    save("inline", proxy.connections[-1], o)


if __name__ == "__main__":
    sys.exit(main())
