"""Session fixtures for real dependencies; each starts only when a test asks for it.

- ``postgres_url``: an embedded Postgres for the session, or ``$HEADRACE_TEST_DATABASE_URL``.
- ``database_url``: a fresh database per test on that server, dropped afterwards.
- ``kafka_bootstrap``: a single-node Apache Kafka, or ``$HEADRACE_TEST_KAFKA``.
- ``dev_broker``: the in-memory dev broker ``headrace dev`` uses.
- ``unique_topics``: topic names no other test uses, e.g. ``unique_topics.events``.
- ``postgres_data_dir``: an empty directory for a test's own ``EmbeddedPostgres``.

Postgres data never lives under pytest's ``tmp_path``: run as root, the server runs as another
user that must reach its directory, and every pytest session that starts resets the shared
``pytest-of-<user>`` directory to mode 0700, which would lock a running server out.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from services.core.embedded import ApacheKafka, EmbeddedBroker, EmbeddedPostgres

REPO_ROOT = Path(__file__).resolve().parent.parent


def _postgres_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="headrace-postgres-"))
    try:
        yield path / "data"
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def postgres_data_dir() -> Iterator[Path]:
    """A path (not yet created) for a test's own ``EmbeddedPostgres`` data directory."""
    yield from _postgres_dir()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of the session's Postgres server (its ``postgres`` database)."""
    external = os.environ.get("HEADRACE_TEST_DATABASE_URL")
    if external:
        yield external
        return
    for data_dir in _postgres_dir():
        server = EmbeddedPostgres(data_dir, durable=False)
        yield server.start()
        server.stop()


@pytest.fixture
def database_url(postgres_url: str) -> Iterator[str]:
    """URL of a database created for this test alone."""
    from psycopg import connect, sql

    name = f"test_{uuid.uuid4().hex[:12]}"
    with connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield urlsplit(postgres_url)._replace(path=f"/{name}").geturl()
    with connect(postgres_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a real Apache Kafka (jars cached in ``.cache/kafka``)."""
    external = os.environ.get("HEADRACE_TEST_KAFKA")
    if external:
        yield external
        return
    kafka = ApacheKafka(REPO_ROOT / ".cache" / "kafka", tmp_path_factory.mktemp("kafka"))
    yield kafka.start()
    kafka.stop()


@pytest.fixture(scope="session")
def dev_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of the in-memory dev broker (Tansu)."""
    broker = EmbeddedBroker(log_path=tmp_path_factory.mktemp("tansu") / "tansu.log")
    yield broker.start()
    broker.stop()


class UniqueTopics:
    """Topic names private to one test: ``topics.events == "headrace.events.1a2b3c4d"``.

    Any attribute works (``topics.jobs``, ``topics.dead_letters``), as does ``topics("x")``;
    one test gets one suffix, so names within a test line up.
    """

    def __init__(self, prefix: str = "headrace") -> None:
        self.prefix = prefix
        self.suffix = uuid.uuid4().hex[:8]

    def __call__(self, name: str) -> str:
        return f"{self.prefix}.{name}.{self.suffix}"

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        return self(name)


@pytest.fixture
def unique_topics() -> UniqueTopics:
    return UniqueTopics()
