"""tshark's view of a PostgreSQL capture as golden oracle lines (read from `tshark -T json
--no-duplicate-keys -J "tcp pgsql"` on stdin): a `summary` line per statement the client ran —
each statement of a simple Query (split at top-level semicolons), each Execute with the SQL of
the Parse its portal was bound from — per startup ("STARTUP user@database") and per
notification ("NOTIFY channel"); a `status` line per CommandComplete tag, per ErrorResponse
SQLSTATE and per AuthenticationOk ("OK"). Summaries are one line with blanks collapsed."""
import json
import sys


def split_statements(sql):
    out, cur, quote = [], [], None
    for ch in sql:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            cur.append(ch)
        elif ch == ";":
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return [s.strip() for s in out if s.strip()]


def summary(sql):
    s = " ".join(sql.split())
    return s if len(s) <= 120 else s[:120] + "…"


def messages(layer):
    msgs = layer if isinstance(layer, list) else [layer]
    for m in msgs:
        yield m


packets = json.load(sys.stdin)
streams = {}
for p in packets:
    layers = p["_source"]["layers"]
    if "pgsql" not in layers:
        continue
    stream = layers["tcp"]["tcp.stream"]
    st = streams.setdefault(stream, {"statements": {}, "portals": {}, "user": None, "db": None})
    for m in messages(layers["pgsql"]):
        kind = m.get("pgsql.type")
        if kind == "Startup message":
            params = {}
            names = m.get("pgsql.parameter_name") or []
            values = m.get("pgsql.parameter_value") or []
            for sub in m.values():
                if isinstance(sub, dict):
                    names = sub.get("pgsql.parameter_name", names)
                    values = sub.get("pgsql.parameter_value", values)
            if isinstance(names, str):
                names, values = [names], [values]
            params = dict(zip(names, values))
            user = params.get("user", "?")
            print("summary", f"STARTUP {user}@{params.get('database', user)}")
        elif kind == "Simple query":
            for stmt in split_statements(m["pgsql.query"]):
                print("summary", summary(stmt))
        elif kind == "Parse":
            st["statements"][m.get("pgsql.statement", "")] = m.get("pgsql.query", "")
        elif kind == "Bind":
            st["portals"][m.get("pgsql.portal", "")] = st["statements"].get(m.get("pgsql.statement", ""))
        elif kind == "Execute":
            sql = st["portals"].get(m.get("pgsql.portal", ""))
            print("summary", summary(sql) if sql is not None else "EXECUTE portal \"\"")
        elif kind == "Command completion":
            print("status", m["pgsql.tag"])
        elif kind == "Error":
            codes = [v for k, v in m.items() if k == "pgsql.code"]
            for sub in m.values():
                if isinstance(sub, dict) and "pgsql.code" in sub:
                    codes.append(sub["pgsql.code"])
            print("status", codes[0])
        elif kind == "Authentication request" and m.get("pgsql.authtype") == "0":
            print("status", "OK")
        elif kind == "Notification":
            print("summary", f"NOTIFY {m.get('pgsql.condition', '')}")
