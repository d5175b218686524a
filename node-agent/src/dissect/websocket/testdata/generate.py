#!/usr/bin/env python3
"""Writes vectors.json.gz: WebSocket connections produced and decoded by the `websockets` package's
sans-I/O protocol (ClientProtocol/ServerProtocol), an implementation independent of ours.

For each case: the server's negotiated Sec-WebSocket-Extensions value, the bytes each side put on
the wire after the handshake (client frames masked), and the messages the *receiving* websockets
protocol decoded from those bytes (fragments joined here, control frames reported when they arrive,
payloads unmasked and inflated by websockets), with the stream offsets and wire sizes of their
frames. "midstream" entries say what an inflater that starts at a later message (capture begun
mid-connection) can decode: Python's zlib decides, with its "invalid distance too far back" check,
restarting with an empty window after each failure.

    pip install websockets==17.4 && python3 generate.py

Masking keys come from a seeded PRNG so the output is reproducible.
"""

import gzip
import json
import os
import random
import zlib

import websockets.frames
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Close, Opcode
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = [0, 125, 126, 65535, 65536, 200000]
OPCODES = {Opcode.TEXT: "text", Opcode.BINARY: "binary", Opcode.CLOSE: "close", Opcode.PING: "ping", Opcode.PONG: "pong"}


class SeededSecrets:
    """Stands in for the `secrets` module inside websockets.frames (masking keys)."""

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def token_bytes(self, n):
        return bytes(self.rng.getrandbits(8) for _ in range(n))


def valid_text(n, seed=0):
    """n bytes of valid UTF-8 text with multi-byte characters."""
    pattern = f"κόσμε {seed} websocket ✓ message 𝄞 ".encode()
    data = (pattern * (n // len(pattern) + 1))[:n]
    while True:
        try:
            data.decode()
            break
        except UnicodeDecodeError:
            data = data[:-1]
    data += b"x" * (n - len(data))
    assert len(data) == n
    return data


def binary_payload(n, seed=0):
    return bytes((i * 7 + (i >> 8) + seed) & 0xFF for i in range(n))


def varied_text(seed, n):
    """JSON-ish text: repeats within and across messages, plus words only this seed has."""
    rng = random.Random(seed)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    parts = []
    while sum(len(p) for p in parts) < n:
        parts.append('{"id": %d, "name": "%s", "token": "%08x"}' % (rng.randrange(1000), rng.choice(words), rng.getrandbits(32)))
    return " ".join(parts).encode()[:n]


class Connection:
    def __init__(self, name, client_extensions=None, server_extensions=None, seed=1):
        websockets.frames.secrets = SeededSecrets(seed)
        self.name = name
        self.client = ClientProtocol(parse_uri("ws://example.test/ws"), extensions=client_extensions, max_size=None)
        self.server = ServerProtocol(extensions=server_extensions, max_size=None)
        self.client.send_request(self.client.connect())
        self.server.receive_data(b"".join(self.client.data_to_send()))
        [request] = self.server.events_received()
        response = self.server.accept(request)
        assert response.status_code == 101, response.status_code
        self.server.send_response(response)
        self.client.receive_data(b"".join(self.server.data_to_send()))
        self.client.events_received()
        self.extensions = response.headers.get("Sec-WebSocket-Extensions")
        self.wire = {"client": bytearray(), "server": bytearray()}
        self.messages = []
        # Per direction: the data message being assembled, and each compressed message's
        # compressed payload (for the midstream expectations).
        self.partial = {"client": None, "server": None}
        self.compressed_payloads = {"client": [], "server": []}

    def protocol(self, side):
        return self.client if side == "client" else self.server

    def send(self, side, method, *args, **kwargs):
        getattr(self.protocol(side), method)(*args, **kwargs)
        self.flush(side)

    def flush(self, side):
        """Delivers what `side` has queued to the other side, then that side's automatic replies."""
        other = "server" if side == "client" else "client"
        chunks = [c for c in self.protocol(side).data_to_send() if c]
        for chunk in chunks:
            offset = len(self.wire[side])
            self.wire[side] += chunk
            receiver = self.protocol(other)
            receiver.receive_data(chunk)
            events = receiver.events_received()
            assert len(events) == 1, (self.name, events)
            self.on_frame(side, events[0], chunk, offset)
        if chunks:
            self.flush(other)

    def on_frame(self, side, frame, raw, offset):
        wire_len = len(raw)
        rsv1 = bool(raw[0] & 0x40)
        end = offset + wire_len
        if frame.opcode in (Opcode.CLOSE, Opcode.PING, Opcode.PONG):
            msg = self.message(side, frame.opcode, frame.data, 1, wire_len, False, offset, end)
            if frame.opcode is Opcode.CLOSE:
                if frame.data:
                    close = Close.parse(frame.data)
                    msg["close_code"], msg["close_reason"] = int(close.code), close.reason
                else:
                    msg["close_code"], msg["close_reason"] = None, ""
            self.messages.append(msg)
            return
        if frame.opcode is Opcode.CONT:
            p = self.partial[side]
            p["data"] += frame.data
            p["frames"] += 1
            p["wire_len"] += wire_len
            p["compressed_data"] += raw_payload(raw)
        else:
            assert self.partial[side] is None
            p = self.partial[side] = {
                "opcode": frame.opcode,
                "data": bytearray(frame.data),
                "frames": 1,
                "wire_len": wire_len,
                "compressed": rsv1,
                "start": offset,
                "compressed_data": bytearray(raw_payload(raw)),
            }
        if frame.fin:
            self.partial[side] = None
            self.messages.append(
                self.message(side, p["opcode"], p["data"], p["frames"], p["wire_len"], p["compressed"], p["start"], end)
            )
            if p["compressed"]:
                self.compressed_payloads[side].append((len(self.messages) - 1, bytes(p["compressed_data"])))

    @staticmethod
    def message(side, opcode, data, frames, wire_len, compressed, start, end):
        return {
            "from": side,
            "opcode": OPCODES[opcode],
            "payload_hex": bytes(data).hex(),
            "frames": frames,
            "wire_len": wire_len,
            "compressed": compressed,
            "start_offset": start,
            "end_offset": end,
        }

    def midstream(self, side, first):
        """Feeding `side` from its `first`-th compressed message on: what zlib can inflate."""
        payloads = self.compressed_payloads[side][first:]
        decoder = zlib.decompressobj(-15)
        results = []
        for index, data in payloads:
            try:
                out = decoder.decompress(data + b"\x00\x00\xff\xff")
                results.append({"message": index, "ok": True, "payload_hex": out.hex()})
            except zlib.error as e:
                results.append({"message": index, "ok": False, "error": str(e)})
                decoder = zlib.decompressobj(-15)
        return {"from": side, "start_offset": self.messages[payloads[0][0]]["start_offset"], "messages": results}

    def case(self, midstream=()):
        assert self.partial == {"client": None, "server": None}
        return {
            "name": self.name,
            "extensions": self.extensions,
            "client_hex": bytes(self.wire["client"]).hex(),
            "server_hex": bytes(self.wire["server"]).hex(),
            "messages": self.messages,
            "midstream": [self.midstream(side, first) for side, first in midstream],
        }


def raw_payload(raw):
    """The payload of one serialized frame, unmasked (compressed bytes as sent)."""
    b1 = raw[1]
    n = b1 & 0x7F
    pos = 2
    if n == 126:
        n = int.from_bytes(raw[2:4], "big")
        pos = 4
    elif n == 127:
        n = int.from_bytes(raw[2:10], "big")
        pos = 10
    if b1 & 0x80:
        key = raw[pos : pos + 4]
        pos += 4
        data = bytes(b ^ key[i % 4] for i, b in enumerate(raw[pos : pos + n]))
    else:
        data = bytes(raw[pos : pos + n])
    return data


def sizes_case():
    c = Connection("sizes", seed=11)
    for n in SIZES:
        c.send("client", "send_text", valid_text(n, 1))
        c.send("server", "send_text", valid_text(n, 2))
        c.send("client", "send_binary", binary_payload(n, 3))
        c.send("server", "send_binary", binary_payload(n, 4))
    return c.case()


def fragmented_case():
    c = Connection("fragmented", seed=12)
    c.send("client", "send_text", b"Hel", fin=False)
    c.send("client", "send_ping", b"ping in between")  # the server answers with a pong
    c.send("client", "send_continuation", b"lo, ", fin=False)
    c.send("client", "send_continuation", b"", fin=False)
    c.send("client", "send_continuation", b"world", fin=True)
    # A multi-byte character split across fragments.
    snowman = "☃ snow".encode()
    c.send("server", "send_text", snowman[:1], fin=False)
    c.send("server", "send_continuation", snowman[1:2], fin=False)
    c.send("server", "send_ping", b"")
    c.send("server", "send_continuation", snowman[2:], fin=True)
    c.send("server", "send_binary", binary_payload(70000, 5)[:40000], fin=False)
    c.send("server", "send_pong", b"unsolicited")
    c.send("server", "send_continuation", binary_payload(70000, 5)[40000:], fin=True)
    c.send("client", "send_binary", b"", fin=False)
    c.send("client", "send_continuation", b"", fin=True)
    return c.case()


def close_case():
    c = Connection("close", seed=13)
    c.send("server", "send_text", b"bye soon")
    c.send("client", "send_close", 1001, "going away ✓")  # the server echoes the Close
    return c.case()


def close_empty_case():
    c = Connection("close_empty", seed=14)
    c.send("server", "send_close")
    return c.case()


def deflate_case(name, seed, client_kwargs, server_kwargs):
    c = Connection(
        name,
        client_extensions=[ClientPerMessageDeflateFactory(**client_kwargs)],
        server_extensions=[ServerPerMessageDeflateFactory(**server_kwargs)],
        seed=seed,
    )
    assert c.extensions and c.extensions.startswith("permessage-deflate"), c.extensions
    for i in range(4):
        c.send("client", "send_text", varied_text(100 + i % 2, 600))
        c.send("server", "send_text", varied_text(200 + i % 2, 900))
    c.send("server", "send_binary", bytes(random.Random(seed).getrandbits(8) for _ in range(3000)))
    c.send("server", "send_text", varied_text(201, 900))
    c.send("client", "send_text", varied_text(100, 300), fin=False)
    c.send("client", "send_ping", b"between compressed fragments")
    c.send("client", "send_continuation", varied_text(101, 300), fin=False)
    c.send("client", "send_continuation", b"", fin=True)
    for n in (0, 125, 126, 65536):
        c.send("client", "send_binary", binary_payload(n, 6))
    c.send("server", "send_text", valid_text(200000, 7))
    c.send("client", "send_text", valid_text(200000, 7))
    c.send("server", "send_text", varied_text(200, 900))
    c.send("client", "send_close", 1000, "done")
    return c.case(midstream=[("server", 1), ("client", 2)])


def main():
    cases = [
        sizes_case(),
        fragmented_case(),
        close_case(),
        close_empty_case(),
        deflate_case("deflate_context_takeover", 21, {}, {}),
        deflate_case("deflate_client_no_context_takeover", 22, {"client_no_context_takeover": True}, {}),
        deflate_case(
            "deflate_server_no_context_takeover",
            23,
            {"client_max_window_bits": True},
            {"server_no_context_takeover": True, "server_max_window_bits": 10, "client_max_window_bits": 9},
        ),
    ]
    doc = {"generator": f"websockets {websockets.version.version}", "cases": cases}
    raw = json.dumps(doc, indent=0, sort_keys=True).encode()
    with open(os.path.join(HERE, "vectors.json.gz"), "wb") as f:
        f.write(gzip.compress(raw, compresslevel=9, mtime=0))
    for case in cases:
        print(case["name"], case["extensions"], len(case["client_hex"]) // 2, len(case["server_hex"]) // 2, len(case["messages"]))


if __name__ == "__main__":
    main()
