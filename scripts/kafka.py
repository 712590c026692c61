#!/usr/bin/env python3
"""Run a single-node Apache Kafka for local testing.

    python scripts/kafka.py fetch                 # jars into .cache/kafka/libs (once)
    python scripts/kafka.py start [--port 9092]   # background broker; prints its bootstrap address
    python scripts/kafka.py stop

Point the tests at it with ``HEADRACE_TEST_KAFKA=$(python scripts/kafka.py start)``.
Standard library only: it runs before the virtualenv exists.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from services.core.embedded.kafka import ApacheKafka, KafkaError  # noqa: E402

CACHE_DIR = REPO_ROOT / ".cache" / "kafka"


def _running_pid(run_dir: Path) -> int | None:
    try:
        pid = int((run_dir / "kafka.pid").read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"kafka.Kafka" in cmdline else None


def fetch(_: argparse.Namespace) -> int:
    print(ApacheKafka(CACHE_DIR, CACHE_DIR / "run").fetch())
    return 0


def start(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir).absolute()
    if _running_pid(run_dir) is not None:
        print((run_dir / "bootstrap").read_text().strip())
        return 0
    shutil.rmtree(run_dir / "data", ignore_errors=True)  # a fresh cluster every start
    kafka = ApacheKafka(CACHE_DIR, run_dir, args.port, die_with_parent=False)
    print(kafka.start())
    return 0


def stop(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir).absolute()
    pid = _running_pid(run_dir)
    if pid is None:
        print("kafka is not running", file=sys.stderr)
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while _running_pid(run_dir) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    if _running_pid(run_dir) is not None:
        os.kill(pid, signal.SIGKILL)
    (run_dir / "kafka.pid").unlink(missing_ok=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fetch", help="download the Kafka jars with Maven").set_defaults(run=fetch)
    for name, run in (("start", start), ("stop", stop)):
        command = commands.add_parser(name, help=f"{name} the background broker")
        command.add_argument("--run-dir", default=str(CACHE_DIR / "run"))
        command.set_defaults(run=run)
        if name == "start":
            command.add_argument("--port", type=int, default=None)
    args = parser.parse_args()
    try:
        return int(args.run(args))
    except KafkaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
