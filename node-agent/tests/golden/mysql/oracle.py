"""Turns tshark's mysql fields (record: srcport, command, query, stmt_id, user, schema,
response_code, error_code, ...) into the oracle: one `summary` line per command or login as the
entry writes it, and one `status` line per answered one ("OK", or the error number when any of
its responses is an ERR). Pairing is by order: the server rows after a command up to the next
command answer it."""
import sys

NAMES = {1: "QUIT", 2: "INIT_DB", 3: "QUERY", 14: "PING", 22: "STMT_PREPARE", 23: "STMT_EXECUTE",
         24: "STMT_SEND_LONG_DATA", 25: "STMT_CLOSE", 26: "STMT_RESET"}
NO_RESPONSE = {1, 24, 25}

server_port = sys.argv[1]
statements, pending_prepare = {}, None
entries = []  # [summary, status or None, answered?]
current = None
infile = False


def summary_sql(sql):
    one = " ".join(sql.split())
    return one[:120] + ("…" if len(one) > 120 else "")


for line in sys.stdin:
    f = (line.rstrip("\n").split("\t") + [""] * 11)[:11]
    src, cmd, query, stmt, user, schema, rcode, ecode = f[:8]
    if src != server_port:
        if user:
            current = [f"handshake {user}" + (f"@{schema}" if schema else ""), None]
            entries.append(current)
            continue
        if infile or not cmd:
            continue
        code = int(cmd)
        name = NAMES[code]
        if code == 3:
            s = summary_sql(query)
            infile = query.upper().startswith("LOAD DATA LOCAL")
        elif code == 22:
            s = f"{name} {summary_sql(query)}"
            pending_prepare = query
        elif code in (23, 25, 26):
            s = f"{name} {summary_sql(statements[stmt])}"
        elif code == 2:
            s = f"{name} {schema}"
        else:
            s = name
        current = [s, None]
        entries.append(current)
        if code in NO_RESPONSE:
            current = None
    else:
        if not rcode or current is None:
            continue
        infile = False
        if stmt and pending_prepare is not None:
            statements[stmt] = pending_prepare
            pending_prepare = None
        codes = rcode.split("|")
        status = ecode if "0xff" in codes else "OK"
        if current[1] is None or current[1] == "OK":
            current[1] = status
for s, status in entries:
    print("summary", s)
    if status is not None:
        print("status", status)
