"""Kafka end to end: a real Apache Kafka broker (KRaft, tests/tools/kafka_broker.py) in one network
namespace, kafka-python producers (gzip, snappy, lz4, zstd) and a consumer group in another, on a
port that is not Kafka's (the dissector finds Kafka by content). Two client runs: today's API
versions (flexible encodings) and Kafka 2.1's (which tshark 4.0 decodes entirely).

Oracles: tshark 4.0's kafka dissector (every request PDU: client port, correlation id, API key and
version) and the clients' own record (every record key and value sent and read).

- `view --output json`: every request tshark sees is exactly one entry, in order per connection;
  every request but a connection's last has its response; records sent and read are in the
  Produce requests and Fetch responses; statuses of the 2.1 run equal tshark's.
- `local -i <veth> --output json` live during the traffic: the same entries.
- impaired captures (tests/tools/impair.py): reordered, duplicated, overlapping segments give the
  clean entries; a removed segment loses at most entries of the damaged connections, and nothing
  false comes out.
- a capture started mid-way (editcap): every entry is one of the clean ones, and the later
  requests of the long-lived connections are found.
- the documented filter (`--filter`) selects exactly the Produce requests to the topic.
- SASL PLAIN on a second listener: SaslAuthenticate's `auth_bytes` (user and password) redacted by
  default, shown with `--no-redact`.

Needs root, ip, tcpdump, tshark, editcap, java, mvn, kafka-python with its codec packages, and
SHARK_BIN (a kubectl-shark binary).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from capture import require_shark, run_view

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TOOLS = REPO / "tests" / "tools"
CLIENT = REPO / "node-agent" / "tests" / "golden" / "kafka" / "client.py"
sys.path.insert(0, str(TOOLS))
from kafka_broker import Broker  # noqa: E402

PORT = 29193
SASL_PORT = PORT + 2  # SASL_PLAINTEXT listener (PLAIN)
SASL_USER, SASL_PASSWORD = "alice", "alice-e2e-secret"
SASL_CLIENT = """
import sys
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers=sys.argv[1], security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                  sasl_plain_username=sys.argv[2], sasl_plain_password=sys.argv[3], client_id="e2e-sasl")
p.send("e2e-sasl", b"authenticated").get(20)
p.close()
"""
TOPIC_NEW, TOPIC_OLD = "e2e-today", "e2e-old"
FILTER = 'kafka and request.api == "Produce" and request.topics contains "%s"'


def sh(*args, check=True, **kw):
    return subprocess.run([str(a) for a in args], check=check, capture_output=True, text=True, **kw)


def require_tools():
    assert os.geteuid() == 0, "network namespaces and captures need root"
    for tool in ("ip", "tcpdump", "tshark", "editcap", "java", "mvn"):
        assert shutil.which(tool), f"{tool} is required (see tests/setup)"
    import kafka, snappy, lz4, zstandard  # noqa: F401,E401  (kafka-python and its codecs)


class Pair:
    """Two namespaces joined by a veth pair, named after a random run id."""

    def __init__(self):
        rid = "%06x" % random.getrandbits(24)
        self.srv, self.cli = f"shk-ks-{rid}", f"shk-kc-{rid}"
        self.vs, self.vc = f"ks{rid}", f"kc{rid}"
        net = random.randint(1, 250)
        self.ip_srv, self.ip_cli = f"10.213.{net}.1", f"10.213.{net}.2"

    def up(self):
        sh("ip", "netns", "add", self.srv)
        sh("ip", "netns", "add", self.cli)
        sh("ip", "link", "add", self.vs, "netns", self.srv, "type", "veth", "peer", "name", self.vc, "netns", self.cli)
        for ns, dev, ip in ((self.srv, self.vs, self.ip_srv), (self.cli, self.vc, self.ip_cli)):
            sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        return self

    def down(self):
        for ns in (self.srv, self.cli):
            sh("ip", "netns", "del", ns, check=False)


def client(pair, topic, api, out: Path):
    p = sh("ip", "netns", "exec", pair.cli, sys.executable, CLIENT, f"{pair.ip_srv}:{PORT}", topic,
           "gzip,snappy,lz4,zstd", api, timeout=300)
    out.write_text(p.stdout)
    return json.loads(p.stdout)


def tshark_requests(pcap):
    """(client port, correlation id, api key, api version) of every request PDU tshark sees, in
    capture order, and the statuses of the responses (first non-zero error) by (port, id)."""
    js = json.loads(sh("tshark", "-o", "tcp.reassemble_out_of_order:TRUE", "-r", pcap, "-d", f"tcp.port=={PORT},kafka",
                       "-Y", "kafka", "-T", "json", "--no-duplicate-keys").stdout)
    reqs, statuses = [], {}
    for p in js:
        layers = p["_source"]["layers"]
        tcp = layers["tcp"]
        pdus = layers["kafka"] if isinstance(layers["kafka"], list) else [layers["kafka"]]
        for pdu in pdus:
            flat = {}
            stack = [pdu]
            while stack:
                n = stack.pop()
                if isinstance(n, dict):
                    for k, v in n.items():
                        if k.startswith("kafka.") and not isinstance(v, (dict, list)):
                            flat.setdefault(k, v)
                        elif k == "kafka.error":
                            flat.setdefault("errors", []).extend(v if isinstance(v, list) else [v])
                        else:
                            stack.append(v)
                elif isinstance(n, list):
                    stack.extend(n)
            if "kafka.request_key" in flat:
                reqs.append((int(tcp["tcp.srcport"]), int(flat["kafka.correlation_id"]),
                             int(flat["kafka.request_key"]), int(flat["kafka.api_version"])))
    return reqs


def key(e):
    r = e["request"]
    return (e["src"]["port"], r["correlation_id"], r["api_key"], r["api_version"])


def kafka_entries(entries):
    return [e for e in entries if e["protocol"] == "kafka"]


def records(entries, api, where):
    out = Counter()
    for e in entries:
        if e["request"]["api"] != api or not e.get(where):
            continue
        for t in e[where].get("topic_data") or []:
            for p in t.get("partitions") or []:
                for b in ((p.get("records") or {}).get("batches") or []):
                    for r in b["records"]:
                        out[(r["key"], r["value"])] += 1
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    require_tools()
    require_shark()
    work = tmp_path_factory.mktemp("kafka")
    pair = Pair()
    broker = live = cap = None
    try:
        pair.up()
        broker = Broker(PORT, host=pair.ip_srv, netns=pair.srv, sasl_users={SASL_USER: SASL_PASSWORD}).start()
        pcap = work / "kafka.pcap"
        cap = subprocess.Popen(["ip", "netns", "exec", pair.srv, "tcpdump", "-i", pair.vs, "-B", "32768",
                                "--immediate-mode", "-w", str(pcap), f"tcp port {PORT} or tcp port {SASL_PORT}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        live_out = open(work / "live.jsonl", "w")
        live = subprocess.Popen(["ip", "netns", "exec", pair.srv, require_shark(), "local", "-i", pair.vs,
                                 "--output", "json"], stdout=live_out, stderr=subprocess.DEVNULL)
        time.sleep(3)
        new = client(pair, TOPIC_NEW, "", work / "new.json")
        old = client(pair, TOPIC_OLD, "2.1", work / "old.json")
        sh("ip", "netns", "exec", pair.cli, sys.executable, "-c", SASL_CLIENT, f"{pair.ip_srv}:{SASL_PORT}",
           SASL_USER, SASL_PASSWORD, timeout=120)
        time.sleep(2)
        for proc in (cap, live):
            proc.send_signal(2)
            proc.wait(60)
        live_out.close()
        cap = live = None
        yield {"work": work, "pcap": pcap, "pair": pair, "new": new, "old": old,
               "live": [json.loads(l) for l in (work / "live.jsonl").read_text().splitlines() if l.strip()]}
    finally:
        for proc in (cap, live):
            if proc and proc.poll() is None:
                proc.kill()
                proc.wait()
        if broker:
            broker.stop()
        pair.down()


@pytest.fixture(scope="module")
def all_entries(run):
    res = run_view([run["pcap"]])
    assert res.rc == 0, res.describe()
    return kafka_entries(res.entries)


@pytest.fixture(scope="module")
def clean(all_entries):
    """The entries of the plaintext listener (tshark is told that port is Kafka)."""
    return [e for e in all_entries if e["dst"]["port"] == PORT]


def test_view_has_every_request_once_in_order(run, clean):
    want = tshark_requests(run["pcap"])
    assert len(want) > 50
    got = [key(e) for e in clean]
    assert Counter(got) == Counter(want), f"tshark-only {Counter(want) - Counter(got)}; ours-only {Counter(got) - Counter(want)}"
    by_conn = defaultdict(list)
    for e in clean:
        by_conn[e["src"]["port"]].append(e)
    for port, es in by_conn.items():
        ids = [e["request"]["correlation_id"] for e in es]
        assert ids == sorted(ids), f"connection {port}: {ids}"
        for e in es[:-1]:
            assert e["outcome"] != "no_response", e
            assert e["status"] is not None, e
    # flexible versions are in use in today's run
    assert any(e["request"]["api"] == "Produce" and e["request"]["api_version"] >= 9 for e in clean)
    assert any(e["request"]["api"] == "Fetch" and e["request"]["api_version"] >= 12 for e in clean)


def test_records_are_what_the_clients_sent_and_read(run, clean):
    for run_name in ("new", "old"):
        sent = Counter(tuple(r) for r in run[run_name]["sent"])
        read = Counter(tuple(r) for r in run[run_name]["read"])
        assert sum(sent.values()) == 8 and read == sent
        assert records(clean, "Produce", "request") & sent == sent
        assert records(clean, "Fetch", "response") & read == read
    codecs = {b["compression"] for e in clean if e["request"]["api"] == "Produce"
              for t in e["request"]["topic_data"] for p in t["partitions"] for b in p["records"]["batches"]}
    assert codecs == {"gzip", "snappy", "lz4", "zstd"}


def test_statuses_of_a_known_error(run, clean):
    exists = [e for e in clean if e["request"]["api"] == "CreateTopics" and e["status"] == "TOPIC_ALREADY_EXISTS"]
    assert len(exists) == 2 and all(e["outcome"] == "client_error" for e in exists)


def test_live_equals_offline(run, clean):
    live = [e for e in kafka_entries(run["live"]) if e["dst"]["port"] == PORT]
    assert Counter(key(e) for e in live) == Counter(key(e) for e in clean)
    assert Counter((key(e), e["status"]) for e in live) == Counter((key(e), e["status"]) for e in clean)


@pytest.mark.parametrize("mode", ["reorder", "duplicate", "overlap", "drop"])
def test_impaired_captures(run, clean, mode):
    out = run["work"] / f"{mode}.pcap"
    rep = run["work"] / f"{mode}.json"
    sh(sys.executable, TOOLS / "impair.py", run["pcap"], out, "--mode", mode, "--report", rep, timeout=300)
    res = run_view([out])
    assert res.rc == 0, res.describe()
    got = [e for e in kafka_entries(res.entries) if e["dst"]["port"] == PORT]
    full = {key(e): (e["summary"], e["status"]) for e in clean}
    if mode != "drop":
        assert Counter(key(e) for e in got) == Counter(full.keys()), mode
        return
    damaged = json.loads(rep.read_text())["damaged"]
    damaged_ports = {d["client"][1] for d in damaged}
    for e in got:
        k = key(e)
        assert k in full, f"an entry that is not in the clean capture: {e}"
        if e["status"] is not None:
            assert (e["summary"], e["status"]) == full[k], e
    # Only requests of the damaged connections may be missing.
    missing = Counter(full.keys()) - Counter(key(e) for e in got)
    assert all(k[0] in damaged_ports for k in missing), (missing, damaged_ports)


def test_mid_connection_capture(run, clean):
    out = run["work"] / "mid.pcap"
    n = int(sh("capinfos", "-c", "-M", run["pcap"]).stdout.split()[-1])
    sh("editcap", "-r", run["pcap"], out, f"{n // 3}-{n}")
    res = run_view([out])
    assert res.rc == 0, res.describe()
    got = [e for e in kafka_entries(res.entries) if e["dst"]["port"] == PORT]
    full = {key(e): (e["summary"], e["status"]) for e in clean}
    assert len(got) > len(full) // 3
    for e in got:
        assert key(e) in full, e
        if e["status"] is not None:
            assert (e["summary"], e["status"]) == full[key(e)], e


def test_documented_filter(run, clean):
    for topic in (TOPIC_NEW, TOPIC_OLD):
        res = run_view([run["pcap"]], ["--filter", FILTER % topic])
        assert res.rc == 0, res.describe()
        want = [key(e) for e in clean if e["request"]["api"] == "Produce" and topic in e["request"]["topics"]]
        assert len(want) == 4
        assert sorted(key(e) for e in res.entries) == sorted(want)


def test_sasl_password_is_redacted_unless_no_redact(run, all_entries):
    import base64
    auth = [e for e in all_entries if e["request"]["api"] == "SaslAuthenticate"]
    assert auth and all(e["dst"]["port"] == SASL_PORT for e in auth)
    assert all(e["request"]["auth_bytes"] == "[REDACTED]" and e["status"] == "NONE" for e in auth)
    assert any(e["request"]["api"] == "SaslHandshake" and e["status"] == "NONE" for e in all_entries)
    raw = run_view([run["pcap"]])
    assert SASL_PASSWORD not in raw.stdout
    res = run_view([run["pcap"]], ["--no-redact"])
    assert res.rc == 0, res.describe()
    shown = [base64.b64decode(e["request"]["auth_bytes"]) for e in kafka_entries(res.entries)
             if e["request"]["api"] == "SaslAuthenticate"]
    # PLAIN (RFC 4616): authzid NUL authcid NUL password; kafka-python sends the user as authzid too.
    assert shown and all(b.split(b"\0")[1:] == [SASL_USER.encode(), SASL_PASSWORD.encode()] for b in shown), shown
    # The authenticated producer's record went through.
    assert records(all_entries, "Produce", "request")[(None, "authenticated")] == 1
