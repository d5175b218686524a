"""PostgreSQL end to end: Debian's PostgreSQL 15 in the `srv` namespace on port 6543 (not 5432: it
must be found by content), driven from `cli` by node-agent/tests/golden/postgresql/scenario.py
(psql: simple queries, a multi-statement Query, errors, COPY TO; psycopg 3: extended protocol with
binary parameters, prepared statements, COPY FROM, LISTEN/NOTIFY, a failing pipeline, and a
serialization failure 40001 between two sessions) and by pgbench (select-only). The oracle is the
clients' own record (scenario.py writes each statement and its command tag or SQLSTATE) and
pgbench's transaction count.

- offline `view -o json`: every statement the clients sent appears exactly once, in order per
  connection, with its status and outcome; pgbench's 40 SELECTs are all there;
- live `local -i <bridge> -o json` during the same traffic gives the same entries;
- impaired captures (tests/tools/impair.py: reorder, duplicate, overlap, mixed) give the same
  entries; with a segment dropped, whatever comes out is still true (no statement paired with
  another's status);
- captures cut mid-connection (editcap: the first N frames removed) never invent SQL or pair a
  statement with a wrong status;
- the startup's SCRAM data is redacted by default and shown with --no-redact;
- the filter examples of docs/entry.md select what they say.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from capture import LiveShark, Tcpdump, run_view
from topology import TOOLS, Topology, require_environment

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "node-agent" / "tests" / "golden" / "postgresql"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PORT = 6543
PASSWORD = "golden-secret"
PGBENCH_TX = (2, 20)  # clients, transactions each
REDACTED = "[REDACTED]"


def sh(topo, pod, script, **kw):
    return topo.exec(pod, ["bash", "-c", script], **kw)


@pytest.fixture(scope="module")
def pg():
    for tool in ("tshark", "editcap", "pgbench", "psql"):
        assert subprocess.run(["which", tool], capture_output=True).returncode == 0, f"{tool} missing"
    assert (PG_BIN / "initdb").exists(), "apt-get install postgresql (PostgreSQL 15) first"
    require_environment()
    topo = Topology(pods_wanted=("srv", "cli"))
    topo.start()
    pg_dir = None
    try:
        ip = topo.srv.ip4
        out = sh(topo, "srv", f"source {GOLDEN}/pg-cluster.sh && pg_cluster_start {PORT} {ip} && echo $PG_DIR")
        pg_dir = out.stdout.strip().splitlines()[-1]
        env = dict(os.environ, PGPASSWORD=PASSWORD)
        bench = ["pgbench", "-h", ip, "-p", str(PORT), "-U", "postgres"]
        topo.exec("cli", bench + ["-i", "-q", "-s", "1", "postgres"], env=env)
        work = topo.workdir
        pcap, record = work / "pg.pcap", work / "pg.record"
        live = LiveShark(topo, work, ifaces=[topo.bridge], name="pglive").start()
        cap = Tcpdump(topo, topo.bridge, pcap).start()
        try:
            topo.exec("cli", [sys.executable, str(GOLDEN / "scenario.py"), str(PORT), str(record), ip,
                              "serialization"])
            c, t = PGBENCH_TX
            topo.exec("cli", bench + ["-n", "-S", "-c", str(c), "-t", str(t), "postgres"], env=env)
        finally:
            cap.stop()
            live_result = live.stop()
        cap.assert_clean()
        yield {"topo": topo, "pcap": pcap, "record": [json.loads(l) for l in record.read_text().splitlines()],
               "live": live_result, "work": work}
    finally:
        if pg_dir:
            subprocess.run(["ip", "netns", "exec", topo.srv.netns, "runuser", "-u", "postgres", "--",
                            str(PG_BIN / "pg_ctl"), "-D", f"{pg_dir}/data", "-m", "immediate", "-w", "stop"],
                           capture_output=True)
            subprocess.run(["rm", "-rf", pg_dir])
        topo.stop()


def pg_entries(result):
    assert result.rc == 0, result.describe()
    assert not result.bad_lines, result.describe()
    return [e for e in result.entries if e.get("protocol") == "postgresql"]


def connections(entries):
    """Entries per client port, connections in order of their first entry, entries by time."""
    by = defaultdict(list)
    for e in entries:
        by[e["src"]["port"]].append(e)
    conns = sorted(by.values(), key=lambda es: min(x["ts"] for x in es))
    return [sorted(es, key=lambda x: x["ts"]) for es in conns]


def statements(conn):
    return [(e["request"]["query"], e["status"]) for e in conn if e["request"].get("query") is not None]


def wire_sql(query):
    """psycopg sends %s placeholders as $1, $2, ..."""
    parts = query.split("%s")
    return parts[0] + "".join(f"${i}{p}" for i, p in enumerate(parts[1:], 1))


def record_by_label(rec):
    by = defaultdict(list)
    for r in rec:
        by[r["conn"]].append((wire_sql(r["query"]), r["status"]))
    return by


LABELS = ["psql", "psql-c", "psycopg", "pipeline", "serial-a", "serial-b"]


@pytest.fixture(scope="module")
def offline(pg):
    return pg_entries(run_view([pg["pcap"]]))


def is_pgbench(conn):
    return any("pgbench_accounts" in (q or "") for q, _ in statements(conn))


def test_every_statement_once_in_order_with_its_outcome(pg, offline):
    conns = connections(offline)
    scenario = [c for c in conns if not is_pgbench(c) and c[0]["summary"].startswith("STARTUP")]
    # pgbench -i ran before the capture; the scenario's connections come first, pgbench's after.
    want = record_by_label(pg["record"])
    assert len(scenario) >= len(LABELS), [c[0]["summary"] for c in conns]
    for label, conn in zip(LABELS, scenario):
        assert statements(conn) == want[label], label
    for e in offline:
        code = (e.get("response") or {}).get("error", {}).get("code")
        if code == "40001":
            assert e["outcome"] == "server_error"
        elif code:
            assert e["outcome"] == "client_error" and e["status"] == code
    # pgbench -S: each transaction is one `SELECT abalance FROM pgbench_accounts WHERE aid = N;`.
    selects = [e for e in offline if (e["request"].get("query") or "").startswith("SELECT abalance FROM pgbench_accounts")]
    c, t = PGBENCH_TX
    assert len(selects) == c * t
    assert all(e["status"] == "SELECT 1" and e["outcome"] == "ok" for e in selects)
    assert all(e["dst"]["port"] == PORT for e in offline)


def key(e):
    return (e["src"]["port"], e["summary"], e["status"], e["outcome"])


def test_live_equals_offline(pg, offline):
    live = pg_entries(pg["live"])
    assert Counter(map(key, live)) == Counter(map(key, offline))


IMPAIR = {"reorder": ["reorder", "--window", "6"], "duplicate": ["duplicate", "--fraction", "0.2"],
          "overlap": ["overlap", "--fraction", "0.3"], "mixed": ["mixed"]}


def impair(pg, *args):
    out = pg["work"] / f"impaired-{'-'.join(args)}.pcap"
    rep = pg["work"] / f"impaired-{'-'.join(args)}.json"
    subprocess.run([sys.executable, str(TOOLS / "impair.py"), str(pg["pcap"]), str(out), "--mode", *args, "--seed", "7",
                    "--report", str(rep)], check=True, capture_output=True)
    return out, json.loads(rep.read_text())


@pytest.mark.parametrize("variant", sorted(IMPAIR))
def test_impaired_captures_give_the_same_entries(pg, offline, variant):
    out, _ = impair(pg, IMPAIR[variant][0], *IMPAIR[variant][1:])
    got = pg_entries(run_view([out]))
    assert Counter(map(key, got)) == Counter(map(key, offline))


def honest(got_conns, offline_conns):
    """Every (query, status) with both present is in the same connection's clean list, in order."""
    clean = {c[0]["src"]["port"]: statements(c) for c in offline_conns}
    for conn in got_conns:
        want = clean[conn[0]["src"]["port"]]
        at = 0
        for pair in statements(conn):
            if pair[1] is None:
                continue
            assert pair in want[at:], (pair, want)
            at += want[at:].index(pair) + 1


def test_dropped_segments_never_mispair(pg, offline):
    out, rep = impair(pg, "drop", "--drop-conns", "4")
    assert rep.get("damaged"), rep
    honest(connections(pg_entries(run_view([out]))), connections(offline))


@pytest.mark.parametrize("cut", [3, 9, 17, 30, 55, 90])
def test_mid_connection_captures_never_invent(pg, offline, cut):
    out = pg["work"] / f"cut-{cut}.pcap"
    subprocess.run(["editcap", "-r", str(pg["pcap"]), str(out), f"{cut + 1}-1000000"], check=True,
                   capture_output=True)
    got = pg_entries(run_view([out]))
    honest(connections(got), connections(offline))
    assert got, "nothing after the cut"


def test_scram_data_is_redacted_unless_no_redact(pg, offline):
    startups = [e for e in offline if e["summary"].startswith("STARTUP")]
    assert startups and all(e["request"]["sasl_data"] == REDACTED for e in startups)
    raw = [e for e in pg_entries(run_view([pg["pcap"]], extra=["--no-redact"])) if e["summary"].startswith("STARTUP")]
    assert raw and all(e["request"]["sasl_data"].startswith("c=biws,r=") for e in raw)


FILTERS = {
    'postgresql and response.error.code == "40001"':
        lambda e: (e.get("response") or {}).get("error", {}).get("code") == "40001",
    'postgresql and outcome == "client_error"': lambda e: e["outcome"] == "client_error",
    'postgresql and request.query =~ "(?i)^insert"': lambda e: (e["request"].get("query") or "").lower().startswith("insert"),
    "postgresql and response.row_count > 2": lambda e: (e.get("response") or {}).get("row_count", 0) > 2,
}


@pytest.mark.parametrize("expr", sorted(FILTERS))
def test_filter_examples(pg, offline, expr):
    got = pg_entries(run_view([pg["pcap"]], extra=["--filter", expr]))
    want = [e for e in offline if FILTERS[expr](e)]
    assert want, f"the capture has nothing for {expr}"
    assert Counter(map(key, got)) == Counter(map(key, want))
    if "40001" in expr:
        assert [e["request"]["query"] for e in got] == ["UPDATE t SET name = 'a-was-here' WHERE id = 1"]
