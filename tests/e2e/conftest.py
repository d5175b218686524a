"""Shared fixtures: each test module builds its own topology once (module scope) and tears it
down even when tests fail. Prerequisites missing = test failure, not skip."""

import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from topology import Topology, require_environment  # noqa: E402


def _sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt("SIGTERM")


def pytest_configure(config):
    # A CI timeout or `kill` sends SIGTERM: turn it into KeyboardInterrupt so fixture finalizers
    # still remove namespaces, the bridge and every process the tests started.
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)


@pytest.fixture(scope="module")
def topology(request):
    require_environment()
    t = Topology()
    t.start()
    try:
        t.start_services()
        yield t
    finally:
        t.stop()


@pytest.fixture(scope="module")
def workdir(topology):
    """A directory for this module's captures and outputs, inside the topology's work dir (removed
    at the end unless SHK_E2E_KEEP is set; SHK_E2E_ARTIFACTS=DIR copies it there first)."""
    d = topology.workdir / "artifacts"
    d.mkdir(exist_ok=True)
    yield d
    dest = os.environ.get("SHK_E2E_ARTIFACTS")
    if dest:
        shutil.copytree(d, Path(dest) / f"{topology.run_id}", dirs_exist_ok=True)
