"""MySQL end to end: Debian's mariadbd in the server pod (temporary datadir from mariadb-install-db,
--skip-ssl, stopped with the topology), clients in the client pods: PyMySQL (text protocol), and
mysql-connector-python with server-side prepared statements (prepared=True), and the `mariadb`
command-line client. The oracle is the clients' own record of what they ran and what the server
told them (statement, outcome: "OK" or the error number, rows fetched, parameters bound).

- `view --output json` on a bridge capture: every statement each client ran appears exactly once,
  in order per connection, with the right outcome (1146, 1064, 1062 included), rows and parameters.
- `local -i <bridge> --output json` while the workload runs: the same.
- impaired captures (reordered, duplicated, overlapping): the same; with segments dropped: the
  connections that lost bytes report nothing false (every query entry carries SQL the client sent,
  with the outcome the client got, or no response).
- a capture started mid-connection (editcap) between two waves on long-lived connections: every
  statement of the second wave appears exactly once with its outcome, nothing of the first.
- the password never appears, with or without --no-redact; the documented filter examples.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections import defaultdict
from pathlib import Path

import pytest

from capture import LiveShark, record_on_bridge, run_view
from topology import TOOLS

PORT = 3306
PASSWORD = "e2e-secret-pass"

WORKLOAD = textwrap.dedent('''
    import json, sys, time
    import pymysql, pymysql.constants.CLIENT as CL
    import mysql.connector

    host, out, wave = sys.argv[1], sys.argv[2], sys.argv[3]
    log = []

    def run(conn_name, cur, sql, args=None):
        item = {"conn": conn_name, "sql": sql, "params": [str(a) for a in args] if args else None}
        try:
            cur.execute(sql, args) if args is not None else cur.execute(sql)
            item["rows"] = [list(map(str, r)) for r in cur.fetchall()] if cur.description else None
            item["outcome"] = "OK"
        except (pymysql.err.MySQLError, mysql.connector.Error) as e:
            item["outcome"] = str(e.args[0] if isinstance(e, pymysql.err.MySQLError) else e.errno)
        log.append(item)

    def connections():
        py = pymysql.connect(host=host, port=3306, user="e2e", password="PASSWORD", database="shop",
                             client_flag=CL.MULTI_STATEMENTS, autocommit=True)
        my = mysql.connector.connect(host=host, port=3306, user="e2e", password="PASSWORD", database="shop",
                                     use_pure=True, ssl_disabled=True, autocommit=True)
        return py, my

    def wave_of(tag, py, my):
        c = py.cursor()
        run("py", c, f"INSERT INTO items (name, qty) VALUES ('{tag}-a', 1), ('{tag}-b', 2)")
        run("py", c, f"SELECT id, name, qty FROM items WHERE name LIKE '{tag}-%' ORDER BY id")
        run("py", c, f"SELECT * FROM no_such_table_{tag}")
        run("py", c, f"SELEC {tag}")
        run("py", c, f"INSERT INTO items (name, qty) VALUES ('{tag}-a', 3)")
        for i in range(20):
            run("py", c, f"SELECT {i} AS n, '{tag}' AS tag")
        p = my.cursor(prepared=True)
        run("my", p, "SELECT name, qty FROM items WHERE qty >= ? AND name LIKE ? ORDER BY id", (2, f"{tag}%"))
        run("my", p, "INSERT INTO items (name, qty) VALUES (?, ?)", (f"{tag}-p", 7))
        run("my", p, "INSERT INTO items (name, qty) VALUES (?, ?)", (f"{tag}-p", 8))
        p.close()

    if wave == "one":
        py, my = connections()
        wave_of("w1", py, my)
        py.close(); my.close()
    else:
        # Two waves on long-lived connections, a pause between them (the mid-connection cut).
        py, my = connections()
        wave_of("x1", py, my)
        log.append({"mark": time.time()})
        time.sleep(2)
        wave_of("x2", py, my)
        py.close(); my.close()
    json.dump(log, open(out, "w"))
''').replace("PASSWORD", PASSWORD)


@pytest.fixture(scope="module")
def mariadb(topology):
    root = topology.workdir / "mariadb"
    root.mkdir()
    data, sock = root / "data", root / "mysqld.sock"
    subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root",
                    "--auth-root-authentication-method=normal", "--skip-test-db"],
                   check=True, capture_output=True, timeout=300)
    srv = topology.srv
    proc = topology.popen("srv", ["mariadbd", "--no-defaults", f"--datadir={data}", f"--socket={sock}",
                                  f"--port={PORT}", f"--bind-address={srv.ip4}", "--skip-ssl", "--user=root",
                                  f"--pid-file={root / 'mysqld.pid'}", "--skip-log-bin",
                                  "--innodb-buffer-pool-size=16M"], log=root / "mysqld.log")
    for _ in range(150):
        if sock.exists():
            break
        assert proc.poll() is None, (root / "mysqld.log").read_text()[-2000:]
        time.sleep(0.1)
    assert sock.exists(), "mariadbd did not start"
    topology.exec("srv", ["mariadb", "--no-defaults", "-S", sock, "-u", "root", "-e",
                          f"CREATE DATABASE shop; CREATE USER 'e2e'@'%' IDENTIFIED BY '{PASSWORD}';"
                          "GRANT ALL ON shop.* TO 'e2e'@'%';"
                          "CREATE TABLE shop.items (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(32) UNIQUE, qty INT)"])
    script = root / "workload.py"
    script.write_text(WORKLOAD)
    yield {"script": script, "srv": srv}
    # The topology stops the server with everything else it started.


def workload(topology, mariadb, out: Path, wave="one"):
    topology.exec("cli", [sys.executable, mariadb["script"], mariadb["srv"].ip4, out, wave], timeout=300)
    # The mariadb command-line client too: one query, its own connection.
    cli = topology.exec("cli2", ["mariadb", "--no-defaults", "-h", mariadb["srv"].ip4, "-u", "e2e",
                                 f"-p{PASSWORD}", "shop", "--skip-ssl", "-e", "SELECT COUNT(*) AS n FROM items"],
                        timeout=60)
    log = json.loads(out.read_text())
    log.append({"conn": "cli", "sql": "SELECT COUNT(*) AS n FROM items", "params": None, "outcome": "OK",
                "rows": [[cli.stdout.split()[-1]]]})
    return log


@pytest.fixture(scope="module")
def recorded(topology, mariadb, workdir):
    pcap = workdir / "mysql.pcap"
    log, _ = record_on_bridge(topology, pcap, lambda t: workload(t, mariadb, workdir / "client-1.json"))
    return pcap, log


def mysql_entries(entries):
    return [e for e in entries if e.get("protocol") == "mysql"]


def statement_of(e):
    """The statement an entry reports as (sql, params): COM_QUERY and COM_STMT_EXECUTE only."""
    req = e["request"]
    if req.get("command") == "COM_QUERY":
        return req.get("query"), None
    if req.get("command") == "COM_STMT_EXECUTE":
        return req.get("query"), [v if isinstance(v, str) else str(v) for v in req.get("params") or []]
    return None


def housekeeping(e):
    """Statements the client libraries send on their own (SET NAMES, autocommit, the CLI's version
    query): not in the record, not compared."""
    q = (e["request"].get("query") or "").lower()
    return e["request"].get("command") == "COM_QUERY" and (q.startswith("set ") or q.startswith("select @@"))


def by_connection(entries):
    conns = defaultdict(list)
    for e in mysql_entries(entries):
        if statement_of(e) is not None and not housekeeping(e):
            conns[(e["src"]["ip"], e["src"]["port"])].append(e)
    return conns


def check_against_record(entries, log, label, allow_missing_conns=()):
    """Every statement of the record appears exactly once, in order per connection, with its outcome."""
    items = [i for i in log if "sql" in i]
    conns = by_connection(entries)
    problems = []
    # Each client connection's statements are a contiguous order; match each record connection to the
    # captured connection whose statements are exactly its statements.
    for name in sorted({i["conn"] for i in items}):
        want = [(i["sql"], i["params"], i["outcome"], i.get("rows")) for i in items if i["conn"] == name]
        found = None
        for key, es in conns.items():
            got = [(*statement_of(e), e["status"], e) for e in es]
            if [(g[0], g[1]) for g in got] == [(w[0], w[1]) for w in want]:
                found = (key, got)
        if found is None:
            problems.append(f"{label}: no connection carries exactly the statements of {name}: "
                            f"{[w[0] for w in want][:5]}... vs {[[statement_of(e)[0] for e in es][:5] for es in conns.values()]}")
            continue
        for w, g in zip(want, found[1]):
            e = g[3]
            if g[2] != w[2]:
                problems.append(f"{label}: {w[0]!r}: status {g[2]} but the client got {w[2]}")
            want_outcome = "ok" if w[2] == "OK" else "client_error"
            if e["outcome"] != want_outcome:
                problems.append(f"{label}: {w[0]!r}: outcome {e['outcome']}")
            if w[3] and w[2] == "OK":
                rows = [[v if isinstance(v, str) else ("None" if v is None else str(v)) for v in r]
                        for r in (e["response"] or {}).get("rows", [])]
                if rows != w[3][:10] or e["response"].get("row_count") != len(w[3]):
                    problems.append(f"{label}: {w[0]!r}: rows {rows} vs the client's {w[3]}")
    assert not problems, "\n".join(problems[:20])


def test_view_every_statement_once_in_order_with_its_outcome(recorded):
    pcap, log = recorded
    res = run_view([pcap])
    assert res.rc == 0 and not res.bad_lines, res.describe()
    check_against_record(res.entries, log, "view")
    logins = [e for e in mysql_entries(res.entries) if e["request"]["command"] == "handshake"]
    assert len(logins) == 3 and all(e["request"].get("user") == "e2e" and e["status"] == "OK" for e in logins)


def test_live_local_equals_the_record(topology, mariadb, workdir):
    live = LiveShark(topology, workdir, ifaces=(topology.bridge,), name="mysql-live").start(settle=2.0)
    try:
        log = workload(topology, mariadb, workdir / "client-live.json")
        time.sleep(1.5)
    finally:
        res = live.stop()
    assert res.rc == 0 and not res.bad_lines, res.describe()
    check_against_record(res.entries, log, "local")


IMPAIR = {
    "reorder": ["--mode", "reorder", "--seed", "31", "--window", "10"],
    "duplicate": ["--mode", "duplicate", "--seed", "32", "--fraction", "0.25"],
    "overlap": ["--mode", "overlap", "--seed", "33", "--fraction", "0.3"],
}


@pytest.mark.parametrize("variant", list(IMPAIR))
def test_impaired_captures_equal_the_record(recorded, workdir, variant):
    pcap, log = recorded
    out = workdir / f"mysql-{variant}.pcap"
    p = subprocess.run([sys.executable, str(TOOLS / "impair.py"), str(pcap), str(out), *IMPAIR[variant],
                        "--report", str(workdir / f"mysql-{variant}.json")], capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    res = run_view([out])
    assert res.rc == 0 and not res.bad_lines, res.describe()
    check_against_record(res.entries, log, f"view {variant}")


def test_dropped_segments_report_nothing_false(recorded, workdir):
    pcap, log = recorded
    out, rep = workdir / "mysql-drop.pcap", workdir / "mysql-drop.json"
    p = subprocess.run([sys.executable, str(TOOLS / "impair.py"), str(pcap), str(out), "--mode", "drop",
                        "--seed", "34", "--drop-conns", "3", "--report", str(rep)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    res = run_view([out])
    assert res.rc == 0 and not res.bad_lines, res.describe()
    truth = {(i["sql"], tuple(i["params"] or ())): i["outcome"] for i in log if "sql" in i}
    for e in mysql_entries(res.entries):
        st = statement_of(e)
        if st is None or st[0] is None or housekeeping(e):
            continue
        key = (st[0], tuple(st[1] or ()))
        assert key in truth, f"an entry with a statement nobody ran: {e}"
        if e["response"] is not None:
            assert e["status"] == truth[key], f"{e['summary']}: {e['status']} vs {truth[key]}"
        else:
            assert e["outcome"] == "no_response" and e["notes"], e


def test_mid_connection_capture(topology, mariadb, workdir):
    pcap, cut = workdir / "mysql-waves.pcap", workdir / "mysql-waves-cut.pcap"
    log, _ = record_on_bridge(topology, pcap,
                              lambda t: workload(t, mariadb, workdir / "client-waves.json", wave="two"))
    mark = next(i["mark"] for i in log if "mark" in i)
    start = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(mark + 1.0))
    subprocess.run(["editcap", "-A", start, str(pcap), str(cut)], check=True, capture_output=True,
                   env={"TZ": "UTC", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"})
    res = run_view([cut])
    assert res.rc == 0 and not res.bad_lines, res.describe()
    entries = mysql_entries(res.entries)
    queries = [e for e in entries if e["request"].get("command") == "COM_QUERY"]
    assert not any("x1" in (e["request"].get("query") or "") for e in queries), "first-wave SQL invented"
    wave2 = [i for i in log if "sql" in i and i["conn"] == "py" and "x2" in i["sql"]]
    for item in wave2:
        got = [e for e in queries if e["request"].get("query") == item["sql"]]
        assert len(got) == 1, f"{item['sql']!r} appears {len(got)} times"
        assert got[0]["status"] == item["outcome"], (got[0], item)
    # Executions of statements prepared before the cut: the id and outcome, never invented SQL.
    for e in entries:
        if e["request"].get("command") == "COM_STMT_EXECUTE" and "query" not in e["request"]:
            assert any("prepared before the capture" in n for n in e.get("notes", [])), e


def test_password_never_shown_and_filters(recorded):
    pcap, log = recorded
    for extra in ((), ("--no-redact",)):
        res = run_view([pcap], extra=extra)
        assert res.rc == 0 and PASSWORD not in res.stdout, res.describe()
    errors = [i for i in log if "sql" in i and i["outcome"] != "OK"]
    cases = {
        'mysql and status == "1146"': sum(1 for i in errors if i["outcome"] == "1146"),
        "mysql and response.error.code == 1062": sum(1 for i in errors if i["outcome"] == "1062"),
        'mysql and outcome == "client_error"': len(errors),
        'mysql and request.command == "COM_STMT_EXECUTE"': sum(1 for i in log if i.get("params")),
    }
    everything = mysql_entries(run_view([pcap]).entries)
    cases["mysql and elapsed_us > 100000"] = sum(1 for e in everything if (e.get("elapsed_us") or 0) > 100000)
    for f, n in cases.items():
        res = run_view([pcap], extra=("--filter", f))
        assert res.rc == 0, res.describe()
        assert len(mysql_entries(res.entries)) == n == len(res.entries), f"{f}: {len(res.entries)} entries, want {n}"
