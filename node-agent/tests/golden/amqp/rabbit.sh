# Sourced by the AMQP record scripts and tests: a throwaway RabbitMQ node (Debian's rabbitmq-server)
# on 127.0.0.1 or an address given, with its own mnesia and log directories, node name, Erlang
# distribution and epmd ports, so that concurrent runs and an installed service do not collide.
# The caller stops it with rabbit_stop on every exit path (trap).
#   rabbit_start PORT DIR [ADDRESS]
rabbit_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
rabbit_start() {
  local port=$1 dir=$2 addr=${3:-127.0.0.1}
  command -v /usr/lib/rabbitmq/bin/rabbitmq-server >/dev/null ||
    { echo "rabbitmq-server is not installed (apt-get install rabbitmq-server)" >&2; return 1; }
  mkdir -p "$dir/mnesia" "$dir/log" "$dir/home"
  export HOME="$dir/home" RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" \
    RABBITMQ_NODENAME="shark$port@localhost" RABBITMQ_NODE_PORT=$port RABBITMQ_NODE_IP_ADDRESS=$addr \
    RABBITMQ_DIST_PORT=$(rabbit_free_port) ERL_EPMD_PORT=$(rabbit_free_port) \
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/plugins" RABBITMQ_PID_FILE="$dir/rabbit.pid" \
    RABBITMQ_CONFIG_FILE="$dir/rabbitmq" RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config" \
    RABBITMQ_CONF_ENV_FILE="$dir/env" ERL_CRASH_DUMP="$dir/erl_crash.dump"
  echo "[]." >"$dir/plugins"
  # guest may log in from any address (the e2e clients are in another network namespace).
  echo "loopback_users = none" >"$dir/rabbitmq.conf"
  : >"$dir/env"
  /usr/lib/rabbitmq/bin/rabbitmq-server >"$dir/server.out" 2>&1 &
  RABBIT_PID=$!
  for _ in $(seq 120); do
    python3 -c "import socket; socket.create_connection(('$addr', $port), 0.5)" 2>/dev/null && return 0
    kill -0 "$RABBIT_PID" 2>/dev/null || break
    sleep 0.5
  done
  echo "rabbitmq did not start: $(tail -20 "$dir/server.out")" >&2
  return 1
}
rabbit_stop() {
  [ -n "${RABBIT_PID:-}" ] || return 0
  /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBITMQ_NODENAME" stop >/dev/null 2>&1 || kill "$RABBIT_PID" 2>/dev/null || true
  wait "$RABBIT_PID" 2>/dev/null || true
  epmd -port "$ERL_EPMD_PORT" -kill >/dev/null 2>&1 || true
  RABBIT_PID=
}
