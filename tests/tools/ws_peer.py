#!/usr/bin/env python3
"""WebSocket server and client for the end-to-end tests (Python `websockets`).

  ws_peer.py server --listen IP --port P
  ws_peer.py client --url ws://IP:P/PATH --compression none|deflate|deflate-no-takeover

The server echoes every data message with the same opcode, answers pings (the library does), and
answers the client's close with its own close frame. No keep-alive pings on either side
(ping_interval=None), so the wire carries exactly the plan.

The client runs one plan on one connection and prints one JSON line per message on the wire,
from its own view: {"from": "client"|"server", "opcode": "text"|"binary"|"ping"|"pong"|"close",
"size": payload bytes (after decompression), "fragments": frames of a fragmented message (opt.),
"code"/"reason" for close}, and finally {"event": "done", "extensions": [...]} with what the
handshake negotiated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

TEXT_BIG = 70_000      # > 65535: the 64-bit length form
BIN_MID = 3_000        # the 16-bit length form
CLOSE_CODE, CLOSE_REASON = 4000, "client done"


def out(**kw):
    print(json.dumps(kw), flush=True)


def text_of(n: int, seed: str) -> str:
    unit = f"{seed} websocket payload 0123456789 abcdefghij "
    return (unit * (n // len(unit) + 1))[:n]


def bin_of(n: int, seed: int) -> bytes:
    return bytes((i * 37 + seed + i // 256) & 0xFF for i in range(n))


async def serve(a):
    from websockets.asyncio.server import serve as ws_serve

    async def handler(ws):
        try:
            async for msg in ws:
                await ws.send(msg)
        except Exception:  # noqa: BLE001  (a client going away is not the server's problem)
            pass

    async with ws_serve(handler, a.listen, a.port, ping_interval=None, max_size=None,
                        compression="deflate"):
        print(f"ws_peer: serving on {a.listen}:{a.port}", flush=True)
        await asyncio.get_running_loop().create_future()


async def client(a):
    from websockets.asyncio.client import connect
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

    if a.compression == "none":
        kw = {"compression": None}
    elif a.compression == "deflate":
        kw = {"extensions": [ClientPerMessageDeflateFactory(client_max_window_bits=True)], "compression": None}
    else:
        kw = {"extensions": [ClientPerMessageDeflateFactory(server_no_context_takeover=True,
                                                            client_no_context_takeover=True,
                                                            client_max_window_bits=True)],
              "compression": None}
    async with connect(a.url, ping_interval=None, max_size=None, **kw) as ws:
        async def echo(msg, opcode, size, fragments=None):
            rec = {"from": "client", "opcode": opcode, "size": size}
            if fragments:
                rec["fragments"] = fragments
            out(**rec)
            await ws.send(msg)
            back = await ws.recv()
            if (isinstance(back, str)) != (opcode == "text") or len(back) != size:
                raise SystemExit(f"echo mismatch: sent {opcode} {size}, got {type(back)} {len(back)}")
            out(**{"from": "server", "opcode": opcode, "size": size})

        await echo("hello over websocket", "text", 20)
        await echo(bin_of(BIN_MID, 1), "binary", BIN_MID)
        await echo(text_of(TEXT_BIG, "big"), "text", TEXT_BIG)
        await echo(bin_of(200, 2), "binary", 200)
        # repeated text: with context takeover the second one compresses against the first
        await echo(text_of(500, "again"), "text", 500)
        await echo(text_of(500, "again"), "text", 500)
        # ping with a payload; the library answers the server's pong
        out(**{"from": "client", "opcode": "ping", "size": 4})
        pong = await ws.ping(b"pp01")
        await asyncio.wait_for(pong, 20)
        out(**{"from": "server", "opcode": "pong", "size": 4})
        # a fragmented text message (three frames)
        parts = ["frag-one ", "frag-two ", "frag-three"]
        size = sum(len(p) for p in parts)
        out(**{"from": "client", "opcode": "text", "size": size, "fragments": 3})

        async def frags():
            for p in parts:
                yield p
        await ws.send(frags())
        back = await ws.recv()
        assert back == "".join(parts), back
        out(**{"from": "server", "opcode": "text", "size": size})
        extensions = [f"{e.name} remote_no_context_takeover={e.remote_no_context_takeover} "
                      f"local_no_context_takeover={e.local_no_context_takeover}" for e in ws.protocol.extensions]
        reason = CLOSE_REASON.encode()
        out(**{"from": "client", "opcode": "close", "size": 2 + len(reason), "code": CLOSE_CODE,
               "reason": CLOSE_REASON})
        await ws.close(CLOSE_CODE, CLOSE_REASON)
        rcvd = ws.protocol.close_rcvd
        if rcvd is None:
            raise SystemExit("no close frame from the server")
        rr = rcvd.reason.encode()
        out(**{"from": "server", "opcode": "close", "size": (2 + len(rr)) if rcvd.code != 1005 else 0,
               "code": rcvd.code, "reason": rcvd.reason})
    out(event="done", extensions=extensions)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("--listen", required=True)
    s.add_argument("--port", type=int, required=True)
    c = sub.add_parser("client")
    c.add_argument("--url", required=True)
    c.add_argument("--compression", default="none", choices=["none", "deflate", "deflate-no-takeover"])
    a = ap.parse_args()
    asyncio.run(serve(a) if a.cmd == "server" else client(a))


if __name__ == "__main__":
    sys.exit(main())
