"""Records a consumer could not process (table: dead_letters): recorded, skipped, counted."""

from __future__ import annotations

from services.core.bus import ConsumedRecord
from services.core.metrics import Metrics
from services.core.store.db import Database


class DeadLetterStore:
    def __init__(self, db: Database, metrics: Metrics) -> None:
        self.db = db
        self.metrics = metrics

    async def record(self, consumer: str, record: ConsumedRecord, reason: str) -> None:
        """Keep the record's bytes and why it was skipped, and count it."""
        async with self.db.tx() as conn:
            await conn.execute(
                'INSERT INTO dead_letters (consumer, topic, part, "offset", reason, payload)'
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (consumer, record.topic, record.partition, record.offset, reason, record.value),
            )
        self.metrics.dead_letters.labels(consumer).inc()
