"""Writes a WebSocket capture's oracle from tshark's dissection (PDML on stdin): one `summary`
line per message and one `status` line per Close, in kubectl-shark's words, from what tshark
decoded (opcode, unmasked and inflated payload, fragments reassembled, close code, its name and
reason). The HTTP lines of the handshake are written by the record script.

Summary format (docs/entry.md, WebSocket): `text 42 B: <first 80 characters>`, `binary 300 B`,
`ping 11 B: golden-ping`, `close 1000 Normal Closure: bye`; control characters escaped as Rust's
char::escape_default does, `…` when the text was longer.
"""
import re
import sys
import unicodedata
import xml.etree.ElementTree as ET

PREVIEW = 80
OPCODES = {1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}


def preview(text):
    out = []
    for c in text[:PREVIEW]:
        if unicodedata.category(c) == "Cc":
            out.append({"\t": "\\t", "\r": "\\r", "\n": "\\n"}.get(c, "\\u{%x}" % ord(c)))
        else:
            out.append(c)
    return "".join(out) + ("…" if len(text) > PREVIEW else "")


def fields(proto, name):
    return [f for f in proto.iter("field") if f.get("name") == name]


def field_bytes(proto, name):
    found = fields(proto, name)
    return bytes.fromhex(found[-1].get("value")) if found else None


def websocket_frames(packet):
    """Each WebSocket frame's proto with the data tshark showed for its payload (binary payloads
    come in a "fake-field-wrapper" proto right after the frame's)."""
    frames = []
    for proto in packet.findall("proto"):
        if proto.get("name") == "websocket":
            frames.append([proto, None])
        elif proto.get("name") == "fake-field-wrapper" and frames and frames[-1][1] is None:
            frames[-1][1] = field_bytes(proto, "data")
    return frames


def main():
    first_opcode = {}  # per direction: opcode of a fragmented message in progress
    for packet in ET.parse(sys.stdin).getroot().iter("packet"):
        tcp = next(p for p in packet.iter("proto") if p.get("name") == "tcp")
        src = fields(tcp, "tcp.srcport")[0].get("show")
        for ws, data in websocket_frames(packet):
            fin = fields(ws, "websocket.fin")[0].get("show") == "1"
            opcode = int(fields(ws, "websocket.opcode")[0].get("show"))
            if opcode == 0:
                opcode = first_opcode.get(src, 0)
            elif opcode in (1, 2) and not fin:
                first_opcode[src] = opcode
            if not fin:
                continue
            if opcode < 8:
                first_opcode.pop(src, None)
            name = OPCODES[opcode]
            if name == "close":
                code = fields(ws, "websocket.payload.close.status_code")
                reason = fields(ws, "websocket.payload.close.reason")
                s = "close"
                if code:
                    m = re.fullmatch(r"Status code: (.*) \((\d+)\)", code[0].get("showname"))
                    s += f" {m.group(2)} {m.group(1)}"
                    print(f"status {m.group(2)}")
                if reason and reason[0].get("show"):
                    s += ": " + preview(bytes.fromhex(reason[0].get("value")).decode())
                print("summary " + s)
                continue
            if name == "binary":
                payload = data or b""
            elif name == "text":
                payload = field_bytes(ws, "websocket.payload.text") or b""
            else:
                payload = field_bytes(ws, f"websocket.payload.{name}") or b""
            s = f"{name} {len(payload)} B"
            if name != "binary" and payload:
                try:
                    s += ": " + preview(payload.decode())
                except UnicodeDecodeError:
                    pass
            print("summary " + s)


main()
