"""The scheduler against real Postgres and Kafka: timers, early wake-ups, leadership, cron."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from services.core.bus import Bus, ensure_topics
from services.core.codec import decode_event, decode_job
from services.core.metrics import Metrics
from services.core.model import App, Event, Function, Job, Trigger
from services.core.service import Deps
from services.core.settings import Settings
from services.core.store import WAKE_CHANNEL, AppStore, Database
from services.scheduler import SchedulerService
from services.scheduler.cron import SCHEDULED_EVENT, CronFirer, scheduled_event_id

pytestmark = pytest.mark.integration

WAIT = 20.0  # generous upper bound for anything we wait for


@dataclass
class Env:
    settings: Settings
    db: Database
    bus: Bus

    def deps(self) -> Deps:
        return Deps(settings=self.settings, db=self.db, bus=self.bus, metrics=Metrics())


@pytest.fixture
async def env(database_url: str, kafka_bootstrap: str, unique_topics: Any) -> AsyncIterator[Env]:
    settings = Settings(
        database_url=database_url,
        kafka_bootstrap=kafka_bootstrap,
        events_topic=unique_topics.events,
        jobs_topic=unique_topics.jobs,
        topic_partitions=1,
    )
    db = Database(database_url, max_size=4)
    await db.open()
    await db.migrate()
    await ensure_topics(kafka_bootstrap, [settings.events_topic, settings.jobs_topic], 1)
    bus = Bus(kafka_bootstrap)
    await bus.start()
    yield Env(settings, db, bus)
    await bus.stop()
    await db.close()


@contextlib.asynccontextmanager
async def running(service: SchedulerService) -> AsyncIterator[asyncio.Task[None]]:
    await service.start()
    task = asyncio.create_task(service.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await service.stop()


async def until(check: Callable[[], bool], within: float = WAIT) -> None:
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110 - watching another task's state from a test
            await asyncio.sleep(0.05)


async def insert_run(db: Database, run_id: str, wake_in_seconds: float, notify: bool) -> None:
    async with db.tx() as conn:
        await conn.execute(
            "INSERT INTO runs (id, function_id, app_id, event_id, event_ids, status,"
            " max_attempts, wake_at) VALUES (%s, 'app-fn', 'app', %s, ARRAY[%s], 'Running', 5,"
            " now() + make_interval(secs => %s))",
            (run_id, run_id, run_id, wake_in_seconds),
        )
        if notify:
            await _notify(conn, run_id)


async def reschedule(db: Database, run_id: str, wake_in_seconds: float) -> None:
    async with db.tx() as conn:
        await conn.execute(
            "UPDATE runs SET wake_at = now() + make_interval(secs => %s) WHERE id = %s",
            (wake_in_seconds, run_id),
        )
        await _notify(conn, run_id)


async def _notify(conn: Any, run_id: str) -> None:
    await conn.execute(
        f"SELECT pg_notify('{WAKE_CHANNEL}', (extract(epoch FROM wake_at) * 1000)::bigint::text)"
        " FROM runs WHERE id = %s",
        (run_id,),
    )


class Reader:
    """Everything on a topic from its beginning, decoded."""

    def __init__(self, bootstrap: str, topic: str, decode: Callable[[bytes], Any]) -> None:
        self.consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
        )
        self.decode = decode
        self.seen: list[Any] = []

    async def __aenter__(self) -> Reader:
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def read_until(self, check: Callable[[list[Any]], bool], within: float = WAIT) -> None:
        async with asyncio.timeout(within):
            while not check(self.seen):
                batches = await self.consumer.getmany(timeout_ms=200)
                for msgs in batches.values():
                    self.seen.extend(self.decode(m.value) for m in msgs if m.value is not None)

    async def settle(self, seconds: float = 1.0) -> None:
        """Read whatever else arrives within ``seconds``."""
        with contextlib.suppress(TimeoutError):
            await self.read_until(lambda _: False, within=seconds)


def run_ids(jobs: list[Job]) -> set[str]:
    return {j.run_id for j in jobs}


async def test_a_timer_fires_when_due_without_a_notification(env: Env) -> None:
    await insert_run(env.db, "run-soon", 1.0, notify=False)
    scheduler = SchedulerService(env.deps())
    async with Reader(env.settings.kafka_bootstrap, env.settings.jobs_topic, decode_job) as jobs:
        async with running(scheduler):
            await jobs.read_until(lambda seen: "run-soon" in run_ids(seen))
    assert Job("run-soon", 1) in jobs.seen
    assert scheduler.deps.metrics.wakeups._value.get() >= 1


async def test_an_earlier_timer_wakes_the_scheduler_early(env: Env) -> None:
    await insert_run(env.db, "run-far", 3600, notify=True)
    await insert_run(env.db, "run-moved", 7200, notify=True)
    scheduler = SchedulerService(env.deps())
    async with Reader(env.settings.kafka_bootstrap, env.settings.jobs_topic, decode_job) as jobs:
        async with running(scheduler):
            await until(lambda: scheduler.leading)
            await asyncio.sleep(0.3)  # let it settle into its hour-long sleep
            await reschedule(env.db, "run-moved", 0.5)
            await jobs.read_until(lambda seen: "run-moved" in run_ids(seen))
            await jobs.settle(0.5)
    assert run_ids(jobs.seen) == {"run-moved"}


async def test_a_burst_of_notifications_is_drained(env: Env) -> None:
    scheduler = SchedulerService(env.deps())
    async with Reader(env.settings.kafka_bootstrap, env.settings.jobs_topic, decode_job) as jobs:
        async with running(scheduler):
            await until(lambda: scheduler.leading)
            for i in range(50):
                await insert_run(env.db, f"run-{i:02}", 0.2, notify=True)
            await jobs.read_until(lambda seen: len(run_ids(seen)) == 50)


async def test_one_leader_and_a_takeover(env: Env) -> None:
    a = SchedulerService(env.deps())
    b = SchedulerService(env.deps())
    async with Reader(env.settings.kafka_bootstrap, env.settings.jobs_topic, decode_job) as jobs:
        async with contextlib.AsyncExitStack() as stack:
            tasks = {id(s): await stack.enter_async_context(running(s)) for s in (a, b)}
            await until(lambda: a.leading or b.leading)
            await asyncio.sleep(0.5)
            assert a.leading != b.leading
            leader, follower = (a, b) if a.leading else (b, a)
            assert leader.deps.metrics.leader._value.get() == 1
            assert follower.deps.metrics.leader._value.get() == 0

            tasks[id(leader)].cancel()  # the leader stops; its session ends
            await until(lambda: follower.leading)
            assert not leader.leading
            assert leader.deps.metrics.leader._value.get() == 0
            await insert_run(env.db, "run-after-takeover", 0, notify=True)
            await jobs.read_until(lambda seen: "run-after-takeover" in run_ids(seen))


async def test_recover_on_start_makes_unleased_runs_due(env: Env) -> None:
    await insert_run(env.db, "run-lost-job", 3600, notify=False)
    scheduler = SchedulerService(env.deps(), recover_on_start=True)
    async with Reader(env.settings.kafka_bootstrap, env.settings.jobs_topic, decode_job) as jobs:
        async with running(scheduler):
            await jobs.read_until(lambda seen: "run-lost-job" in run_ids(seen))


def cron_app(*crons: str) -> App:
    fn = Function(
        id="app-nightly",
        app_id="app",
        name="nightly",
        url="http://app/api",
        triggers=tuple(Trigger(cron=c) for c in crons),
    )
    return App(id="app", url="http://app/api", functions=(fn,))


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2024, 5, 1, hour, minute, second, tzinfo=UTC)


async def test_a_cron_tick_fires_once_across_two_schedulers(env: Env) -> None:
    await AppStore(env.db).sync(cron_app("* * * * *"))
    topic = env.settings.events_topic
    one = CronFirer(env.db, env.bus, topic, Metrics())
    two = CronFirer(env.db, env.bus, topic, Metrics())
    await one.reload(at(12, 0, 30))
    await two.reload(at(12, 0, 30))
    assert one.next_due() == two.next_due() == at(12, 1)

    assert await one.fire(at(12, 0, 59)) == 0
    fired = await asyncio.gather(one.fire(at(12, 1, 0)), two.fire(at(12, 1, 0)))
    assert sorted(fired) == [0, 1]
    fired = await asyncio.gather(two.fire(at(12, 2, 1)), one.fire(at(12, 2, 0)))
    assert sorted(fired) == [0, 1]

    # A leader starting after a gap fires only the latest missed tick.
    late = CronFirer(env.db, env.bus, topic, Metrics())
    await late.reload(at(12, 7, 30))
    assert late.next_due() == at(12, 7)
    assert await late.fire(at(12, 7, 30)) == 1
    assert late.next_due() == at(12, 8)

    async with Reader(env.settings.kafka_bootstrap, topic, decode_event) as events:
        await events.read_until(lambda seen: len(seen) >= 3)
        await events.settle(0.5)
    seen: list[Event] = events.seen
    assert [e.ts for e in seen] == [int(at(12, m).timestamp() * 1000) for m in (1, 2, 7)]
    for e in seen:
        assert e.name == SCHEDULED_EVENT
        assert e.data == {"cron": "* * * * *", "function_id": "app-nightly"}
        assert e.id == scheduled_event_id("app-nightly", datetime.fromtimestamp(e.ts / 1000, UTC))


async def test_invalid_cron_is_skipped_and_function_changes_reload(env: Env) -> None:
    scheduler = SchedulerService(env.deps())
    async with running(scheduler):
        await until(lambda: scheduler.leading)
        await AppStore(env.db).sync(cron_app("every tuesday", "*/5 * * * *"))
        await until(lambda: len(scheduler.cron.entries) == 1)
        assert scheduler.cron.entries[0].spec.expr == "*/5 * * * *"
        assert scheduler.deps.metrics.dead_letters.labels("scheduler-cron")._value.get() == 1
        assert scheduler.leading
