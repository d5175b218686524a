# Shared by node-agent/tests/golden/*/record: a work directory and a loopback capture, both removed
# or stopped on every exit path; ports chosen free per run so concurrent runs do not collide.
set -euo pipefail
GOLDEN_WORK=$(mktemp -d "${TMPDIR:-/tmp}/golden.XXXXXX")
GOLDEN_PIDS=()
golden_cleanup() {
  for pid in "${GOLDEN_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$GOLDEN_WORK"
}
trap golden_cleanup EXIT INT TERM
# A TCP/UDP port nobody listens on now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# Starts tcpdump on lo for FILTER into FILE and waits until it captures.
start_capture() {
  local file=$1 filter=$2
  # A large buffer: bursts of small packets (a gRPC call, HTTP/2 streams) overflow the default one.
  tcpdump -i lo -B 32768 --immediate-mode -w "$file" "$filter" >"$GOLDEN_WORK/tcpdump.log" 2>&1 &
  GOLDEN_CAPTURE_PID=$!
  GOLDEN_PIDS+=("$GOLDEN_CAPTURE_PID")
  for _ in $(seq 50); do grep -q "listening on" "$GOLDEN_WORK/tcpdump.log" && return 0; sleep 0.1; done
  echo "tcpdump did not start: $(cat "$GOLDEN_WORK/tcpdump.log")" >&2; return 1
}
stop_capture() {
  sleep 1.5  # TPACKET_V3 hands packets over block by block: let the last block retire
  kill -INT "$GOLDEN_CAPTURE_PID" 2>/dev/null || true
  wait "$GOLDEN_CAPTURE_PID" 2>/dev/null || true
}
tshark_fields() { tshark -o tcp.reassemble_out_of_order:TRUE "$@" 2>/dev/null; }
