#!/usr/bin/env bash
# Regenerates the capture files in this directory from real loopback traffic.
# Needs root (tcpdump), python3 (+ scapy for vlan.pcap), curl, tshark's editcap and mergecap.
#
# Traffic: HTTP (python3 -m http.server) over IPv4 and IPv6 fetched with curl, and UDP
# request/response datagrams over IPv4 and IPv6, captured at once by
#   tcpdump -i lo                       -> lo.pcap            (Ethernet, microseconds)
#   tcpdump -i lo -s 96                 -> lo-snap96.pcap     (payloads cut by the snap length)
#   tcpdump -i any -y LINUX_SLL2 (ns)   -> any-sll2.pcap      (Linux cooked v2, nanoseconds)
#   tcpdump -i any -y LINUX_SLL         -> any-sll.pcap       (Linux cooked v1)
# then converted:
#   editcap -F nsecpcap lo.pcap         -> lo-nsec.pcap
#   editcap -F pcapng lo.pcap           -> lo.pcapng
#   mergecap lo.pcap any-sll2.pcap      -> two-interfaces.pcapng (Ethernet + SLL2 interfaces; the
#                                          same IP packets seen at two capture points)
#   cat lo.pcapng any-sll.pcapng        -> two-sections.pcapng
# and derived by craft.py (see there): lo-be.pcap, rawip.pcap, null.pcap, crafted.pcapng, vlan.pcap.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

HTTP4=47080 HTTP6=47081 UDP=47053
filter="port $HTTP4 or port $HTTP6 or port $UDP"

mkdir "$work/www"
python3 -c 'import sys; sys.stdout.write("".join(f"line {i}: kubectl-shark test page\n" for i in range(120)))' >"$work/www/page.txt"
echo '<html><body>hello</body></html>' >"$work/www/index.html"

(cd "$work/www" && exec python3 -m http.server "$HTTP4" --bind 127.0.0.1) >/dev/null 2>&1 &
pids+=($!)
(cd "$work/www" && exec python3 -m http.server "$HTTP6" --bind ::1) >/dev/null 2>&1 &
pids+=($!)
python3 - "$UDP" >/dev/null 2>&1 <<'PY' &
import select, socket, sys
port = int(sys.argv[1])
socks = []
for family, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((addr, port))
    socks.append(s)
while True:
    for s in select.select(socks, [], [])[0]:
        data, peer = s.recvfrom(65535)
        s.sendto(b"answer to " + data, peer)
PY
pids+=($!)
# Wait until the servers answer (before capturing, so the captures hold only the test traffic).
for url in "http://127.0.0.1:$HTTP4/" "http://[::1]:$HTTP6/"; do
    for _ in $(seq 100); do curl -s -g -o /dev/null "$url" && break; sleep 0.1; done
done

capture() { # file, tcpdump args...
    local file=$1
    shift
    tcpdump -Z root -U -w "$work/$file" "$@" "$filter" 2>"$work/$file.log" &
    pids+=($!)
}
capture lo.pcap -i lo
capture lo-snap96.pcap -i lo -s 96
capture any-sll2.pcap -i any -y LINUX_SLL2 --time-stamp-precision=nano
capture any-sll.pcap -i any -y LINUX_SLL
# Wait until every tcpdump is listening.
for f in lo.pcap lo-snap96.pcap any-sll2.pcap any-sll.pcap; do
    for _ in $(seq 50); do grep -q listening "$work/$f.log" 2>/dev/null && break; sleep 0.1; done
done
sleep 0.5

curl -s -o /dev/null "http://127.0.0.1:$HTTP4/"
curl -s -o /dev/null "http://127.0.0.1:$HTTP4/page.txt"
curl -s -o /dev/null -I "http://127.0.0.1:$HTTP4/index.html"
curl -s -o /dev/null -g "http://[::1]:$HTTP6/page.txt"
curl -s -o /dev/null -g "http://[::1]:$HTTP6/missing"
python3 - "$UDP" <<'PY'
import socket, sys
port = int(sys.argv[1])
for family, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(2)
    for i, size in enumerate((1, 40, 300)):
        s.sendto(bytes([65 + i]) * size, (addr, port))
        s.recvfrom(65535)
PY
sleep 1

# Stop the captures (SIGINT flushes them), then the servers.
for pid in "${pids[@]:3}"; do kill -INT "$pid"; done
for pid in "${pids[@]:3}"; do wait "$pid" || true; done

cd "$work"
editcap -F nsecpcap lo.pcap lo-nsec.pcap
editcap -F pcapng lo.pcap lo.pcapng
editcap -F pcapng any-sll.pcap any-sll.pcapng
mergecap -F pcapng -w two-interfaces.pcapng lo.pcap any-sll2.pcap
cat lo.pcapng any-sll.pcapng >two-sections.pcapng
python3 "$here/craft.py" lo.pcap .

for f in lo.pcap lo-snap96.pcap any-sll2.pcap any-sll.pcap lo-nsec.pcap lo.pcapng two-interfaces.pcapng \
    two-sections.pcapng lo-be.pcap rawip.pcap null.pcap crafted.pcapng vlan.pcap; do
    cp "$f" "$here/$f"
done
ls -l "$here"
