#!/usr/bin/env python3
"""A real Apache Kafka broker in KRaft mode (broker and controller in one JVM) for tests and the
benchmark, from the jars Maven Central serves for org.apache.kafka:kafka_2.13 (fetched once with
`mvn dependency:copy-dependencies` and cached under ~/.cache/kubectl-shark/kafka-<version>/, so
later runs and CI reuse them). Needs java (17) and mvn.

    python3 tests/tools/kafka_broker.py jars                  # fetch the jars, print the dir
    python3 tests/tools/kafka_broker.py run --port 19092      # run until killed
    with Broker(port=19092, host="127.0.0.1") as b: ...       # from Python (starts, waits, stops)

`--netns NAME` runs the broker inside that network namespace (ip netns exec).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

VERSION = os.environ.get("SHK_KAFKA_VERSION", "3.7.1")
CACHE = Path(os.environ.get("SHK_KAFKA_CACHE", Path.home() / ".cache" / "kubectl-shark" / f"kafka-{VERSION}"))

POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.kubectl-shark</groupId><artifactId>kafka-jars</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>{v}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>{v}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
"""


def jars() -> Path:
    """The directory of the broker's jars, fetched from Maven Central on first use."""
    libs = CACHE / "libs"
    if (CACHE / "complete").exists():
        return libs
    if not shutil.which("mvn"):
        raise RuntimeError("mvn is needed to fetch the Kafka jars (apt-get install maven)")
    with tempfile.TemporaryDirectory() as work:
        Path(work, "pom.xml").write_text(POM.format(v=VERSION))
        subprocess.run(["mvn", "-q", "-B", "dependency:copy-dependencies", f"-DoutputDirectory={libs}"],
                       cwd=work, check=True)
    (CACHE / "complete").write_text(VERSION)
    return libs


def wait_port(host: str, port: int, timeout: float, netns: str | None = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if netns:
            ok = subprocess.run(["ip", "netns", "exec", netns, "python3", "-c",
                                 f"import socket; socket.create_connection(({host!r}, {port}), 1)"],
                                capture_output=True).returncode == 0
        else:
            try:
                socket.create_connection((host, port), 1).close()
                ok = True
            except OSError:
                ok = False
        if ok:
            return
        time.sleep(0.3)
    raise RuntimeError(f"Kafka broker did not listen on {host}:{port} within {timeout}s")


class Broker:
    """A broker listening on host:port (controller on port+1), data in a temporary directory."""

    def __init__(self, port: int, host: str = "127.0.0.1", netns: str | None = None, heap: str = "512m",
                 sasl_users: dict[str, str] | None = None):
        """`sasl_users`: also a SASL_PLAINTEXT listener (mechanism PLAIN) on port+2 for these users."""
        self.port, self.host, self.netns, self.heap = port, host, netns, heap
        self.sasl_users = sasl_users or {}
        self.proc: subprocess.Popen | None = None
        self.dir: str | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def _cmd(self, args: list[str]) -> list[str]:
        return (["ip", "netns", "exec", self.netns] if self.netns else []) + args

    def start(self, timeout: float = 90) -> "Broker":
        libs = jars()
        self.dir = tempfile.mkdtemp(prefix="shk-kafka-")
        props = Path(self.dir, "server.properties")
        cport = self.port + 1
        listeners = [f"PLAINTEXT://{self.host}:{self.port}"]
        sasl = []
        if self.sasl_users:
            listeners.append(f"SASL_PLAINTEXT://{self.host}:{self.port + 2}")
            users = " ".join(f'user_{u}="{p}"' for u, p in self.sasl_users.items())
            first = next(iter(self.sasl_users.items()))
            sasl = ["sasl.enabled.mechanisms=PLAIN",
                    "listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain."
                    f'PlainLoginModule required username="{first[0]}" password="{first[1]}" {users};']
        props.write_text("\n".join(sasl + [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@{self.host}:{cport}",
            f"listeners={','.join(listeners)},CONTROLLER://{self.host}:{cport}",
            f"advertised.listeners={','.join(listeners)}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
            f"log.dirs={self.dir}/data",
            "num.partitions=1",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=true",
            "",
        ]))
        Path(self.dir, "log4j.properties").write_text(
            "log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\n"
            "log4j.appender.stderr.target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n\n")
        java = ["java", f"-Xmx{self.heap}", "-Xms128m", "-XX:+UseSerialGC",
                f"-Dlog4j.configuration=file:{self.dir}/log4j.properties", "-cp", f"{libs}/*"]
        subprocess.run(java + ["kafka.tools.StorageTool", "format", "-t", str(uuid.uuid4()).replace("-", "")[:22],
                               "-c", str(props)], check=True, capture_output=True)
        self.log = open(Path(self.dir, "broker.log"), "w")
        self.proc = subprocess.Popen(self._cmd(java + ["kafka.Kafka", str(props)]), stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_port(self.host, self.port, timeout, self.netns)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> "Broker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("jars")
    run = sub.add_parser("run")
    run.add_argument("--port", type=int, default=19092)
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--netns")
    a = ap.parse_args()
    if a.cmd == "jars":
        print(jars())
        return
    with Broker(a.port, a.host, a.netns) as b:
        print(f"kafka broker listening on {b.bootstrap}", flush=True)
        try:
            while b.proc and b.proc.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
