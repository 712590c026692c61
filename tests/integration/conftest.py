"""Fixtures shared by the integration tests: a migrated database, and the dependencies a
service receives (on a fresh database and topics no other test uses)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from services.core.service import Deps
from services.core.settings import Settings
from services.core.store import Database


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, max_size=4)
    await database.open()
    await database.migrate()
    yield database
    await database.close()


@pytest.fixture
async def open_deps(
    database_url: str, kafka_bootstrap: str, unique_topics: Any
) -> AsyncIterator[Callable[..., Awaitable[Deps]]]:
    """``await open_deps(**settings)``: Deps on this test's database and topics."""
    opened: list[Deps] = []

    async def open_(**overrides: Any) -> Deps:
        settings = Settings.from_env(
            {},
            database_url=database_url,
            kafka_bootstrap=kafka_bootstrap,
            events_topic=unique_topics.events,
            jobs_topic=unique_topics.jobs,
            consumer_group_prefix=unique_topics("group"),
            **overrides,
        )
        deps = await Deps.open(settings)
        opened.append(deps)
        return deps

    yield open_
    for deps in opened:
        await deps.close()
