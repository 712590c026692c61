"""Leadership: a Postgres session advisory lock held on a dedicated connection.

A follower blocks in ``pg_advisory_lock`` rather than retrying, so it takes over as soon as the
leader's session ends (clean stop, crash, or a connection Postgres dropped). The leader uses the
same connection for ``LISTEN``: if that connection breaks, the lock is gone too and reading
notifications fails, which makes the leader step down.

Session locks need a real session: point the scheduler at Postgres directly, not through a
transaction-pooling proxy.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import psycopg

from services.core.errors import StoreError
from services.core.store import Database

log = logging.getLogger(__name__)

SCHEDULER_LOCK = 0x68727363  # "hrsc"


class LeaderLock:
    def __init__(self, db: Database, key: int = SCHEDULER_LOCK) -> None:
        self.db = db
        self.key = key

    async def acquire(self) -> psycopg.AsyncConnection[Any]:
        """Block until this replica holds the lock; returns the connection that holds it.

        Closing the returned connection releases the lock.
        """
        conn = await self.db.listen_connection()
        try:
            cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))
            row = await cur.fetchone()
            if not (row and row[0]):
                log.info("scheduler: another replica leads; waiting for the lock")
                await conn.execute("SELECT pg_advisory_lock(%s)", (self.key,))
        except psycopg.Error as exc:
            await release(conn)
            raise StoreError(f"cannot take the scheduler lock: {exc}") from exc
        except BaseException:
            await release(conn)
            raise
        return conn


async def release(conn: psycopg.AsyncConnection[Any]) -> None:
    """Close a lock connection (ending the session releases the lock)."""
    with contextlib.suppress(Exception):
        await conn.close()
