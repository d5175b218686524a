"""Redis end to end: Debian's redis-server 7 in the srv namespace (no persistence, its own temp
dir), redis-py clients in the cli namespace. The oracle is the clients' own record (REDIS_CLIENT
below): for every connection (by client port) each command it sent, in order, with the status it
got (OK, or the error's code), and each pub/sub message it received.

- `view --output json` of a bridge capture: every command appears exactly once, in order per
  connection, with the right command, status and outcome; pushed messages as entries of their own;
- `local -i <bridge> --output json` while the clients run: the same against that run's record;
- impaired variants (tests/tools/impair.py reorder, duplicate, overlap): the same as clean;
- a capture started mid-connection (editcap drops the frames before a cut in the middle of the
  long-lived pipelined connection): what comes out after the cut is the record's tail, in order,
  and nothing is invented;
- redaction of the AUTH password (and `--no-redact`), and the issue's filter examples via --filter.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from capture import LiveShark, record_on_bridge, run_view
from topology import TOOLS

PORT = 6390
PASSWORD = "alice-e2e-secret"

REDIS_CLIENT = r'''
import json, socket, sys, threading, time
import redis

host, port, password, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
# Only the commands this script makes: no CLIENT SETINFO / MAINT_NOTIFICATIONS on connect.
QUIET = dict(lib_name=None, lib_version=None)
try:
    from redis.maint_notifications import MaintNotificationsConfig
    QUIET["maint_notifications_config"] = MaintNotificationsConfig(enabled=False)
except ImportError:
    pass
record = {}  # client port -> list of items


def conn(**kw):
    r = redis.Redis(host=host, port=port, single_connection_client=True, **{**QUIET, "protocol": 2, **kw})
    r.ping()
    p = r.connection._sock.getsockname()[1]
    items = record.setdefault(str(p), [])
    items.append({"command": "HELLO" if kw.get("protocol") == 3 else "PING", "status": "OK"})
    if kw.get("protocol") == 3:
        items.append({"command": "PING", "status": "OK"})
    return r, items


def code(e):
    msg = str(e)
    first = msg.split(" ")[0]
    if first.isupper() and first.isalpha() and first != "AUTH":
        return first
    if isinstance(e, redis.exceptions.NoScriptError):
        return "NOSCRIPT"
    if isinstance(e, redis.exceptions.ExecAbortError):
        return "EXECABORT"
    if isinstance(e, redis.exceptions.AuthenticationError) and "invalid username-password" in msg:
        return "WRONGPASS"
    return "ERR"


def call(r, items, *args):
    try:
        r.execute_command(*args)
        st = "OK"
    except redis.exceptions.ResponseError as e:
        st = code(e)
    items.append({"command": args[0].upper(), "status": st})


# 1. RESP2: strings, errors, containers, a 1 MB value, AUTH as alice.
r, items = conn()
call(r, items, "AUTH", "alice", password)
for i in range(30):
    call(r, items, "SET", f"k{i}", f"v{i}")
    call(r, items, "GET", f"k{i}")
call(r, items, "RPUSH", "list", "a", "b")
call(r, items, "INCR", "list")
call(r, items, "NOSUCHCOMMAND")
call(r, items, "EVALSHA", "0" * 40, "0")
call(r, items, "CLIENT", "SETNAME", "e2e")
call(r, items, "SET", "big", b"x" * (1 << 20))
call(r, items, "GET", "big")
call(r, items, "HSET", "h", "f", "<script>alert(1)</script>")
r.close()

# 2. Pipelines (300 commands in flight) and transactions, on one pooled connection (a pipeline takes
# its connection from the pool, not the single-connection client's).
pool = redis.ConnectionPool(host=host, port=port, max_connections=1, **{**QUIET, "protocol": 2})
r = redis.Redis(connection_pool=pool)
r.ping()
items = record.setdefault(str(pool._available_connections[0]._sock.getsockname()[1]), [])
items.append({"command": "PING", "status": "OK"})
for wave in range(3):
    p = r.pipeline(transaction=False)
    for i in range(300):
        p.execute_command("INCR", f"c{i % 7}")
        items.append({"command": "INCR", "status": "OK"})
    p.execute()
    time.sleep(0.2)
p = r.pipeline(transaction=True)
p.execute_command("SET", "t", "1")
p.execute_command("LPUSH", "t", "x")
p.execute(raise_on_error=False)
items += [{"command": "MULTI", "status": "OK"}, {"command": "SET", "status": "OK"},
          {"command": "LPUSH", "status": "OK"}, {"command": "EXEC", "status": "OK"}]
r.close()

# 3. RESP3 (HELLO 3).
r, items = conn(protocol=3)
call(r, items, "HSET", "h3", "a", "1")
call(r, items, "HGETALL", "h3")
call(r, items, "SADD", "s3", "m")
call(r, items, "SMEMBERS", "s3")
call(r, items, "ZADD", "z3", "1.5", "m")
call(r, items, "ZSCORE", "z3", "m")
call(r, items, "GET", "nothing")
r.close()

# 4. Pub/sub: a subscriber and a publisher on a second connection.
sub = redis.Redis(host=host, port=port, **{**QUIET, "protocol": 2}).pubsub()
sub.subscribe("news")
while sub.get_message(timeout=1) is None:
    pass
sport = str(sub.connection._sock.getsockname()[1])
sitems = record.setdefault(sport, [])
sitems.append({"command": "SUBSCRIBE", "status": "OK"})
pub, pitems = conn()
for i in range(5):
    call(pub, pitems, "PUBLISH", "news", f"item {i}")
got = 0
while got < 5:
    m = sub.get_message(timeout=1)
    if m and m["type"] == "message":
        sitems.append({"push": "message", "channel": m["channel"].decode()})
        got += 1
sub.unsubscribe("news")
while sub.get_message(timeout=1) is None:
    pass
sitems.append({"command": "UNSUBSCRIBE", "status": "OK"})
sub.close()
pub.close()
time.sleep(0.3)
json.dump(record, open(out, "w"))
'''


def run_clients(topo, workdir: Path, name: str) -> dict:
    script = workdir / "redis_client.py"
    script.write_text(REDIS_CLIENT)
    out = workdir / f"{name}-record.json"
    p = topo.exec("cli", [sys.executable, "-W", "ignore", script, topo.srv.ip4, PORT, PASSWORD, out], check=False)
    assert p.returncode == 0, f"redis client failed:\n{p.stdout}\n{p.stderr}"
    return json.loads(out.read_text())


@dataclass
class Rec:
    pcap: Path
    record: dict
    workdir: Path


@pytest.fixture(scope="module")
def redis_server(topology, workdir):
    d = workdir / "redis"
    d.mkdir(exist_ok=True)
    topology.popen("srv", ["redis-server", "--port", PORT, "--bind", topology.srv.ip4, "--dir", d, "--save", "",
                           "--appendonly", "no", "--protected-mode", "no",
                           "--user", "alice", "on", f">{PASSWORD}", "~*", "&*", "+@all"], log=d / "redis.log")
    topology._wait_tcp("cli", topology.srv.ip4, PORT, "redis-server")
    return topology


@pytest.fixture(scope="module")
def rec(redis_server, workdir):
    pcap = workdir / "redis.pcap"
    record, _ = record_on_bridge(redis_server, pcap, lambda t: run_clients(t, workdir, "offline"))
    return Rec(pcap, record, workdir)


def redis_entries(entries):
    return [e for e in entries if e.get("protocol") == "redis"]


def by_connection(entries) -> dict:
    conns = defaultdict(list)
    for e in entries:
        conns[str(e["src"]["port"])].append(e)
    return conns


def item_of(e) -> dict:
    if e["request"] is None:
        return {"push": e["response"].get("kind"), "channel": e["response"].get("channel")}
    return {"command": e["request"]["command"], "status": e["status"]}


OUTCOME = {"OK": "ok", "WRONGTYPE": "client_error", "NOSCRIPT": "client_error", "EXECABORT": "client_error",
           "WRONGPASS": "client_error", "ERR": "error"}


def assert_matches_record(entries, record: dict, ports=None):
    conns = by_connection(redis_entries(entries))
    for port, items in record.items():
        if ports is not None and port not in ports:
            continue
        got = conns.get(port, [])
        assert [item_of(e) for e in got] == items, f"connection from port {port}"
        for e in got:
            if e["request"] is not None:
                assert e["outcome"] == OUTCOME[e["status"]], e
                assert e["response"] is not None and e["elapsed_us"] is not None, e
    if ports is None:
        assert set(conns) <= set(record), f"entries on connections the clients did not make: {set(conns) - set(record)}"


def test_offline_view_equals_the_clients_record(rec):
    res = run_view([rec.pcap])
    assert res.rc == 0, res.describe()
    assert not res.bad_lines
    assert_matches_record(res.entries, rec.record)
    big = [e for e in redis_entries(res.entries) if e["summary"] == "GET big"]
    assert len(big) == 1 and big[0]["response"]["size"] == 1 << 20
    assert big[0]["response_size"] == (1 << 20) + len("$1048576\r\n\r\n")


def test_live_local_equals_that_runs_record(redis_server, workdir):
    live = LiveShark(redis_server, workdir, ifaces=[redis_server.bridge], name="redis-live").start()
    try:
        record = run_clients(redis_server, workdir, "live")
        time.sleep(2)
    finally:
        res = live.stop()
    assert res.rc == 0, res.describe()
    assert_matches_record(res.entries, record)


@pytest.mark.parametrize("mode", [["--mode", "reorder", "--seed", "21", "--window", "8"],
                                  ["--mode", "duplicate", "--seed", "22", "--fraction", "0.25"],
                                  ["--mode", "overlap", "--seed", "23", "--fraction", "0.3"]],
                         ids=["reorder", "duplicate", "overlap"])
def test_impaired_captures_give_the_same_entries(rec, mode):
    out = rec.workdir / f"impaired-{mode[1]}.pcap"
    p = subprocess.run([sys.executable, str(TOOLS / "impair.py"), str(rec.pcap), str(out), *mode],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    res = run_view([out])
    assert res.rc == 0, res.describe()
    assert_matches_record(res.entries, rec.record)


def test_mid_connection_capture_gives_the_records_tail(rec):
    clean = redis_entries(run_view([rec.pcap]).entries)
    conns = by_connection(clean)
    # The pipelined connection: the one with the most entries.
    port, entries = max(conns.items(), key=lambda kv: len(kv[1]))
    cut_ts = entries[len(entries) // 2]["ts"]
    cut = rec.workdir / "mid.pcap"
    # editcap -A keeps packets at or after the time: RFC 3339 to seconds.
    from datetime import datetime
    t = datetime.fromisoformat(cut_ts[:26] + "+00:00").timestamp()
    subprocess.run(["editcap", "-A", f"{t:.6f}", str(rec.pcap), str(cut)], check=True, capture_output=True)
    res = run_view([cut])
    assert res.rc == 0, res.describe()
    got = by_connection(redis_entries(res.entries)).get(port, [])
    items = rec.record[port]
    got_items = [item_of(e) for e in got if e["request"] is not None]
    assert len(got_items) >= len(items) // 3, f"only {len(got_items)} of {len(items)} entries after the cut"
    # Every command entry after the cut is the record's tail, in order (a reply whose command was
    # before the cut may come out as a reply without request, never as another command).
    assert got_items == items[len(items) - len(got_items):]


def test_auth_password_redacted_and_no_redact(rec):
    res = run_view([rec.pcap])
    auth = [e for e in redis_entries(res.entries) if e["summary"] == "AUTH"]
    assert len(auth) == 1
    assert auth[0]["request"]["args"] == ["alice", "[REDACTED]"]
    assert PASSWORD not in res.stdout
    raw = run_view([rec.pcap], extra=["--no-redact"])
    auth = [e for e in redis_entries(raw.entries) if e["summary"] == "AUTH"]
    assert auth[0]["request"]["args"] == ["alice", PASSWORD]


def test_filter_examples(rec):
    everything = redis_entries(run_view([rec.pcap]).entries)
    expr = 'redis and request.command == "GET" and elapsed_us > 1000'
    res = run_view([rec.pcap], extra=["--filter", expr])
    assert res.rc == 0, res.describe()
    want = [e["id"] for e in everything if e["request"] and e["request"]["command"] == "GET"
            and (e["elapsed_us"] or 0) > 1000]
    assert [e["id"] for e in res.entries] == want
    assert any(e["summary"] == "GET big" for e in res.entries), "the 1 MB GET takes more than 1 ms"
    res = run_view([rec.pcap], extra=["--filter", 'redis and status == "WRONGTYPE"'])
    assert [e["summary"] for e in res.entries] == ["INCR list"]
