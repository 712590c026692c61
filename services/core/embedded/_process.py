"""Process plumbing shared by the embedded servers: ports, child lifetime, readiness probes.

Standard library only, so ``scripts/kafka.py`` can use it before any dependency is installed.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

_PR_SET_PDEATHSIG = 1


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now (the kernel's pick).

    >>> 1024 < free_port() < 65536
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive ``sig`` when its parent dies.

    Linux only (``prctl(PR_SET_PDEATHSIG)``); elsewhere returns ``None``. The kernel ties the
    signal to the *thread* that forked, so start servers from a thread that lives as long as
    they should (the main thread, in tests and ``headrace dev``). It runs after ``user=`` has
    switched the uid, which matters because a credential change clears the setting.
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), sig)

    return preexec


def stop_process(
    proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 15.0
) -> None:
    """Send ``sig``, wait up to ``timeout`` seconds, then kill."""
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def tail(path: Path | None, lines: int = 30) -> str:
    """The last lines of a log file, for error messages."""
    if path is None or not path.exists():
        return "(no log)"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:]) or "(empty log)"


def accepts_connections(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _kafka_string(value: str) -> bytes:
    raw = value.encode()
    return struct.pack(">h", len(raw)) + raw


def kafka_brokers_visible(host: str, port: int, timeout: float = 2.0) -> bool:
    """True when a Metadata request (v4) answers with at least one broker.

    A Kafka listener accepts TCP before the broker has registered itself; clients only work
    once Metadata names a broker, so that is what readiness means here.
    """
    # Request header v1: api_key, api_version, correlation_id, client_id.
    # Metadata v4 body: topics (-1 = null = all), allow_auto_topic_creation.
    body = struct.pack(">hhi", 3, 4, 1) + _kafka_string("headrace-probe")
    body += struct.pack(">ib", -1, 0)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">i", len(body)) + body)
            size = struct.unpack(">i", _read_exactly(sock, 4))[0]
            reply = _read_exactly(sock, size)
    except (OSError, struct.error):
        return False
    # Response header v0: correlation_id; Metadata v4: throttle_time_ms, brokers array.
    if len(reply) < 12:
        return False
    correlation_id, _throttle, brokers = struct.unpack(">iii", reply[:12])
    return bool(correlation_id == 1 and brokers > 0)


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise OSError("connection closed")
        chunks += chunk
    return bytes(chunks)


def wait_until(
    ready: Callable[[], bool],
    *,
    timeout: float,
    proc: subprocess.Popen[bytes] | None = None,
    interval: float = 0.1,
) -> bool:
    """Poll ``ready`` until it is true; False on timeout or when ``proc`` exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(interval)
    return ready()


class ChildServer:
    """A server run as a child process; ``with server as address:`` starts and stops it."""

    _proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> str:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
