"""The embedded servers and the fixtures built on them, against the real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.core.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from services.core.embedded._process import accepts_connections, wait_until

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_postgres_keeps_data_and_port_across_restarts(postgres_data_dir: Path) -> None:
    data = postgres_data_dir
    with EmbeddedPostgres(data, durable=False) as url:
        with psycopg.connect(url) as conn:
            conn.execute("CREATE TABLE kept (x int)")
            conn.execute("INSERT INTO kept VALUES (42)")
    assert not accepts_connections("127.0.0.1", int(url.rsplit(":", 1)[1].split("/")[0]))

    with EmbeddedPostgres(data, durable=False) as again:
        assert again == url  # the recorded port was free, so it is reused
        with psycopg.connect(again) as conn:
            assert conn.execute("SELECT x FROM kept").fetchall() == [(42,)]


def test_postgres_starts_after_its_server_was_killed(postgres_data_dir: Path) -> None:
    server = EmbeddedPostgres(postgres_data_dir, durable=False)
    url = server.start()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (x int)")
        conn.execute("INSERT INTO kept VALUES (7)")
        assert server._proc is not None
        server._proc.send_signal(signal.SIGKILL)  # with this session open: orphans, stale pid
        server._proc.wait()
    assert (postgres_data_dir / "postmaster.pid").exists()
    try:
        with psycopg.connect(server.start()) as conn:
            assert conn.execute("SELECT x FROM kept").fetchall() == [(7,)]
    finally:
        server.stop()


def test_postgres_create_database(postgres_data_dir: Path) -> None:
    port = free_port()
    server = EmbeddedPostgres(postgres_data_dir, port=port, durable=False)
    with server as url:
        assert server.create_database("apps") == url.rsplit("/", 1)[0] + "/apps"
        assert url == f"postgresql://postgres@127.0.0.1:{port}/postgres"
        with psycopg.connect(server.database_url("apps")) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("apps",)


def test_database_url_is_a_fresh_database(database_url: str, postgres_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        name = conn.execute("SELECT current_database()").fetchone()
        assert name is not None and name[0].startswith("test_")
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        assert tables == (0,)
        conn.execute("CREATE TABLE mine (x int)")


def test_unique_topics_differ_per_test(unique_topics: object) -> None:
    events = unique_topics.events  # type: ignore[attr-defined]
    assert events.startswith("headrace.events.") and len(events.rsplit(".", 1)[1]) == 8
    assert unique_topics.jobs.endswith(events.rsplit(".", 1)[1])  # type: ignore[attr-defined]


async def _round_trip(bootstrap: str, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        sent = [
            await producer.send_and_wait(topic, f"record {i}".encode(), key=b"k") for i in range(5)
        ]
    finally:
        await producer.stop()
    assert [meta.offset for meta in sent] == sorted(meta.offset for meta in sent)

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"{topic}.group",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        received: list[bytes] = []
        deadline = time.monotonic() + 30
        while len(received) < 5 and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                received += [r.value for r in records if r.value is not None]
        await consumer.commit()
        partition = sent[0].topic_partition
        committed = await consumer.committed(partition)
    finally:
        await consumer.stop()
    assert received == [f"record {i}".encode() for i in range(5)]
    assert committed == sent[-1].offset + 1


async def test_dev_broker_round_trip(dev_broker: str, unique_topics: object) -> None:
    await _round_trip(dev_broker, unique_topics.events)  # type: ignore[attr-defined]


async def test_apache_kafka_round_trip(kafka_bootstrap: str, unique_topics: object) -> None:
    await _round_trip(kafka_bootstrap, unique_topics.events)  # type: ignore[attr-defined]


def test_servers_die_with_their_parent(postgres_data_dir: Path) -> None:
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from services.core.embedded import EmbeddedBroker, EmbeddedPostgres\n"
        "print(EmbeddedBroker().start().split(':')[1], flush=True)\n"
        "print(EmbeddedPostgres(Path(sys.argv[1]), durable=False).start()"
        ".split(':')[2].split('/')[0], flush=True)\n"
        "time.sleep(60)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with subprocess.Popen(
        [sys.executable, "-c", script, str(postgres_data_dir)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as parent:
        try:
            assert parent.stdout is not None
            ports = [int(parent.stdout.readline()), int(parent.stdout.readline())]
            assert all(accepts_connections("127.0.0.1", port) for port in ports)
        finally:
            parent.kill()
    assert wait_until(
        lambda: not any(accepts_connections("127.0.0.1", port) for port in ports), timeout=15
    )
    # Postgres had a fast shutdown, so the same directory starts cleanly right away.
    with EmbeddedPostgres(postgres_data_dir, durable=False) as url:
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)


def test_dev_broker_stop_frees_the_port() -> None:
    broker = EmbeddedBroker()
    bootstrap = broker.start()
    port = int(bootstrap.split(":")[1])
    broker.stop()
    assert not accepts_connections("127.0.0.1", port)
