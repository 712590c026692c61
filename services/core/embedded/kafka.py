"""A single-node Apache Kafka (KRaft) for integration tests, from jars fetched by Maven.

Tests that care how a real cluster behaves (idempotent producers, transactions, rebalances)
run here; ``headrace dev`` uses the lighter dev broker (``broker.py``). Needs Java 17+ and,
the first time only, ``mvn`` with access to Maven Central. Standard library only, so
``scripts/kafka.py`` can run before anything is installed.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

from ._process import (
    ChildServer,
    die_with_parent,
    free_port,
    kafka_brokers_visible,
    stop_process,
    tail,
    wait_until,
)

log = logging.getLogger(__name__)

KAFKA_VERSION = "3.9.1"
SCALA_VERSION = "2.13"
SLF4J_VERSION = "1.7.36"

_POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.headrace</groupId>
  <artifactId>kafka-test-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_{scala}</artifactId>
      <version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-reload4j</artifactId>
      <version>{slf4j}</version>
    </dependency>
  </dependencies>
</project>
"""

_LOG4J = """log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
"""

# Sized for a laptop or a 2-core CI runner: one replica, few partitions and threads.
_SERVER_PROPERTIES = """process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={log_dir}
num.partitions=4
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
delete.topic.enable=true
num.network.threads=2
num.io.threads=4
background.threads=4
log.cleaner.dedupe.buffer.size=8388608
"""

_JVM_OPTIONS = [
    "-Xms128m",
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Djava.awt.headless=true",
]


class KafkaError(RuntimeError):
    """Apache Kafka could not be fetched or did not come up."""


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise KafkaError("java not found: install Java 17+ or set JAVA_HOME")
    return found


class ApacheKafka(ChildServer):
    """One Apache Kafka process acting as broker and controller on ``127.0.0.1``.

    ``cache_dir`` holds the jars (shared between runs); ``run_dir`` holds configuration, data
    and ``kafka.log``. Data survives ``stop()``/``start()`` on the same ``run_dir``.

    >>> kafka = ApacheKafka(Path(".cache/kafka"), tmp / "kafka")   # doctest: +SKIP
    >>> bootstrap = kafka.start()      # "127.0.0.1:PORT", once Metadata names the broker
    >>> kafka.stop()

    With ``die_with_parent`` (the default) the JVM is killed when this process dies; the
    command-line script turns it off to leave Kafka running in the background.
    """

    def __init__(
        self,
        cache_dir: Path,
        run_dir: Path,
        port: int | None = None,
        *,
        die_with_parent: bool = True,
    ) -> None:
        self.cache_dir = Path(cache_dir).absolute()
        self.run_dir = Path(run_dir).absolute()
        self.port = port
        self.die_with_parent = die_with_parent
        self.log_path = self.run_dir / "kafka.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._controller_port: int | None = None

    @property
    def libs_dir(self) -> Path:
        return self.cache_dir / "libs"

    @property
    def bootstrap(self) -> str:
        if self.port is None:
            raise KafkaError("kafka not started")
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def fetched(self) -> bool:
        stamp = self.libs_dir / ".version"
        return stamp.exists() and stamp.read_text().strip() == KAFKA_VERSION

    def fetch(self) -> Path:
        """Download the Kafka jars with Maven into ``cache_dir/libs`` unless already there."""
        if self.fetched():
            return self.libs_dir
        mvn = shutil.which("mvn")
        if mvn is None:
            raise KafkaError("mvn not found: it is needed once to fetch the Kafka jars")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        pom = self.cache_dir / "pom.xml"
        pom.write_text(_POM.format(scala=SCALA_VERSION, kafka=KAFKA_VERSION, slf4j=SLF4J_VERSION))
        staging = self.cache_dir / f"libs.{os.getpid()}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        log.info("fetching Apache Kafka %s jars with Maven", KAFKA_VERSION)
        done = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
                "-DincludeScope=runtime",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0 or not any(staging.glob("kafka_*.jar")):
            shutil.rmtree(staging, ignore_errors=True)
            raise KafkaError(f"mvn failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr}")
        (staging / ".version").write_text(f"{KAFKA_VERSION}\n")
        shutil.rmtree(self.libs_dir, ignore_errors=True)
        staging.rename(self.libs_dir)
        return self.libs_dir

    def start(self, timeout: float = 120.0) -> str:
        """Start Kafka (formatting storage on first use); return the bootstrap address."""
        if self._proc is not None and self._proc.poll() is None:
            return self.bootstrap
        self.fetch()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.port is None:
            self.port = free_port()
        if self._controller_port is None:
            self._controller_port = free_port()
        data_dir = self.run_dir / "data"
        properties = self.run_dir / "server.properties"
        properties.write_text(
            _SERVER_PROPERTIES.format(
                port=self.port,
                controller_port=self._controller_port,
                log_dir=data_dir,
            )
        )
        log4j = self.run_dir / "log4j.properties"
        log4j.write_text(_LOG4J)
        classpath = f"{self.libs_dir}{os.sep}*"
        java = [_java(), *_JVM_OPTIONS, f"-Dlog4j.configuration={log4j.as_uri()}", "-cp", classpath]
        if not (data_dir / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            done = subprocess.run(
                [
                    *java,
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    cluster_id,
                    "-c",
                    str(properties),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise KafkaError(f"kafka storage format failed:\n{done.stdout}{done.stderr}")
        with open(self.log_path, "ab") as out:
            self._proc = subprocess.Popen(
                [*java, "kafka.Kafka", str(properties)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGKILL) if self.die_with_parent else None,
            )
        (self.run_dir / "kafka.pid").write_text(f"{self._proc.pid}\n")
        (self.run_dir / "bootstrap").write_text(f"{self.bootstrap}\n")
        port = self.port
        if not wait_until(
            lambda: kafka_brokers_visible("127.0.0.1", port),
            timeout=timeout,
            proc=self._proc,
            interval=0.25,
        ):
            code = self._proc.poll()
            self.stop()
            raise KafkaError(
                f"kafka did not come up on {self.bootstrap} (exit code {code}); "
                f"log:\n{tail(self.log_path)}"
            )
        log.info("apache kafka ready on %s", self.bootstrap)
        return self.bootstrap

    def stop(self, timeout: float = 30.0) -> None:
        """Controlled shutdown (SIGTERM), then SIGKILL after ``timeout`` seconds."""
        if self._proc is not None:
            stop_process(self._proc, timeout=timeout)
            self._proc = None
            (self.run_dir / "kafka.pid").unlink(missing_ok=True)
