"""The golden/unit-test PostgreSQL workload: psycopg 3 (extended protocol, binary parameters,
pipeline mode, prepared statements, COPY, LISTEN/NOTIFY) and psql (simple Query, several
statements in one string). Writes the clients' own record of every statement and its outcome
(command tag or SQLSTATE) as JSON lines to argv[2], in order per connection."""
import json
import subprocess
import sys

import psycopg
from psycopg import ClientCursor

port, record_path = int(sys.argv[1]), sys.argv[2]
host = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
# The end-to-end test adds a serialization failure (40001) between two sessions.
serialization = "serialization" in sys.argv[4:]
dsn = f"host={host} port={port} user=postgres password=golden-secret dbname=postgres sslmode=disable application_name=golden"
record = open(record_path, "w")


def rec(conn, query, status):
    record.write(json.dumps({"conn": conn, "query": query, "status": status}) + "\n")


def run(cur, conn, query, params=None, **kw):
    try:
        cur.execute(query, params, **kw)
        rec(conn, query, cur.statusmessage)
    except psycopg.Error as e:
        rec(conn, query, e.sqlstate)
        cur.connection.rollback()


# 1. psql: the simple query protocol, one Query string with several statements, errors.
psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=0", "-h", host, "-p", str(port), "-U", "postgres", "postgres"]
env = {"PGPASSWORD": "golden-secret", "PGSSLMODE": "prefer", "PATH": "/usr/bin:/bin"}
script = """CREATE TABLE t (id int PRIMARY KEY, name text);
INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, '<script>alert(1)</script>');
SELECT id, name FROM t ORDER BY id;
SELECT * FROM missing_table;
SELEC 1;
INSERT INTO t VALUES (1, 'dup');
SELECT 1 AS one; SELECT 2 AS two;
COPY t TO STDOUT;
"""
subprocess.run(psql, input=script, text=True, env=env, check=True, capture_output=True)
subprocess.run(psql + ["-c", "SELECT 10 AS ten; SELECT 20 AS twenty"], env=env, check=True, capture_output=True)
for q, s in [("CREATE TABLE t (id int PRIMARY KEY, name text)", "CREATE TABLE"),
             ("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, '<script>alert(1)</script>')", "INSERT 0 3"),
             ("SELECT id, name FROM t ORDER BY id", "SELECT 3"),
             ("SELECT * FROM missing_table", "42P01"),
             ("SELEC 1", "42601"),
             ("INSERT INTO t VALUES (1, 'dup')", "23505"),
             ("SELECT 1 AS one", "SELECT 1"),
             ("SELECT 2 AS two", "SELECT 1"),
             ("COPY t TO STDOUT", "COPY 3"),
             ("SELECT 10 AS ten", "SELECT 1"),
             ("SELECT 20 AS twenty", "SELECT 1")]:
    # psql's record: it ran each of these; the statuses are what PostgreSQL documents for them.
    rec("psql-c" if q in ("SELECT 10 AS ten", "SELECT 20 AS twenty") else "psql", q, s)

# 2. psycopg: extended protocol with binary parameters, prepared statements, errors, COPY FROM.
with psycopg.connect(dsn, autocommit=True) as conn:
    cur = conn.cursor(binary=True)
    run(cur, "psycopg", "SELECT %s::int4 + %s::int8 AS s, %s::text AS t, %s::bool AS b", (40, 2, "x", True))
    run(cur, "psycopg", "INSERT INTO t (id, name) VALUES (%s, %s)", (4, "d"))
    run(cur, "psycopg", "INSERT INTO t (id, name) VALUES (%s, %s)", (4, "dup"))
    run(cur, "psycopg", "SELECT name FROM t WHERE id = %s", (2,), prepare=True)
    run(cur, "psycopg", "SELECT name FROM t WHERE id = %s", (3,), prepare=True)
    run(cur, "psycopg", "SELECT * FROM nowhere WHERE id = %s", (1,))
    run(cur, "psycopg", "SELECT %s::numeric AS n, %s::float8 AS f, %s::date AS d", ("12.50", 1.5, "2024-02-29"))
    with cur.copy("COPY t (id, name) FROM STDIN") as copy:
        copy.write_row((10, "ten"))
        copy.write_row((11, "eleven"))
    rec("psycopg", "COPY t (id, name) FROM STDIN", cur.statusmessage)
    # The simple protocol from psycopg (client-side binding).
    ccur = ClientCursor(conn)
    run(ccur, "psycopg", "LISTEN ch")
    run(ccur, "psycopg", "NOTIFY ch, 'hello'")

# 3. psycopg pipeline mode: several statements before one Sync, one of them failing.
with psycopg.connect(dsn) as conn:
    try:
        with conn.pipeline():
            cur = conn.cursor()
            cur.execute("SELECT %s::int AS a", (1,))
            cur2 = conn.cursor()
            cur2.execute("SELECT 1/%s::int AS boom", (0,))
            cur3 = conn.cursor()
            cur3.execute("SELECT %s::int AS c", (3,))
    except psycopg.Error as e:
        pass
    rec("pipeline", "BEGIN", "BEGIN")
    rec("pipeline", "SELECT %s::int AS a", "SELECT 1")
    rec("pipeline", "SELECT 1/%s::int AS boom", "22012")
    rec("pipeline", "SELECT %s::int AS c", None)
    rec("pipeline", "COMMIT", "ROLLBACK")

# 4. A serialization failure: a REPEATABLE READ transaction updates a row another session changed.
if serialization:
    with psycopg.connect(dsn, autocommit=True) as a, psycopg.connect(dsn, autocommit=True) as b:
        ca, cb = ClientCursor(a), ClientCursor(b)
        run(ca, "serial-a", "BEGIN ISOLATION LEVEL REPEATABLE READ")
        run(ca, "serial-a", "SELECT name FROM t WHERE id = 1")
        run(cb, "serial-b", "UPDATE t SET name = 'b-was-here' WHERE id = 1")
        try:
            ca.execute("UPDATE t SET name = 'a-was-here' WHERE id = 1")
            rec("serial-a", "UPDATE t SET name = 'a-was-here' WHERE id = 1", ca.statusmessage)
        except psycopg.Error as e:
            rec("serial-a", "UPDATE t SET name = 'a-was-here' WHERE id = 1", e.sqlstate)
        run(ca, "serial-a", "ROLLBACK")
record.close()
