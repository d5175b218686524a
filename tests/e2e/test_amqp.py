"""AMQP 0-9-1 end to end: Debian's RabbitMQ (rabbitmq-server 3.10) in the srv pod, pika clients in
the cli pod (amqp_client.py: a producer, a consumer, a long-lived connection spanning a pause),
captured on the bridge. The oracle is pika's own record of the methods it sent and the outcome it
saw (the close's reply code for the refused passive declare); tshark's amqp dissector is the
oracle of the golden fixture (node-agent/tests/golden/amqp).

- `view --output json`: per connection, the client's methods exactly once each, in the order
  sent, with the status pika saw; the server's deliveries as many as pika consumed; the start-ok
  credentials redacted (shown with --no-redact); the documented filter example via --filter.
- `local -i <bridge> --output json` while the client runs: the same.
- impaired captures (reordered, duplicated, overlapping): the same as clean; with segments removed:
  nothing invented (every entry's method is one the client or broker sent).
- a capture started mid-way (editcap -A at the pause): the long-lived connection's later methods
  are there, nothing from before the cut is invented, the consumer connection is complete.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from capture import LiveShark, Tcpdump, run_view
from topology import TOOLS

HERE = Path(__file__).resolve().parent
PORT = 5672
N = 4
PAUSE = 3.0
RABBIT = "/usr/lib/rabbitmq/bin/rabbitmq-server"
SECRET = "e2e-secret-guest"
FILTER = 'amqp and request.method == "basic.publish" and request.exchange == "orders"'


@pytest.fixture(scope="module")
def broker(topology):
    assert os.path.exists(RABBIT), "rabbitmq-server is not installed (tests/setup installs it)"
    d = topology.workdir / "rabbit"
    for sub in ("mnesia", "log", "home"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    (d / "plugins").write_text("[].")
    # guest (created at the first boot with this password) may log in from the cli pod.
    (d / "rabbitmq.conf").write_text(f"loopback_users = none\ndefault_user = guest\ndefault_pass = {SECRET}\n")
    (d / "env").write_text("")
    env = dict(os.environ, HOME=str(d / "home"), RABBITMQ_MNESIA_BASE=str(d / "mnesia"),
               RABBITMQ_LOG_BASE=str(d / "log"), RABBITMQ_NODENAME=f"shk{topology.run_id}@localhost",
               RABBITMQ_NODE_PORT=str(PORT), RABBITMQ_NODE_IP_ADDRESS=topology.srv.ip4,
               RABBITMQ_ENABLED_PLUGINS_FILE=str(d / "plugins"), RABBITMQ_CONFIG_FILE=str(d / "rabbitmq"),
               RABBITMQ_ADVANCED_CONFIG_FILE=str(d / "advanced.config"), RABBITMQ_CONF_ENV_FILE=str(d / "env"),
               RABBITMQ_PID_FILE=str(d / "rabbit.pid"), ERL_CRASH_DUMP=str(d / "erl_crash.dump"))
    proc = topology.popen("srv", [RABBIT], log=d / "server.out", env=env)
    code = (f"import socket,sys\ns=socket.socket();s.settimeout(1)\n"
            f"sys.exit(s.connect_ex(('{topology.srv.ip4}',{PORT})))")
    deadline = time.time() + 120
    while topology.exec("cli", [sys.executable, "-c", code], check=False).returncode != 0:
        assert proc.poll() is None and time.time() < deadline, (
            f"rabbitmq did not start: {(d / 'server.out').read_text()[-2000:]}")
        time.sleep(0.5)
    try:
        yield env
    finally:
        # The topology's stop() kills whatever is left in the pod (epmd included).
        topology.exec("srv", ["/usr/lib/rabbitmq/bin/rabbitmqctl", "-n", env["RABBITMQ_NODENAME"], "stop"],
                      check=False, env=env, timeout=60)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def run_client(topology) -> dict:
    p = topology.exec("cli", [sys.executable, str(HERE / "amqp_client.py"), topology.srv.ip4, PORT, N, PAUSE],
                      check=False, timeout=180)
    assert p.returncode == 0, f"amqp client failed:\n{p.stdout}\n{p.stderr}"
    return json.loads(p.stdout)


@pytest.fixture(scope="module")
def rec(topology, broker, workdir):
    pcap = workdir / "amqp.pcap"
    cap = Tcpdump(topology, topology.bridge, pcap).start()
    try:
        record = run_client(topology)
    finally:
        cap.stop()
    cap.assert_clean()
    return pcap, record


def amqp_entries(entries):
    return [e for e in entries if e.get("protocol") == "amqp"]


def by_connection(entries):
    conns = defaultdict(list)
    # In the order they were written: a connection's entries come out in the order its exchanges
    # completed, whatever the capture's timestamps say (reordered captures move them).
    for e in amqp_entries(entries):
        conns[(e["src"]["ip"], e["src"]["port"])].append(e)
    return list(conns.values())


def client_methods(conn):
    return [[e["request"]["method"], e["status"]] for e in conn if e["request"].get("from") == "client"]


def check_complete(entries, record):
    conns = by_connection(entries)
    assert len(conns) == 3, [c[0]["summary"] for c in conns]
    seen = sorted(json.dumps(client_methods(c)) for c in conns)
    want = sorted(json.dumps(record[k]["methods"]) for k in ("producer", "consumer", "long"))
    assert seen == want
    for conn in conns:
        server = [e["request"]["method"] for e in conn if e["request"].get("from") == "server"]
        assert server.count("connection.start") == 1 and server.count("connection.tune") == 1
        for e in conn:
            assert e["outcome"] == ("client_error" if e["status"] == "404" else "ok"), e
    deliveries = [e for e in amqp_entries(entries) if e["request"]["method"] == "basic.deliver"]
    assert len(deliveries) == record["consumer"]["deliveries"]
    bodies = sorted(e["request"]["message"]["body"]["text"] for e in deliveries)
    assert "<script>alert(1)</script>" in bodies and "direct" in bodies
    publishes = [e for e in amqp_entries(entries) if e["request"]["method"] == "basic.publish"]
    to_orders = sorted(e["request"]["message"]["body"]["text"] for e in publishes if e["request"]["exchange"] == "orders")
    assert to_orders == [b for b in bodies if b != "direct"]
    refused = [e for e in amqp_entries(entries) if e["status"] == "404" and e["request"]["method"] == "queue.declare"]
    assert len(refused) == 1 and refused[0]["response"]["method"] == "channel.close"
    assert refused[0]["request"]["queue"] == "missing-queue" and refused[0]["request"]["passive"] is True


def test_view_offline(rec):
    pcap, record = rec
    r = run_view([pcap])
    assert r.rc == 0, r.describe()
    check_complete(r.entries, record)
    starts = [e for e in amqp_entries(r.entries) if e["request"]["method"] == "connection.start"]
    assert starts and all(e["response"]["response"] == "[REDACTED]" for e in starts)
    assert SECRET not in r.stdout


def test_no_redact_shows_the_credentials(rec):
    pcap, _ = rec
    r = run_view([pcap], extra=["--no-redact"])
    assert r.rc == 0, r.describe()
    starts = [e for e in amqp_entries(r.entries) if e["request"]["method"] == "connection.start"]
    assert starts and all(e["response"]["response"] == f"\u0000guest\u0000{SECRET}" for e in starts)


def test_filter_example(rec):
    pcap, record = rec
    r = run_view([pcap], extra=["--filter", FILTER])
    assert r.rc == 0, r.describe()
    assert [e["request"]["method"] for e in r.entries] == ["basic.publish"] * N
    assert all(e["request"]["exchange"] == "orders" for e in r.entries)


def test_live_local(topology, broker, workdir):
    live = LiveShark(topology, workdir, ifaces=[topology.bridge], name="amqp-live").start()
    assert live.alive(), (workdir / "amqp-live.stderr").read_text()
    try:
        record = run_client(topology)
        time.sleep(2)
    finally:
        r = live.stop()
    assert r.rc == 0, r.describe()
    check_complete(r.entries, record)


IMPAIR = {
    "reorder": ["--mode", "reorder", "--seed", "31", "--window", "10"],
    "duplicate": ["--mode", "duplicate", "--seed", "32", "--fraction", "0.25"],
    "overlap": ["--mode", "overlap", "--seed", "33", "--fraction", "0.3"],
    "drop": ["--mode", "drop", "--seed", "34", "--drop-conns", "3"],
}


def impair(pcap, variant, workdir):
    out = workdir / f"amqp-{variant}.pcap"
    p = subprocess.run([sys.executable, str(TOOLS / "impair.py"), str(pcap), str(out), *IMPAIR[variant]],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    return out


@pytest.mark.parametrize("variant", ["reorder", "duplicate", "overlap"])
def test_impaired_equals_clean(rec, workdir, variant):
    pcap, record = rec
    r = run_view([impair(pcap, variant, workdir)])
    assert r.rc == 0, r.describe()
    check_complete(r.entries, record)


def all_sent(record):
    return {m for k in ("producer", "consumer", "long") for m, _ in record[k]["methods"]}


def test_dropped_segments_invent_nothing(rec, workdir):
    pcap, record = rec
    r = run_view([impair(pcap, "drop", workdir)])
    assert r.rc == 0, r.describe()
    sent = all_sent(record) | {"connection.start", "connection.tune", "basic.deliver"}
    for e in amqp_entries(r.entries):
        assert e["request"]["method"] in sent, e
        if e["status"] == "404":
            assert e["request"]["method"] in ("queue.declare", "channel.close"), e


def test_mid_connection_capture(rec, workdir):
    pcap, record = rec
    cut = workdir / "amqp-mid.pcap"
    start = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(record["pause_middle"]))
    subprocess.run(["editcap", "-A", start, str(pcap), str(cut)], check=True, env=dict(os.environ, TZ="UTC"),
                   capture_output=True)
    r = run_view([cut])
    assert r.rc == 0, r.describe()
    conns = by_connection(r.entries)
    methods = [client_methods(c) for c in conns]
    # The consumer connection started after the cut: complete.
    assert record["consumer"]["methods"] in methods, methods
    # The long-lived one: its methods after the pause, none invented before.
    long = [m for m in methods if m != record["consumer"]["methods"]]
    assert len(long) == 1, methods
    assert long[0] == record["long"]["methods"][-4:], long[0]
    sent = all_sent(record) | {"connection.start", "connection.tune", "basic.deliver"}
    assert all(e["request"]["method"] in sent for e in amqp_entries(r.entries))
