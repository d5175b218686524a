"""Assertions shared by the e2e test modules: the entry schema, timestamps, and the oracle
comparison with readable failure messages."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime, timezone

from oracle import (Oracle, canon_ip, compare, entry_dns_key, entry_http_key, split_entries)
from traffic import dns_scenario, expected_dns_counter, expected_http_counter, http_scenario

RFC3339_NS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{9})(Z|[+-]\d\d:\d\d)$")


def ts_ns(ts: str) -> int:
    """RFC 3339 timestamp with exactly nine fractional digits -> ns since the epoch."""
    m = RFC3339_NS.match(ts or "")
    assert m, f"ts {ts!r} is not RFC 3339 with nanoseconds (e.g. 2024-01-02T03:04:05.123456789Z)"
    base, frac, off = m.groups()
    off = "+00:00" if off == "Z" else off
    dt = datetime.fromisoformat(base + off)
    return int(dt.timestamp()) * 1_000_000_000 + int(frac)


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def schema_problems(e: dict) -> list[str]:
    p = []
    for k in ("id", "protocol", "transport", "ts", "elapsed_us", "src", "dst", "summary", "status",
              "request_size", "response_size", "request", "response"):
        if k not in e:
            p.append(f"missing field {k}")
    if p:
        return p
    if e["protocol"] not in ("http", "dns"):
        p.append(f"protocol {e['protocol']!r}")
    if e["transport"] not in ("tcp", "udp"):
        p.append(f"transport {e['transport']!r}")
    if e["protocol"] == "http" and e["transport"] != "tcp":
        p.append("http over udp")
    try:
        ts_ns(e["ts"])
    except AssertionError as ex:
        p.append(str(ex))
    for side in ("src", "dst"):
        ep = e[side]
        if not isinstance(ep, dict) or "ip" not in ep or not _is_int(ep.get("port")):
            p.append(f"{side} is not {{ip, port}}: {ep!r}")
        elif canon_ip(ep["ip"]) != ep["ip"]:
            p.append(f"{side}.ip {ep['ip']!r} is not in canonical text form")
    if not isinstance(e["summary"], str) or not e["summary"]:
        p.append("summary empty")
    for k in ("request_size", "response_size"):
        if not _is_int(e[k]) or e[k] < 0:
            p.append(f"{k} {e[k]!r}")
    if not isinstance(e["request"], dict):
        p.append("request is not an object")
    resp = e["response"]
    if resp is None:
        if e["elapsed_us"] is not None or e["status"] is not None:
            p.append("no response but elapsed_us/status set")
    else:
        if not isinstance(resp, dict):
            p.append("response is not an object or null")
        if not _is_int(e["elapsed_us"]) or e["elapsed_us"] < 0:
            p.append(f"elapsed_us {e['elapsed_us']!r} with a response")
        if not isinstance(e["status"], str):
            p.append(f"status {e['status']!r} is not a string")
    if "notes" in e and not (isinstance(e["notes"], list) and all(isinstance(n, str) for n in e["notes"])):
        p.append(f"notes {e['notes']!r}")
    if e["protocol"] == "http":
        p += _http_schema(e)
    elif e["protocol"] == "dns":
        p += _dns_schema(e)
    return p


def _body_problems(b, where):
    if b is None:
        return []
    if not isinstance(b, dict):
        return [f"{where}.body is not an object"]
    p = []
    if not _is_int(b.get("size")):
        p.append(f"{where}.body.size {b.get('size')!r}")
    if "text" in b and "base64" in b:
        p.append(f"{where}.body has both text and base64")
    if "truncated" in b and not isinstance(b["truncated"], bool):
        p.append(f"{where}.body.truncated not bool")
    return p


def _headers_ok(h):
    return isinstance(h, list) and all(isinstance(x, list) and len(x) == 2 and all(isinstance(y, str) for y in x)
                                       for x in h)


def _http_schema(e):
    p = []
    q, r = e["request"], e["response"]
    for k in ("method", "path", "version", "headers"):
        if k not in q:
            p.append(f"request.{k} missing")
    if "headers" in q and not _headers_ok(q["headers"]):
        p.append("request.headers is not [[name, value], ...]")
    p += _body_problems(q.get("body"), "request")
    if isinstance(r, dict):
        for k in ("status", "reason", "version", "headers"):
            if k not in r:
                p.append(f"response.{k} missing")
        if not _is_int(r.get("status")):
            p.append(f"response.status {r.get('status')!r} is not an int")
        elif e["status"] != str(r["status"]):
            p.append(f"status {e['status']!r} != response.status {r['status']}")
        if "headers" in r and not _headers_ok(r["headers"]):
            p.append("response.headers is not [[name, value], ...]")
        p += _body_problems(r.get("body"), "response")
        for i in r.get("interim") or []:
            if not (isinstance(i, dict) and _is_int(i.get("status")) and 100 <= i["status"] < 200):
                p.append(f"response.interim item {i!r}")
    return p


def _dns_schema(e):
    p = []
    q, r = e["request"], e["response"]
    for k in ("id", "opcode", "flags", "questions"):
        if k not in q:
            p.append(f"request.{k} missing")
    for qq in q.get("questions") or []:
        if not all(k in qq for k in ("name", "type", "class")):
            p.append(f"question {qq!r}")
        elif qq["name"].endswith(".") and qq["name"] != ".":
            p.append(f"question name with trailing dot {qq['name']!r}")
    if isinstance(r, dict):
        for k in ("id", "rcode", "flags", "answers", "authorities", "additionals"):
            if k not in r:
                p.append(f"response.{k} missing")
        if e["status"] != r.get("rcode"):
            p.append(f"status {e['status']!r} != response.rcode {r.get('rcode')!r}")
        for sec in ("answers", "authorities", "additionals"):
            for a in r.get(sec) or []:
                if a.get("type") == "OPT":
                    continue
                if not all(k in a for k in ("name", "type", "class", "ttl", "data")):
                    p.append(f"{sec} record {a!r}")
                elif str(a["name"]).endswith(".") and a["name"] != ".":
                    p.append(f"{sec} name with trailing dot {a['name']!r}")
    return p


def assert_schema(entries):
    bad = []
    ids = Counter(e.get("id") for e in entries)
    dup_ids = [i for i, n in ids.items() if n > 1]
    for e in entries:
        pr = schema_problems(e)
        if pr:
            bad.append((e.get("id"), e.get("summary"), pr))
    msg = []
    if dup_ids:
        msg.append(f"duplicate entry ids: {dup_ids[:10]}")
    if bad:
        msg.append(f"{len(bad)} of {len(entries)} entries break the schema, e.g.:")
        msg += [f"  {b}" for b in bad[:15]]
    assert not msg, "\n".join(msg)


def assert_equals_oracle(oracle: Oracle, entries, what="entries", **filters):
    problems = compare(oracle, entries, **filters)
    if problems:
        counts = per_scenario(oracle)
        raise AssertionError(f"{what} differ from the oracle (tshark)\n" + "\n".join(problems)
                             + f"\noracle per scenario: {counts}\nquirks: {oracle.quirks}")


def per_scenario(oracle: Oracle) -> dict:
    c = Counter()
    for x in oracle.http:
        c[http_scenario(x.path)] += 1
    for x in oracle.dns:
        c[dns_scenario(x.transport, x.server[0])] += 1
    return dict(sorted(c.items()))


def assert_oracle_matches_expectations(oracle: Oracle, expects, keep_http=lambda x: True,
                                       keep_dns=lambda x: True):
    """Harness self-check: tshark found exactly the exchanges the scenarios put on the wire."""
    want_h = expected_http_counter(expects)
    got_h = Counter((x.method, x.path, x.status) for x in oracle.http if keep_http(x))
    want_d = expected_dns_counter(expects)
    got_d = Counter((x.transport, x.qname, x.qtype, x.rcode) for x in oracle.dns if keep_dns(x))
    msg = []
    for label, w, g in (("HTTP", want_h, got_h), ("DNS", want_d, got_d)):
        if w != g:
            msg.append(f"{label}: oracle is missing {dict(w - g)}; has unexpected {dict(g - w)}")
    assert not msg, "harness: the oracle does not see what the scenarios sent:\n" + "\n".join(msg) \
        + f"\nquirks: {oracle.quirks}"


def index_entries(entries):
    """{key: [entries]} for HTTP and DNS."""
    http, dns, _ = split_entries(entries)
    idx = defaultdict(list)
    for e in http:
        idx[("http",) + entry_http_key(e)].append(e)
    for e in dns:
        idx[("dns",) + entry_dns_key(e)].append(e)
    return idx


def subnet_filter(topo):
    """Keeps keys/exchanges whose both ends are in this run's subnet (other engineers' traffic may
    be on the host when capturing on all interfaces)."""
    def keep_http_key(k):
        return topo.subnet_contains(str(k[0])) and topo.subnet_contains(str(k[2]))

    def keep_dns_key(k):
        return topo.subnet_contains(str(k[1])) and topo.subnet_contains(str(k[3]))
    return keep_http_key, keep_dns_key
