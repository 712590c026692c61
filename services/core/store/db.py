"""The Postgres pool and migrations. psycopg errors are mapped to ``StoreError`` here."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from services.core.errors import StoreError

log = logging.getLogger(__name__)

# Serialises migrations across replicas starting at once.
MIGRATION_LOCK = 0x68656164  # "head"
WAKE_CHANNEL = "headrace_wake"
FUNCTIONS_CHANNEL = "headrace_functions"

Conn = psycopg.AsyncConnection[dict[str, Any]]


class Database:
    """A connection pool. ``async with db.tx() as conn`` runs one transaction."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.url = url
        self._pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            kwargs={"row_factory": dict_row, "autocommit": True},
            open=False,
        )

    async def open(self) -> None:
        try:
            # One plain connection first: its error says why (refused, auth, no database),
            # where the pool would only report that it timed out.
            probe = await psycopg.AsyncConnection.connect(self.url, connect_timeout=15)
            await probe.close()
            await self._pool.open(wait=True, timeout=30)
        except Exception as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise StoreError(f"cannot connect to Postgres at {_safe(self.url)}: {reason}") from exc

    async def close(self) -> None:
        await self._pool.close()

    @contextlib.asynccontextmanager
    async def tx(self) -> AsyncIterator[Conn]:
        try:
            async with self._pool.connection() as conn, conn.transaction():
                yield conn
        except psycopg.Error as exc:
            raise StoreError(f"database error: {exc}") from exc

    @contextlib.asynccontextmanager
    async def conn(self) -> AsyncIterator[Conn]:
        try:
            async with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise StoreError(f"database error: {exc}") from exc

    async def migrate(self) -> list[int]:
        """Apply the numbered SQL files in ``migrations/`` that are not applied yet."""
        files = sorted(
            (
                f
                for f in resources.files("services.core.store").joinpath("migrations").iterdir()
                if f.name.endswith(".sql")
            ),
            key=lambda f: f.name,
        )
        applied: list[int] = []
        async with self.tx() as conn:
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur = await conn.execute("SELECT version FROM schema_migrations")
            done = {row["version"] for row in await cur.fetchall()}
            for f in files:
                version = int(f.name.split("_", 1)[0])
                if version in done:
                    continue
                await conn.execute(f.read_text(encoding="utf-8"))
                await conn.execute(
                    "INSERT INTO schema_migrations (version) VALUES (%s)", (version,)
                )
                applied.append(version)
        if applied:
            log.info("applied migrations %s", applied)
        return applied

    async def listen_connection(self) -> psycopg.AsyncConnection[Any]:
        """A dedicated autocommit connection for LISTEN or session advisory locks."""
        try:
            return await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to Postgres at {_safe(self.url)}: {exc}") from exc


def _safe(url: str) -> str:
    """The URL without its password, for error messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}@{host}"
    return url
