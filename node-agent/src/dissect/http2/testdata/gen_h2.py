#!/usr/bin/env python3
"""Generates h2_fixture.json: the raw bytes of both directions of HTTP/2 connections between real
implementations, with what the receiving implementation made of them, for the connection tests.

    pip install h2==4.4.1 hpack==4.2.0 hyperframe==6.1.0 && python3 gen_h2.py > h2_fixture.json

Client and server are Python `h2` connections in one process (no sockets); two scenarios replace
one side by frames built with `hyperframe` and `hpack` to get what h2 does not send (padded or
prioritised HEADERS split into CONTINUATIONs, padded PUSH_PROMISE, PRIORITY, an extension frame).
`segments` are the bytes in the order each side sent them ("c": client to server); `events` are
the receiving side's h2 events, written as the tests write ours (see `describe_*`), for the
senders in `observed` (those an h2 connection received); `counters` are per observed sender the
SETTINGS, SETTINGS ACK, PING, PING ACK, WINDOW_UPDATE and unknown frames h2 saw.
"""
import json
import random

import h2.config
import h2.connection
import h2.events
import h2.settings
import hpack
from h2.errors import ErrorCodes
from hyperframe import frame as hf


def fnv1a(data):
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return f"{h:08x}"


def text(b):
    s = bytes(b).decode("ascii")
    return s if len(s) <= 40 else f"{s[:24]}..({len(s)} bytes, {fnv1a(bytes(b))})"


def describe_headers(headers):
    return " ".join(
        ("!" if isinstance(h, hpack.NeverIndexedHeaderTuple) else "") + f"{text(h[0])}={text(h[1])}" for h in headers
    )


class Capture:
    def __init__(self, client=True, server=True):
        self.client = self._conn(True) if client else None
        self.server = self._conn(False) if server else None
        self.segments = []
        self.events = []
        self.counters = {"c": [0] * 6, "s": [0] * 6}

    @staticmethod
    def _conn(client_side):
        config = h2.config.H2Configuration(
            client_side=client_side, header_encoding=None, normalize_inbound_headers=False
        )
        return h2.connection.H2Connection(config=config)

    def record(self, sender, events):
        counters = self.counters[sender]
        for ev in events:
            kind = type(ev)
            if kind in (h2.events.RequestReceived, h2.events.ResponseReceived, h2.events.TrailersReceived):
                end = 1 if ev.stream_ended else 0
                self.events.append(f"{sender} headers {ev.stream_id} end={end} {describe_headers(ev.headers)}")
            elif kind is h2.events.DataReceived:
                end = 1 if ev.stream_ended else 0
                self.events.append(f"{sender} data {ev.stream_id} {len(ev.data)} {fnv1a(ev.data)} end={end}")
            elif kind is h2.events.StreamReset:
                self.events.append(f"{sender} reset {ev.stream_id} {int(ev.error_code)}")
            elif kind is h2.events.ConnectionTerminated:
                debug = (ev.additional_data or b"").hex()
                self.events.append(f"{sender} goaway {ev.last_stream_id} {int(ev.error_code)} {debug}")
            elif kind is h2.events.PushedStreamReceived:
                self.events.append(
                    f"{sender} push {ev.parent_stream_id} {ev.pushed_stream_id} {describe_headers(ev.headers)}"
                )
            elif kind is h2.events.RemoteSettingsChanged:
                counters[0] += 1
            elif kind is h2.events.SettingsAcknowledged:
                counters[1] += 1
            elif kind is h2.events.PingReceived:
                counters[2] += 1
            elif kind is h2.events.PingAckReceived:
                counters[3] += 1
            elif kind is h2.events.WindowUpdated:
                counters[4] += 1
            elif kind is h2.events.UnknownFrameReceived:
                counters[5] += 1
            elif kind in (h2.events.StreamEnded, h2.events.PriorityUpdated):
                pass
            else:
                raise AssertionError(f"unexpected event {ev}")

    def send(self, sender, data):
        """Delivers bytes `sender` sent to the other side's h2 connection, if any."""
        if not data:
            return
        self.segments.append([sender, data.hex()])
        receiver = self.server if sender == "c" else self.client
        if receiver is not None:
            self.record(sender, receiver.receive_data(data))

    def pump(self):
        moved = True
        while moved:
            moved = False
            for sender, conn in (("c", self.client), ("s", self.server)):
                if conn is None:
                    continue
                data = conn.data_to_send()
                if data:
                    self.send(sender, data)
                    moved = True

    def result(self, name):
        # Senders whose bytes an h2 connection received (and so whose events are known).
        observed = [d for d, peer in (("c", self.server), ("s", self.client)) if peer is not None]
        return {
            "name": name,
            "observed": observed,
            "segments": self.segments,
            "events": self.events,
            "counters": {d: self.counters[d] for d in observed},
        }


def request(path, extra=()):
    return [(":method", "GET"), (":scheme", "https"), (":authority", "example.com"), (":path", path), *extra]


def concurrent():
    """Three concurrent streams interleaved both ways, trailers, pings, window updates, a
    never-indexed authorization and priority on HEADERS."""
    cap = Capture()
    c, s = cap.client, cap.server
    c.initiate_connection()
    s.initiate_connection()
    cap.pump()
    c.send_headers(1, [(":method", "POST"), (":scheme", "https"), (":authority", "example.com"),
                       (":path", "/upload"), ("content-type", "application/grpc"), ("te", "trailers"),
                       hpack.NeverIndexedHeaderTuple("authorization", "Bearer secret-token")])
    c.send_headers(3, request("/a"), end_stream=True, priority_weight=200, priority_depends_on=1)
    c.send_headers(5, request("/b", [("user-agent", "gen_h2")]))
    for i in range(3):
        c.send_data(1, bytes([i]) * 300)
        c.send_data(5, b"chunk %d" % i)
    c.send_data(5, b"", end_stream=True)
    c.send_headers(1, [("grpc-timeout", "1S")], end_stream=True)
    cap.pump()
    s.send_headers(3, [(":status", "200"), ("content-type", "text/plain")])
    s.send_headers(1, [(":status", "200"), ("content-type", "application/grpc")])
    s.send_data(3, b"hello ")
    s.send_data(1, b"\x00\x00\x00\x00\x05hello")
    s.send_headers(5, [(":status", "404")], end_stream=True)
    s.send_data(3, b"world", end_stream=True)
    s.send_headers(1, [("grpc-status", "0"), ("grpc-message", "OK")], end_stream=True)
    s.acknowledge_received_data(900, 1)
    c.ping(b"12345678")
    cap.pump()
    c.send_headers(7, request("/a"), end_stream=True)
    cap.pump()
    s.send_headers(7, [(":status", "200"), ("content-type", "text/plain")], end_stream=True)
    cap.pump()
    return cap.result("concurrent")


def big_headers_and_settings():
    """CONTINUATION (a header block over 16 KiB), SETTINGS that shrink the header table (size
    updates follow the ACK) and raise the maximum frame size (a 20000-byte DATA frame)."""
    cap = Capture()
    c, s = cap.client, cap.server
    c.initiate_connection()
    s.initiate_connection()
    cap.pump()
    # Printable bytes that Huffman coding cannot shrink below 16 KiB: the block needs CONTINUATION.
    rng = random.Random(9113)
    big = "".join(rng.choice("!#$%&'*+^_`|~<>@[]{}") for _ in range(12000))
    c.send_headers(1, request("/big", [("x-big", big), ("x-small", "1")]), end_stream=True)
    cap.pump()
    c.update_settings({h2.settings.SettingCodes.HEADER_TABLE_SIZE: 256,
                       h2.settings.SettingCodes.MAX_FRAME_SIZE: 32768})
    s.update_settings({h2.settings.SettingCodes.HEADER_TABLE_SIZE: 0})
    cap.pump()
    s.send_headers(1, [(":status", "200"), ("server", "gen_h2"), ("x-long", "v" * 300)])
    s.increment_flow_control_window(1 << 20)
    c.increment_flow_control_window(1 << 20)
    c.increment_flow_control_window(1 << 20, stream_id=1)
    cap.pump()
    s.send_data(1, bytes(range(256)) * 78 + b"tail", end_stream=True)
    c.send_headers(3, request("/again", [("x-small", "1"), ("x-small", "2")]), end_stream=True)
    cap.pump()
    s.send_headers(3, [(":status", "200"), ("server", "gen_h2"), ("x-long", "v" * 300)], end_stream=True)
    cap.pump()
    return cap.result("big_headers_and_settings")


def reset_goaway_push():
    """PUSH_PROMISE and the pushed response, RST_STREAM both ways, GOAWAY with debug data."""
    cap = Capture()
    c, s = cap.client, cap.server
    c.initiate_connection()
    s.initiate_connection()
    cap.pump()
    c.send_headers(1, request("/index.html"), end_stream=True)
    c.send_headers(3, request("/slow"), end_stream=True)
    c.send_headers(5, request("/refused"), end_stream=True)
    cap.pump()
    s.push_stream(1, 2, request("/style.css"))
    s.send_headers(1, [(":status", "200")])
    s.send_headers(2, [(":status", "200"), ("content-type", "text/css")])
    s.send_data(2, b"body{}", end_stream=True)
    s.send_data(1, b"<html></html>", end_stream=True)
    s.reset_stream(5, ErrorCodes.REFUSED_STREAM)
    c.reset_stream(3, ErrorCodes.CANCEL)
    cap.pump()
    s.close_connection(ErrorCodes.ENHANCE_YOUR_CALM, additional_data=b"calm down", last_stream_id=5)
    cap.pump()
    return cap.result("reset_goaway_push")


def split_block(block, *cuts):
    parts, last = [], 0
    for cut in cuts:
        parts.append(block[last:cut])
        last = cut
    parts.append(block[last:])
    return parts


def handmade_client():
    """Frames h2 does not send, built by hand, to an h2 server: a padded, prioritised HEADERS in
    three pieces, padded DATA, PRIORITY, an extension frame, WINDOW_UPDATE and PING."""
    cap = Capture(client=False)
    s = cap.server
    enc = hpack.Encoder()
    s.initiate_connection()
    cap.send("c", h2.connection.H2Connection.CONFIG_PREFACE if hasattr(h2.connection.H2Connection, "CONFIG_PREFACE")
             else b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    cap.send("c", hf.SettingsFrame(0, settings={hf.SettingsFrame.ENABLE_PUSH: 0}).serialize())
    cap.pump()
    cap.send("c", hf.SettingsFrame(0, flags=["ACK"]).serialize())
    block = enc.encode(request("/hand", [("x-a", "a" * 30), ("x-b", "b" * 30)]))
    p1, p2, p3 = split_block(block, 5, 30)
    headers = hf.HeadersFrame(1, data=p1, flags=["PADDED", "PRIORITY"], pad_length=7,
                              depends_on=0, stream_weight=15, exclusive=True)
    frames = [headers, hf.ContinuationFrame(1, data=p2), hf.ContinuationFrame(1, data=p3, flags=["END_HEADERS"])]
    data = b"".join(f.serialize() for f in frames)
    cap.send("c", data[:20])
    cap.send("c", data[20:])
    cap.send("c", hf.PriorityFrame(3, depends_on=1, stream_weight=3).serialize())
    # An extension frame (type 0xfa) by hand: hyperframe's ExtensionFrame.serialize writes length 0.
    cap.send("c", bytes.fromhex("000003fa0300000000") + b"ext")
    cap.send("c", hf.DataFrame(1, data=b"padded body", flags=["PADDED", "END_STREAM"], pad_length=20).serialize())
    cap.send("c", hf.WindowUpdateFrame(0, window_increment=1000).serialize())
    cap.send("c", hf.PingFrame(0, opaque_data=b"abcdefgh").serialize())
    block = enc.encode(request("/hand", [("x-a", "a" * 30)]))
    cap.send("c", hf.HeadersFrame(3, data=block, flags=["END_HEADERS", "END_STREAM"]).serialize())
    s.send_headers(1, [(":status", "200")])
    s.send_data(1, b"ok", pad_length=10)
    s.send_data(1, b"", end_stream=True)
    s.send_headers(3, [(":status", "204")], end_stream=True)
    cap.pump()
    return cap.result("handmade_client")


def handmade_server():
    """Frames built by hand to an h2 client: a response split into HEADERS and CONTINUATIONs,
    a padded PUSH_PROMISE continued by a CONTINUATION, padded DATA, the pushed response."""
    cap = Capture(server=False)
    c = cap.client
    enc = hpack.Encoder()
    c.initiate_connection()
    c.send_headers(1, request("/"), end_stream=True)
    cap.pump()
    cap.send("s", hf.SettingsFrame(0, settings={hf.SettingsFrame.MAX_CONCURRENT_STREAMS: 100}).serialize())
    cap.send("s", hf.SettingsFrame(0, flags=["ACK"]).serialize())
    cap.pump()
    block = enc.encode(request("/pushed.js", [("x-push", "yes")]))
    a, b = split_block(block, 9)
    push = hf.PushPromiseFrame(1, promised_stream_id=2, data=a, flags=["PADDED"], pad_length=4)
    cap.send("s", push.serialize() + hf.ContinuationFrame(1, data=b, flags=["END_HEADERS"]).serialize())
    block = enc.encode([(":status", "200"), ("content-type", "text/html"), ("x-long", "z" * 40)])
    p1, p2, p3 = split_block(block, 1, 2)
    frames = [hf.HeadersFrame(1, data=p1, flags=["PADDED"], pad_length=3), hf.ContinuationFrame(1, data=p2),
              hf.ContinuationFrame(1, data=p3, flags=["END_HEADERS"])]
    cap.send("s", b"".join(f.serialize() for f in frames))
    cap.send("s", hf.DataFrame(1, data=b"<html/>", flags=["PADDED", "END_STREAM"], pad_length=0).serialize())
    block = enc.encode([(":status", "200"), ("content-type", "text/javascript")])
    cap.send("s", hf.HeadersFrame(2, data=block, flags=["END_HEADERS"]).serialize())
    cap.send("s", hf.DataFrame(2, data=b"x()", flags=["END_STREAM"]).serialize())
    cap.send("s", hf.GoAwayFrame(0, last_stream_id=1, error_code=0).serialize())
    cap.pump()
    return cap.result("handmade_server")


def main():
    scenarios = [concurrent(), big_headers_and_settings(), reset_goaway_push(), handmade_client(), handmade_server()]
    versions = f"h2 {h2.__version__}, hpack {hpack.__version__}"
    print(json.dumps({"generator": f"gen_h2.py, {versions}", "scenarios": scenarios}, indent=1))


if __name__ == "__main__":
    main()
