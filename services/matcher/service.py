"""The matcher consumes ``headrace.events``.

For each batch: decode records (a record that can't be decoded is recorded in dead_letters,
skipped and counted), then in one transaction store the events and create the runs they start
(idempotent: a replayed record finds its event and runs already there), then publish one job
per new run, then commit the Kafka offsets. A crash anywhere repeats the batch harmlessly.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ulid import ULID

from services.core.bus import ConsumedRecord, Consumer
from services.core.codec import CodecError, decode_event, encode_job
from services.core.errors import BusError, StoreError
from services.core.model import Event, Job
from services.core.service import Deps, Service
from services.core.store import AppStore, DeadLetterStore, EventStore, NewRun, RunStore
from services.matcher.matching import TriggerIndex

log = logging.getLogger(__name__)


class MatcherService(Service):
    name = "matcher"

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        self.consumer: Consumer | None = None
        self.apps = AppStore(deps.db)
        self.events = EventStore(deps.db)
        self.runs = RunStore(deps.db)
        self.dead_letters = DeadLetterStore(deps.db, deps.metrics)
        self.index = TriggerIndex(())
        self._version: Any = None
        self._started = False

    async def start(self) -> None:
        self.consumer = self.deps.consumer(self.deps.settings.events_topic, "matcher")
        await self.consumer.start()
        self._started = True

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()

    def ready(self) -> bool:
        return self._started

    async def run(self) -> None:
        consumer = self.consumer
        if consumer is None:
            raise RuntimeError(f"{self.name}: run() before start()")
        async for records in consumer.batches():
            while True:
                try:
                    await self.process(records)
                    break
                except (StoreError, BusError) as exc:
                    # Our own infrastructure failed: nothing was committed; try the batch again.
                    log.warning("matcher batch failed, retrying: %s", exc)
                    await asyncio.sleep(1)
            await consumer.commit(records)

    async def refresh(self) -> None:
        """Reload the trigger index when functions changed (one cheap query per batch)."""
        async with self.deps.db.conn() as conn:
            cur = await conn.execute("SELECT count(*) AS n, max(updated_at) AS t FROM functions")
            row = await cur.fetchone()
        version = (row["n"], row["t"]) if row else None
        if version != self._version:
            self.index = TriggerIndex(await self.apps.functions())
            self._version = version

    async def process(self, records: list[ConsumedRecord]) -> list[str]:
        """Handle one batch; returns the ids of runs created."""
        events: list[Event] = []
        for r in records:
            try:
                events.append(decode_event(r.value))
            except CodecError as exc:
                await self.dead_letters.record("matcher", r, exc.message)
                log.warning("skipped record %s/%d@%d: %s", r.topic, r.partition, r.offset, exc)
        if not events:
            return []
        await self.refresh()
        async with self.deps.db.tx() as conn:
            fresh = await self.events.insert(conn, events)
            new_runs = [
                NewRun(
                    id=str(ULID()),
                    function_id=fn.id,
                    app_id=fn.app_id,
                    event_ids=(ev.id,),
                    max_attempts=fn.max_attempts,
                )
                for ev in fresh
                for fn in self.index.match(ev)
            ]
            created = await self.runs.create(conn, new_runs, self.deps.settings.redeliver_seconds)
        if created:
            self.deps.metrics.runs_started.inc(len(created))
            await self.deps.bus.send_many(
                self.deps.settings.jobs_topic,
                [(rid, encode_job(Job(rid, 1))) for rid in created],
            )
        return created
