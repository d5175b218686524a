#!/usr/bin/env python3
"""Generates midway_fixture.json: HTTP/2 connections captured mid-way, as the bytes each side sent
in order, with what tshark (the oracle) made of each stream from the whole capture, for the
session tests (node-agent/src/dissect/http2/session_tests.rs).

The captures are the e2e suite's (tests/e2e/test_h2family.py, kept with SHK_E2E_KEEP=1): the
"waves" capture of long-lived connections (nghttp2 against nginx on port 8200, Go's h2c client
and server on 8201), and its two cuts made by editcap:
    python3 gen_midway.py h2waves.pcap h2waves-nohandshake.pcap h2waves-midway.pcap > midway_fixture.json
- "before_first_request": each connection lost its packets before its first request HEADERS (no
  SYN, no preface); every stream is expected as tshark read it from the whole capture.
- "after_hpack_filled": the capture starts between two waves of requests, after the first wave
  filled the HPACK dynamic tables; the streams whose request HEADERS are in the cut are expected,
  with the representation each pseudo-header field was sent in (dynamic table or not).
Needs tshark; reads tests/e2e/oracle_h2.py for the oracle.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../../../../../tests/e2e"))
from h2family import H2_PORTS, HTTP1_PORTS  # noqa: E402
from oracle_h2 import HPACK_STATIC, oracle_h2  # noqa: E402

PORTS = (8200, 8201)


def segments(pcap, port):
    """Payloads of the connection to `port`, in capture order: [["c"|"s", hex], ...]."""
    out = subprocess.run(["tshark", "-n", "-r", pcap, "-Y", f"tcp.port=={port} && tcp.len>0", "-T", "fields",
                          "-e", "tcp.dstport", "-e", "tcp.payload"], capture_output=True, text=True, check=True)
    segs = []
    for line in out.stdout.splitlines():
        dst, payload = line.split("\t")
        segs.append(["c" if int(dst) == port else "s", payload.replace(":", "")])
    return segs


def request_streams(pcap, port):
    """Stream ids of the client's HEADERS frames in a capture."""
    out = subprocess.run(["tshark", "-n", "-r", pcap, "-d", f"tcp.port=={port},http2", "-Y",
                          f"tcp.dstport=={port} && http2.type==1", "-T", "fields", "-e", "http2.streamid"],
                         capture_output=True, text=True, check=True)
    return {int(s) for line in out.stdout.split() for s in line.split(",") if s and int(s) % 2 == 1}


def main():
    whole, nohandshake, midway = sys.argv[1:4]
    o = oracle_h2(whole, set(H2_PORTS) | set(HTTP1_PORTS), H2_PORTS, HTTP1_PORTS)
    cases = []
    for name, pcap in (("before_first_request", nohandshake), ("after_hpack_filled", midway)):
        for port in PORTS:
            keep = request_streams(pcap, port)
            streams = []
            for s in sorted((s for s in o.h2 if s.server[1] == port and s.stream_id in keep), key=lambda s: s.stream_id):
                dynamic = {}
                for field in (":method", ":path", ":status"):
                    rep, idx = s.pseudo_repr.get(field, ("", None))
                    dynamic[field] = (idx or 0) > HPACK_STATIC and (rep == "Indexed Header Field" or "Indexed Name" in rep)
                streams.append({"stream_id": s.stream_id, "method": s.method, "path": s.path, "status": s.status,
                                "from_dynamic_table": dynamic})
            cases.append({"name": f"{name}_{port}", "segments": segments(pcap, port), "streams": streams})
    json.dump({"source": "tests/e2e h2waves capture (nghttp2/nginx, Go h2c); oracle: tshark", "cases": cases},
              sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
