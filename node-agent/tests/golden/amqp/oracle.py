"""What tshark's amqp dissector sees in a capture, as the golden test compares it: one `summary`
and one `status` line per AMQP method that is not an answer (read from `tshark -T json
--no-duplicate-keys -J "amqp tcp"` on stdin; argv[1] is the broker's port).

The method names, which methods are synchronous and what answers them come from the AMQP 0-9-1
specification (the table below); the arguments, the channels, the order and the body sizes from
tshark. Summary format: the method, then queue="..", exchange="..", key=".." (routing key),
tag=".." (consumer tag) where present (empty ones left out, but the exchange), delivery_tag=N,
and for publish/deliver/return the body size ("9 B"); a close: its reply code and text. Status: a
close's reply code, the code of the close that refused a request, a return's reply code, "OK"
otherwise; no status for a synchronous method left unanswered.
"""
import json
import sys

# class id, class name, then method id, name, and the ids of the methods that answer it.
SPEC = {
    10: ("connection", {10: ("start", [11]), 11: ("start-ok", []), 20: ("secure", [21]), 21: ("secure-ok", []),
                        30: ("tune", [31]), 31: ("tune-ok", []), 40: ("open", [41]), 41: ("open-ok", []),
                        50: ("close", [51]), 51: ("close-ok", []), 60: ("blocked", []), 61: ("unblocked", []),
                        70: ("update-secret", [71]), 71: ("update-secret-ok", [])}),
    20: ("channel", {10: ("open", [11]), 11: ("open-ok", []), 20: ("flow", [21]), 21: ("flow-ok", []),
                     40: ("close", [41]), 41: ("close-ok", [])}),
    40: ("exchange", {10: ("declare", [11]), 11: ("declare-ok", []), 20: ("delete", [21]), 21: ("delete-ok", []),
                      30: ("bind", [31]), 31: ("bind-ok", []), 40: ("unbind", [51]), 51: ("unbind-ok", [])}),
    50: ("queue", {10: ("declare", [11]), 11: ("declare-ok", []), 20: ("bind", [21]), 21: ("bind-ok", []),
                   30: ("purge", [31]), 31: ("purge-ok", []), 40: ("delete", [41]), 41: ("delete-ok", []),
                   50: ("unbind", [51]), 51: ("unbind-ok", [])}),
    60: ("basic", {10: ("qos", [11]), 11: ("qos-ok", []), 20: ("consume", [21]), 21: ("consume-ok", []),
                   30: ("cancel", [31]), 31: ("cancel-ok", []), 40: ("publish", []), 50: ("return", []),
                   60: ("deliver", []), 70: ("get", [71, 72]), 71: ("get-ok", []), 72: ("get-empty", []),
                   80: ("ack", []), 90: ("reject", []), 100: ("recover-async", []), 110: ("recover", [111]),
                   111: ("recover-ok", []), 120: ("nack", [])}),
    85: ("confirm", {10: ("select", [11]), 11: ("select-ok", [])}),
    90: ("tx", {10: ("select", [11]), 11: ("select-ok", []), 20: ("commit", [21]), 21: ("commit-ok", []),
                30: ("rollback", [31]), 31: ("rollback-ok", [])}),
}
ANSWERS = {(c, r) for c, (_, ms) in SPEC.items() for _, (_, rs) in ms.items() for r in rs}
CONTENT_OWN = {(60, 40), (60, 50), (60, 60)}

broker = sys.argv[1]
entries = []  # [summary, status]
pending = []  # (side, channel, class, method, entry index)
own_content = {}  # (side, channel) -> entry index waiting for its body size


def frames(packets):
    for p in packets:
        layers = p["_source"]["layers"]
        side = "server" if layers["tcp"]["tcp.srcport"] == broker else "client"
        amqp = layers.get("amqp", [])
        for f in amqp if isinstance(amqp, list) else [amqp]:
            yield side, f


for side, f in frames(json.load(sys.stdin)):
    channel = f.get("amqp.channel")
    if f.get("amqp.type") == "2" and (side, channel) in own_content:
        entries[own_content.pop((side, channel))][0] += f" {f['amqp.header.body-size']} B"
    if f.get("amqp.type") != "1":
        continue
    cls, meth = int(f["amqp.method.class"]), int(f["amqp.method.method"])
    cname, methods = SPEC[cls]
    name, answers_it = methods[meth]
    args = {k.rsplit(".", 1)[1]: v for k, v in (f.get("amqp.method.arguments") or {}).items()}
    if (cls, meth) in ANSWERS:
        for i, (s, ch, c, m, idx) in enumerate(pending):
            if s != side and ch == channel and c == cls and meth in SPEC[c][1][m][1]:
                del pending[i]
                if entries[idx][1] is None:
                    entries[idx][1] = "OK"
                break
        continue
    full = f"{cname}.{name}"
    if name == "close":
        summary = f"{full} {args['reply_code']} {args['reply_text']}"
        for p in list(pending):
            s, ch, c, m, idx = p
            if s != side and (cls == 10 or ch == channel) and SPEC[c][1][m][0] != "close":
                entries[idx][1] = args["reply_code"]
                pending.remove(p)
    else:
        summary = full
        for key, label in [("queue", "queue"), ("exchange", "exchange"), ("routing_key", "key"),
                           ("consumer_tag", "tag")]:
            if key in args and (key == "exchange" or args[key]):
                summary += f" {label}={json.dumps(args[key])}"
        if "delivery_tag" in args:
            summary += f" delivery_tag={args['delivery_tag']}"
    status = args["reply_code"] if name in ("close", "return") else "OK" if not answers_it or args.get("nowait") == "1" else None
    idx = len(entries)
    if name == "close":
        entries.append([summary, None, args["reply_code"]])
        pending.append((side, channel, cls, meth, idx))
    else:
        entries.append([summary, status])
        if answers_it and status is None:
            pending.append((side, channel, cls, meth, idx))
    if (cls, meth) in CONTENT_OWN:
        own_content[(side, channel)] = idx

for e in entries:
    print("summary", e[0])
    # A close's status is its own reply code once its close-ok came.
    status = (e[2] if e[1] is not None else None) if len(e) > 2 else e[1]
    if status is not None:
        print("status", status)
