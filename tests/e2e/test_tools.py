"""The test tools on their own, on loopback: `client.py dns-tcp` against servers that keep or close
the connection, so its account of what went on the wire can be trusted by the scenarios."""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import sys
import threading

import pytest

from topology import TOOLS


def _serve(sock: socket.socket, answers_per_conn: int, rcode_of, stop: threading.Event):
    """Answers each query with its own bytes as a response (QR set, rcode_of(qname)); closes a
    connection after `answers_per_conn` answers without reading what else it holds."""
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = sock.accept()
        except TimeoutError:
            continue
        with conn:
            conn.settimeout(5)
            f = conn.makefile("rb")
            for _ in range(answers_per_conn):
                head = f.read(2)
                if len(head) < 2:
                    break
                msg = bytearray(f.read(struct.unpack("!H", head)[0]))
                labels, i = [], 12
                while msg[i]:
                    labels.append(msg[i + 1:i + 1 + msg[i]].decode())
                    i += 1 + msg[i]
                msg[2] |= 0x80
                msg[3] = (msg[3] & 0xF0) | rcode_of(".".join(labels))
                conn.sendall(struct.pack("!H", len(msg)) + bytes(msg))
            f.close()


def _run_client(answers_per_conn, queries, pipeline):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    stop = threading.Event()
    th = threading.Thread(target=_serve, args=(srv, answers_per_conn, lambda n: 3 if n.startswith("nope") else 0,
                                               stop), daemon=True)
    th.start()
    try:
        args = [sys.executable, str(TOOLS / "client.py"), "dns-tcp", "127.0.0.1", str(srv.getsockname()[1]),
                *queries] + (["--pipeline"] if pipeline else [])
        res = subprocess.run(args, capture_output=True, text=True, timeout=60)
    finally:
        stop.set()
        th.join()
        srv.close()
    return res, [json.loads(x) for x in res.stdout.splitlines()]


QUERIES = ["a.test/A", "b.test/AAAA", "nope.test/A", "c.test/TXT"]


@pytest.mark.harness
@pytest.mark.parametrize("pipeline", [False, True])
def test_harness_dns_tcp_client_keeps_one_connection(pipeline):
    res, got = _run_client(10, QUERIES, pipeline)
    assert res.returncode == 0, res.stderr
    assert [(g["conn"], f'{g["qname"]}/{g["qtype"]}', g["rcode"]) for g in got] == [
        (1, "a.test/A", "NOERROR"), (1, "b.test/AAAA", "NOERROR"), (1, "nope.test/A", "NXDOMAIN"),
        (1, "c.test/TXT", "NOERROR")]
    assert len({g["id"] for g in got}) == 4


@pytest.mark.harness
@pytest.mark.parametrize("pipeline", [False, True])
def test_harness_dns_tcp_client_survives_a_server_closing_after_each_answer(pipeline):
    res, got = _run_client(1, QUERIES, pipeline)
    assert res.returncode == 0, res.stderr
    seen = [(g["conn"], f'{g["qname"]}/{g["qtype"]}', g["rcode"]) for g in got]
    if pipeline:
        # every connection carries all queries not answered yet; the first is answered, the rest not
        want = []
        for conn in range(1, 5):
            rest = QUERIES[conn - 1:]
            want += [(conn, rest[0], "NXDOMAIN" if rest[0].startswith("nope") else "NOERROR")]
            want += [(conn, q, None) for q in rest[1:]]
    else:
        # the next query is written on the closed connection (as dig does), goes unanswered there
        # and is answered first on the next one
        want = [(1, "a.test/A", "NOERROR"), (1, "b.test/AAAA", None), (2, "b.test/AAAA", "NOERROR"),
                (2, "nope.test/A", None), (3, "nope.test/A", "NXDOMAIN"), (3, "c.test/TXT", None),
                (4, "c.test/TXT", "NOERROR")]
    assert seen == want, seen
    assert len({g["id"] for g in got}) == len(got), "a query written again gets a new id"


@pytest.mark.harness
def test_harness_dns_tcp_client_fails_when_a_connection_answers_nothing():
    res, got = _run_client(0, QUERIES, False)
    assert res.returncode != 0 and "ended without an answer" in res.stderr, (res.returncode, res.stderr)
