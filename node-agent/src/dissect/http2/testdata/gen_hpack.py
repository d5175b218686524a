#!/usr/bin/env python3
"""Generates hpack_fixture.json: header blocks encoded by the Python `hpack` package (an
independent HPACK encoder) with the header lists they encode, for the decoder tests.

    pip install hpack==4.2.0 && python3 gen_hpack.py > hpack_fixture.json

Each sequence is one encoder's output in order (blocks share the dynamic table). `bound` is the
SETTINGS_HEADER_TABLE_SIZE the decoder must allow before the first block. Random (seeded) lists
mix static-table names, repeated fields (dynamic-table hits), random names, binary values (every
byte value, so every Huffman code), sensitive fields (never indexed), plain and Huffman strings,
and dynamic table size changes. Every block is checked with the package's own decoder first.
"""
import json
import random

import hpack

rng = random.Random(7541)

STATIC_NAMES = [
    b":authority", b":method", b":path", b":scheme", b":status", b"accept", b"accept-encoding",
    b"cache-control", b"content-length", b"content-type", b"cookie", b"date", b"user-agent",
    b"set-cookie", b"location", b"authorization", b"etag", b"server", b"vary",
]
TOKEN = b"abcdefghijklmnopqrstuvwxyz0123456789-_"


def token(lo, hi):
    return bytes(rng.choice(TOKEN) for _ in range(rng.randint(lo, hi)))


def value():
    kind = rng.random()
    if kind < 0.15:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
    if kind < 0.3:
        return b""
    if kind < 0.5:
        return str(rng.randint(0, 10**rng.randint(1, 12))).encode()
    return bytes(rng.randrange(0x20, 0x7f) for _ in range(rng.randint(1, 60)))


def header_list(history):
    fields = []
    for _ in range(rng.randint(1, 12)):
        r = rng.random()
        if history and r < 0.35:
            fields.append(rng.choice(history))
            continue
        name = rng.choice(STATIC_NAMES) if r < 0.7 else token(1, 24)
        field = (name, value())
        if rng.random() < 0.1:
            field = hpack.NeverIndexedHeaderTuple(*field)
        fields.append(field)
        history.append(field)
    return fields


def sequence(i):
    encoder = hpack.Encoder()
    bound = 4096
    if i % 5 == 1:
        bound = rng.choice([0, 64, 256, 8192, 65536])
        encoder.header_table_size = bound
    decoder = hpack.Decoder(max_header_list_size=1 << 20)
    decoder.max_allowed_table_size = max(bound, 4096)
    history = []
    blocks = []
    for j in range(rng.randint(3, 10)):
        if i % 7 == 3 and j == 2:
            encoder.header_table_size = rng.choice([0, min(100, bound), min(bound, 4096)])
        fields = header_list(history)
        huffman = rng.random() < 0.6
        block = encoder.encode(fields, huffman=huffman)
        decoded = decoder.decode(block, raw=True)
        # Names and values must round-trip; the never-indexed flag is what the wire says (the
        # encoder sends a sensitive field that equals a table entry as an indexed one).
        assert [(bytes(d[0]), bytes(d[1])) for d in decoded] == [(bytes(f[0]), bytes(f[1])) for f in fields]
        expected = [
            [bytes(d[0]).hex(), bytes(d[1]).hex(), isinstance(d, hpack.NeverIndexedHeaderTuple)] for d in decoded
        ]
        blocks.append({"block": block.hex(), "headers": expected})
    return {"bound": bound, "blocks": blocks}


def main():
    sequences = [sequence(i) for i in range(32)]
    print(json.dumps({"generator": "gen_hpack.py, hpack " + hpack.__version__, "sequences": sequences}, indent=0))


if __name__ == "__main__":
    main()
