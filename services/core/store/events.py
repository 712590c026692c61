"""Event history (table: events)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.types.json import Jsonb

from services.core.model import Event
from services.core.store.db import Conn, Database

IDEMPOTENCY_WINDOW = "24 hours"


class EventStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, conn: Conn, events: Sequence[Event]) -> list[Event]:
        """Store events; return the ones that should start runs: new ids whose idempotency key
        (the sender's id) was not seen in the last 24 hours. A replayed Kafka record is a no-op.
        """
        fresh: list[Event] = []
        for ev in events:
            dup_of: str | None = None
            if ev.idempotency_key:
                cur = await conn.execute(
                    "SELECT id FROM events WHERE idempotency_key = %s AND id <> %s"
                    f" AND received_at > now() - interval '{IDEMPOTENCY_WINDOW}'"
                    " AND duplicate_of IS NULL ORDER BY id LIMIT 1",
                    (ev.idempotency_key, ev.id),
                )
                row = await cur.fetchone()
                dup_of = row["id"] if row else None
            cur = await conn.execute(
                'INSERT INTO events (id, name, data, "user", ts, v, idempotency_key, duplicate_of)'
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING"
                " RETURNING id",
                (
                    ev.id,
                    ev.name,
                    Jsonb(ev.data),
                    Jsonb(ev.user),
                    ev.ts,
                    ev.v,
                    ev.idempotency_key,
                    dup_of,
                ),
            )
            if await cur.fetchone() is not None and dup_of is None:
                fresh.append(ev)
        return fresh

    async def get(self, event_id: str) -> dict[str, Any] | None:
        async with self.db.conn() as conn:
            cur = await conn.execute(
                'SELECT id, name, data, "user", ts, v, idempotency_key, duplicate_of,'
                " received_at FROM events WHERE id = %s",
                (event_id,),
            )
            return await cur.fetchone()

    async def load(self, conn: Conn, ids: Sequence[str]) -> list[Event]:
        """Events by id, in the order given."""
        cur = await conn.execute(
            'SELECT id, name, data, "user", ts, v, idempotency_key FROM events WHERE id = ANY(%s)',
            (list(ids),),
        )
        rows = {r["id"]: r for r in await cur.fetchall()}
        return [event_from_row(r) for i in ids if (r := rows.get(i)) is not None]


def event_from_row(r: dict[str, Any]) -> Event:
    return Event(
        id=r["id"],
        name=r["name"],
        data=r["data"],
        user=r["user"],
        ts=r["ts"],
        v=r["v"],
        idempotency_key=r["idempotency_key"],
    )
