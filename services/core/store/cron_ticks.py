"""Cron ticks fired (table: cron_ticks), so a tick fires once even across leader changes."""

from __future__ import annotations

from datetime import datetime

from services.core.store.db import Conn, Database


class CronTickStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, conn: Conn, function_id: str, tick: datetime, event_id: str) -> bool:
        """Record a tick; False when it was recorded before (another leader fired it)."""
        cur = await conn.execute(
            "INSERT INTO cron_ticks (function_id, tick, event_id) VALUES (%s, %s, %s)"
            " ON CONFLICT (function_id, tick) DO NOTHING RETURNING tick",
            (function_id, tick, event_id),
        )
        return await cur.fetchone() is not None

    async def last_ticks(self) -> dict[str, datetime]:
        """The latest tick fired, per function."""
        async with self.db.conn() as conn:
            cur = await conn.execute(
                "SELECT function_id, max(tick) AS tick FROM cron_ticks GROUP BY function_id"
            )
            return {r["function_id"]: r["tick"] for r in await cur.fetchall()}
