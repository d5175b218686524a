"""`view` on impaired variants of a real capture must give the clean capture's exchanges.

The oracle is tshark on the CLEAN capture (tshark 4.0 itself mis-reassembles the reordered
variants, so it cannot judge them). tests/tools/impair.py makes the variants and proves, with
its own reassembly, that every connection carries exactly the original bytes, except the
connections it reports as damaged in drop mode; entries on those are left out of the comparison
on both sides, and every other connection must come out exactly intact.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from capture import record_on_bridge, run_view
from checks import assert_equals_oracle, assert_oracle_matches_expectations
from oracle import Oracle, canon_ip, oracle_for
from topology import TOOLS
from traffic import run_scenarios

VARIANTS = {
    "reorder": ["--mode", "reorder", "--seed", "11", "--window", "8"],
    "reorder_wide": ["--mode", "reorder", "--seed", "12", "--window", "40"],
    "duplicate": ["--mode", "duplicate", "--seed", "13", "--fraction", "0.25"],
    "overlap": ["--mode", "overlap", "--seed", "14", "--fraction", "0.3"],
    "mixed": ["--mode", "mixed", "--seed", "15", "--fraction", "0.2", "--window", "12"],
    "drop": ["--mode", "drop", "--seed", "16", "--drop-conns", "4"],
}
STAT_OF = {"reorder": "out_of_order", "reorder_wide": "out_of_order", "duplicate": "duplicated",
           "overlap": "overlap_replaced", "mixed": "out_of_order", "drop": "dropped"}


@dataclass
class Clean:
    pcap: Path
    oracle: Oracle
    expects: list
    workdir: Path


@pytest.fixture(scope="module")
def clean(topology, workdir):
    pcap = workdir / "clean.pcap"
    expects, _ = record_on_bridge(topology, pcap, run_scenarios)
    return Clean(pcap, oracle_for(pcap), expects, workdir)


_made = {}


def impaired(clean: Clean, variant: str):
    if variant not in _made:
        out = clean.workdir / f"{variant}.pcap"
        report = clean.workdir / f"{variant}.json"
        p = subprocess.run([sys.executable, str(TOOLS / "impair.py"), str(clean.pcap), str(out),
                            *VARIANTS[variant], "--report", str(report)],
                           capture_output=True, text=True, timeout=900)
        rep = json.loads(report.read_text()) if report.exists() else {}
        _made[variant] = (out, rep, p)
    return _made[variant]


def damaged_filters(report):
    conns = {(canon_ip(d["client"][0]), d["client"][1], canon_ip(d["server"][0]), d["server"][1])
             for d in report.get("damaged", [])}

    def keep_http_key(k):          # (cip, cport, sip, sport, ...)
        return tuple(k[:4]) not in conns

    def keep_dns_key(k):           # (transport, cip, cport, sip, sport, ...)
        return tuple(k[1:5]) not in conns

    def keep_oracle(x):
        return (x.client[0], x.client[1], x.server[0], x.server[1]) not in conns
    return conns, keep_http_key, keep_dns_key, keep_oracle


@pytest.mark.harness
def test_harness_clean_capture(clean):
    assert_oracle_matches_expectations(clean.oracle, clean.expects)


@pytest.mark.harness
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_harness_impairment_is_what_it_claims(clean, variant):
    out, rep, p = impaired(clean, variant)
    assert p.returncode == 0, f"impair.py failed:\n{p.stderr}"
    assert rep.get("check") == "ok", rep.get("check")
    assert rep.get(STAT_OF[variant], 0) > 0, f"nothing was impaired: {rep}"
    if variant == "drop":
        conns, _, _, keep_oracle = damaged_filters(rep)
        hit = [x for x in clean.oracle.http + clean.oracle.dns if not keep_oracle(x)]
        assert len(conns) >= 3 and hit, f"drop must damage connections that carry exchanges: {rep['damaged']}"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_view_impaired_equals_clean(clean, variant):
    out, rep, p = impaired(clean, variant)
    assert p.returncode == 0, f"impair.py failed:\n{p.stderr}"
    res = run_view([out])
    assert res.rc == 0, "segment loss/reordering is not file corruption\n" + res.describe()
    assert not res.bad_lines, res.describe()
    if variant == "drop":
        conns, keep_h, keep_d, keep_o = damaged_filters(rep)
        assert_equals_oracle(clean.oracle, res.entries, f"view {out.name} (outside damaged {sorted(conns)})",
                             keep_http=keep_h, keep_dns=keep_d, keep_oracle_http=keep_o, keep_oracle_dns=keep_o)
    else:
        assert_equals_oracle(clean.oracle, res.entries, f"view {out.name}")
