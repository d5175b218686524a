#!/usr/bin/env python3
"""Generates the gRPC test fixtures of node-agent/src/dissect/grpc from independent implementations,
so that `cargo test` needs no Python:

- decode_raw.json: protobuf messages (hex) and what the real protoc prints for them with
  `--decode_raw` (the text, or null when protoc fails with "Failed to parse input."). The messages
  are Python-encoded messages of the .proto files under protos/, hand-made hostile inputs at the
  edges of protoc's parser (tag and length varint sizes, nesting limits, field number 0, wire
  types 6/7, unmatched groups), seeded random well-formed messages and mutations of them.
- schema.json: Python-encoded messages of protos/ (hex), the gRPC method and side they belong to,
  and `google.protobuf.json_format.MessageToJson` of each (proto3 JSON mapping).
- frames.json: gRPC length-prefixed message streams (gRPC over HTTP/2 spec, "Length-Prefixed-Message")
  whose compressed messages were compressed by Python's gzip and zlib modules, with the payloads.

Requirements: `pip install grpcio-tools protobuf` (grpcio-tools ships protoc as a Python module;
the committed files were made with grpcio-tools 1.85.4 = libprotoc 35.1, protobuf 7.36.2).
Run from anywhere: `python3 gen_fixtures.py` rewrites the three JSON files beside this script.
"""

import gzip
import importlib
import json
import os
import random
import subprocess
import sys
import tempfile
import zlib

from grpc_tools import protoc as grpc_protoc

HERE = os.path.dirname(os.path.abspath(__file__))
PROTOS = os.path.join(HERE, "protos")
WKT = os.path.join(os.path.dirname(grpc_protoc.__file__), "_proto")


def protoc(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", *args], input=stdin, capture_output=True
    )


def decode_raw(data):
    """protoc --decode_raw: its text, or None when protoc rejects the input."""
    p = protoc("--decode_raw", stdin=data)
    if p.returncode != 0:
        assert b"Failed to parse input." in p.stderr, p.stderr
        return None
    # protoc prints bytes (octal escapes keep it ASCII), so latin-1 round-trips exactly.
    return p.stdout.decode("latin-1")


def compile_protos(out):
    files = []
    for root, _, names in os.walk(PROTOS):
        files += [os.path.relpath(os.path.join(root, n), PROTOS) for n in names if n.endswith(".proto")]
    p = protoc(f"-I{PROTOS}", f"-I{WKT}", f"--python_out={out}", *sorted(files))
    assert p.returncode == 0, p.stderr.decode()
    sys.path.insert(0, out)


# ---------------------------------------------------------------------------------------------
# Wire-format helpers for the hand-made and random messages.


def varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(num, wt):
    return varint(num << 3 | wt)


def ld(num, payload):
    return tag(num, 2) + varint(len(payload)) + payload


def group(num, body):
    return tag(num, 3) + body + tag(num, 4)


def nested_groups(depth, body=b"\x10\x01"):
    for _ in range(depth):
        body = group(1, body)
    return body


def nested_ld(depth, body=b"\x08\x01"):
    for _ in range(depth):
        body = ld(1, body)
    return body


def hostile_cases():
    c = {}
    c["empty"] = b""
    c["zero_tag"] = b"\x00"
    c["varint_then_zero_tag"] = b"\x08\x01\x00"
    c["lone_end_group"] = b"\x0c"
    c["end_group_mismatch"] = b"\x0b\x14"
    c["unterminated_group"] = b"\x0b\x10\x01"
    c["wire_type_6"] = b"\x0e\x01"
    c["wire_type_7"] = b"\x0f\x01"
    c["field_number_0"] = b"\x02\x01a"
    c["truncated_varint"] = b"\x08\x96"
    c["varint_10_bytes_max"] = b"\x08" + b"\xff" * 9 + b"\x01"
    c["varint_10_bytes_overflow_bits"] = b"\x08" + b"\xff" * 9 + b"\x7f"
    c["varint_11_bytes"] = b"\x08" + b"\xff" * 10 + b"\x01"
    c["fixed32_short"] = b"\x0d\x01\x02\x03"
    c["fixed64_short"] = b"\x09\x01\x02\x03\x04\x05\x06\x07"
    c["ld_past_end"] = b"\x12\x05abc"
    c["empty_ld"] = b"\x12\x00"
    c["tag_5_bytes"] = b"\x88\x80\x80\x80\x00\x01"
    c["tag_5_bytes_high_bits"] = b"\x88\x80\x80\x80\x7f\x01"
    c["tag_6_bytes"] = b"\x88\x80\x80\x80\x80\x00\x01"
    c["max_field_number"] = tag(2**29 - 1, 0) + b"\x01"
    c["multibyte_zero_tag"] = b"\x80\x00"
    c["len_6_bytes"] = b"\x12\x81\x80\x80\x80\x80\x00a"
    c["len_5_bytes"] = b"\x12\x81\x80\x80\x80\x00a"
    c["len_5th_byte_8"] = b"\x12\x81\x80\x80\x80\x08a"
    # The same shapes inside a length-delimited field, where protoc's looser parser decides
    # between "message" and "string".
    inner = {
        "tag_6_bytes": b"\x88\x80\x80\x80\x80\x00\x01",
        "tag_10_bytes": b"\x88" + b"\x80" * 8 + b"\x00\x01",
        "tag_11_bytes": b"\x88" + b"\x80" * 9 + b"\x00\x01",
        "tag_5_bytes_high_bits": b"\x88\x80\x80\x80\x7f\x01",
        "tag_10_bytes_high_bits": b"\x88\x80\x80\x80\xff\xff\xff\xff\xff\x01\x01",
        "len_6_bytes": b"\x12\x81\x80\x80\x80\x80\x00a",
        "len_10_bytes": b"\x12\x81" + b"\x80" * 8 + b"\x00a",
        "len_11_bytes": b"\x12\x81" + b"\x80" * 9 + b"\x00a",
        "len_high_bits_dropped": b"\x12\x81\x80\x80\x80\x10a",
        "len_bit31": b"\x12\x81\x80\x80\x80\x08a",
        "field_number_0": b"\x02\x01a",
        "zero_tag": b"\x08\x01\x00",
        "multibyte_zero_tag": b"\x08\x01\x80\x00",
        "lone_end_group": b"\x08\x01\x0c",
        "end_group_mismatch": b"\x0b\x14",
        "wire_type_6": b"\x0e\x01",
        "varint_11_bytes": b"\x08" + b"\xff" * 10 + b"\x01",
        "group": b"\x0b\x10\x01\x0c",
        "printable_text": b"hello world",
        "text_that_parses": b"(\x01",
        "quotes_and_escapes": b"\"'\\\t\n\r\x00\x7f\x80\xff",
        "utf8": "héllo ✓".encode(),
    }
    for k, v in inner.items():
        c["in_ld_" + k] = ld(3, v)
    for d in (1, 9, 10, 11, 12, 15):
        c[f"ld_depth_{d}"] = nested_ld(d)
    for d in (99, 100, 101):
        c[f"group_depth_{d}"] = nested_groups(d)
    for d in (9, 10, 11):
        c[f"groups_in_ld_{d}"] = ld(2, nested_groups(d))
    for d in (8, 9, 10, 11):
        c[f"ld_in_group_depth_{d}"] = group(5, nested_ld(d))
    c["ld_in_groups_in_ld"] = ld(2, nested_groups(4, nested_ld(6)))
    c["deep_groups_then_ld"] = nested_groups(12, ld(4, b"\x08\x01"))
    c["groups_in_ld_at_depth_5"] = nested_ld(5, nested_groups(6))
    return c


# Byte strings that exercise the string/message/escape decisions.
TEXTS = [
    b"",
    b"a",
    b"hello",
    b"(\x01",
    b"\x08\x01",
    b"tab\there",
    b"line\nbreak\r",
    b"q\"uo'te\\",
    "ünïcødé ✓ 日本".encode(),
    bytes(range(0, 32)),
    b"\x7f\x80\xfe\xff",
    b"\xc3\x28",
    b"grpc-status",
]


def rand_bytes(rng, n):
    return bytes(rng.randrange(256) for _ in range(n))


def rand_text(rng):
    pick = rng.random()
    if pick < 0.4:
        return rng.choice(TEXTS)
    if pick < 0.7:
        alphabet = "abcxyz XYZ019_-./:"
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 12))).encode()
    return rand_bytes(rng, rng.randrange(0, 10))


def rand_field_number(rng):
    return rng.choice([1, 1, 2, 3, 4, 5, 15, 16, 100, 2047, 2048, rng.randrange(1, 2**29)])


def rand_message(rng, depth):
    out = b""
    for _ in range(rng.randrange(0, 7)):
        num = rand_field_number(rng)
        kind = rng.random()
        if kind < 0.25:
            value = rng.choice([0, 1, 127, 128, 300, 2**31, 2**63, 2**64 - 1, rng.randrange(2**64)])
            out += tag(num, 0) + varint(value)
        elif kind < 0.35:
            out += tag(num, 5) + rand_bytes(rng, 4)
        elif kind < 0.45:
            out += tag(num, 1) + rand_bytes(rng, 8)
        elif kind < 0.7:
            out += ld(num, rand_text(rng))
        elif kind < 0.9 and depth < 14:
            out += ld(num, rand_message(rng, depth + 1))
        elif depth < 14:
            out += group(num, rand_message(rng, depth + 1))
    return out


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randrange(1, 4)):
        op = rng.random()
        if op < 0.4 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif op < 0.6 and data:
            del data[rng.randrange(len(data))]
        elif op < 0.8:
            data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
        elif data:
            del data[rng.randrange(len(data)) :]
    return bytes(data)


# ---------------------------------------------------------------------------------------------
# Messages of protos/ encoded by the Python protobuf runtime.


def schema_messages():
    from google.protobuf import struct_pb2

    catalog = importlib.import_module("kshark.test.v1.catalog_pb2")
    common = importlib.import_module("kshark.test.v1.common_pb2")
    legacy = importlib.import_module("kshark.legacy.legacy_pb2")
    out = []

    def add(name, method, role, msg):
        out.append((name, method, role, msg))

    get = "/kshark.test.v1.Catalog/GetItem"
    lst = "/kshark.test.v1.Catalog/ListItems"
    watch = "/kshark.test.v1.Catalog/Watch"
    call = "/kshark.legacy.LegacyService/Call"

    add("get_request", get, "request", catalog.GetItemRequest(id=150, with_history=True))
    add("get_request_default", get, "request", catalog.GetItemRequest())
    item = catalog.Item(
        id=42,
        name="widget ✓",
        blob=b"\x00\x01\xfe\xff",
        packed_ids=[1, 2, 300, -1],
        tags=["a", "b", ""],
        delta=-5,
        big_delta=-(2**40),
        signed_big=-1,
        unsigned_big=2**64 - 1,
        f32=0xDEADBEEF,
        f64=2**63 + 5,
        sf32=-7,
        sf64=-(2**50),
        ratio=1.1,
        price=-3.25e-7,
        active=True,
        color=common.GREEN,
        counts={"x": 1, "y": -2**62},
        prices={7: common.Money(currency_code="EUR", units=3, nanos=500000000), -1: common.Money()},
        text="chosen",
        history=[common.Money(currency_code="USD", units=-1), common.Money(nanos=-1)],
        opt=0,
        samples=[0.5, -0.0, 1e300],
        snake_case_field=9,
        palette=[common.RED, common.BLUE, 17],
        far_away_field=4_000_000_000,
    )
    item.created.FromJsonString("2024-02-29T12:34:56.789Z")
    item.ttl.FromJsonString("3.500s")
    item.maybe.value = 0
    item.extra.update({"k": [1, "two", None, True, {"n": 1.5}]})
    item.parent.id = 1
    item.parent.parent.name = "grandparent"
    item.parent.amount.currency_code = "JPY"
    item.detail.Pack(common.Money(currency_code="GBP", units=12))
    add("item_full", get, "response", item)
    add("item_oneof_number", get, "response", catalog.Item(number=0))
    add("item_oneof_message", get, "response", catalog.Item(amount=common.Money(units=5)))
    add("item_bytes_that_parse", get, "response", catalog.Item(blob=b"\x08\x01", name="(\x01"))
    add("item_unknown_enum_and_nan", get, "response", catalog.Item(color=99, price=float("nan"), ratio=float("inf")))
    add("item_struct_only", watch, "response", catalog.Item(extra=struct_pb2.Struct()))
    add(
        "list_response",
        lst,
        "response",
        catalog.ListItemsResponse(
            items=[catalog.Item(id=i, name=f"n{i}", packed_ids=list(range(i))) for i in range(4)],
            next_page_token="tok==",
        ),
    )
    add("list_request", lst, "request", catalog.ListItemsRequest(filter='name = "x"', page_size=-1))
    add("watch_request", watch, "request", catalog.GetItemRequest(id=-2147483648))
    leg = legacy.Legacy(a=-1, unpacked=[1, 2, 3], packed=[4, 5, 600], raw=b"\xff", zigzag=-64)
    e = leg.entry.add()
    e.key = "k1"
    e.value = -9
    leg.entry.add().key = "k2"
    leg.meta.note = "groups are deprecated"
    leg.meta.inner.x = 7
    add("legacy_groups", call, "request", leg)
    add("legacy_defaults", call, "response", legacy.Legacy())
    return out


def frames_cases(schema):
    """gRPC message streams: each message framed as flag, 4-byte big-endian length, payload."""
    payloads = [m.SerializeToString() for (_, _, _, m) in schema[:6]]
    big = b"".join(payloads) * 10
    cases = []

    def frame(flag, data):
        return bytes([flag]) + len(data).to_bytes(4, "big") + data

    for encoding, compress in [
        ("identity", None),
        ("gzip", lambda d: gzip.compress(d, mtime=0)),
        ("deflate", zlib.compress),
    ]:
        stream = b""
        messages = []
        for i, p in enumerate(payloads + [b"", big]):
            # Compress every other message: the flag is per message (gRPC over HTTP/2 spec).
            if compress and i % 2 == 0:
                stream += frame(1, compress(p))
                messages.append({"compressed": True, "payload": p.hex()})
            else:
                stream += frame(0, p)
                messages.append({"compressed": False, "payload": p.hex()})
        cases.append({"name": f"stream_{encoding}", "encoding": encoding, "hex": stream.hex(), "messages": messages})
    return cases


def main():
    rng = random.Random(20240229)
    with tempfile.TemporaryDirectory() as out:
        compile_protos(out)
        from google.protobuf import json_format

        schema = schema_messages()
        raw_inputs = []
        schema_out = []
        for name, method, role, msg in schema:
            data = msg.SerializeToString()
            raw_inputs.append(("schema_" + name, data))
            schema_out.append(
                {
                    "name": name,
                    "method": method,
                    "role": role,
                    "message": msg.DESCRIPTOR.full_name,
                    "hex": data.hex(),
                    "json": json.loads(json_format.MessageToJson(msg)),
                }
            )
        raw_inputs += [("hostile_" + k, v) for k, v in hostile_cases().items()]
        for i in range(220):
            raw_inputs.append((f"random_{i}", rand_message(rng, 0)))
        for i in range(200):
            base = raw_inputs[rng.randrange(len(raw_inputs))][1]
            raw_inputs.append((f"mutated_{i}", mutate(rng, base)))
        for i in range(60):
            raw_inputs.append((f"noise_{i}", rand_bytes(rng, rng.randrange(1, 24))))
        raw_out = [{"name": n, "hex": d.hex(), "protoc": decode_raw(d)} for n, d in raw_inputs]
        frames = frames_cases(schema)

    def write(name, value):
        with open(os.path.join(HERE, name), "w") as f:
            json.dump(value, f, indent=1, ensure_ascii=True)
            f.write("\n")

    write("decode_raw.json", raw_out)
    write("schema.json", schema_out)
    write("frames.json", frames)
    ok = sum(1 for c in raw_out if c["protoc"] is not None)
    print(f"decode_raw.json: {len(raw_out)} cases ({ok} decoded by protoc); schema.json: {len(schema_out)}")


if __name__ == "__main__":
    main()
