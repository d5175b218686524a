# Sourced: a throw-away PostgreSQL 15 cluster (Debian's postgresql-15) under a temporary
# directory, run by the postgres user on 127.0.0.1:$PG_PORT, stopped and removed on every exit
# path (the caller's EXIT trap must call pg_cluster_stop). Host logins use SCRAM-SHA-256 with the
# password $PG_PASSWORD for the user postgres.
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PASSWORD=${PG_PASSWORD:-golden-secret}
pg_cluster_start() {
  local port=$1 listen=${2:-127.0.0.1}
  [ -x "$PG_BIN/initdb" ] || { echo "no $PG_BIN/initdb: apt-get install postgresql" >&2; return 1; }
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pgcluster.XXXXXX")
  chown postgres "$PG_DIR"
  printf '%s\n' "$PG_PASSWORD" >"$PG_DIR/pw"
  chown postgres "$PG_DIR/pw"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --pwfile="$PG_DIR/pw" \
    --auth-local=trust --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; return 1; }
  # Clients in another network namespace (the e2e test, the benchmark) log in over IPv4 too.
  echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PG_DIR/data/pg_hba.conf"
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-p $port -k $PG_DIR -c listen_addresses=$listen -c fsync=off" start >/dev/null \
    || { cat "$PG_DIR/server.log" >&2; return 1; }
  PG_PORT=$port
}
pg_cluster_stop() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}
