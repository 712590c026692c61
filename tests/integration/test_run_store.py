"""Leases, fencing and wake times on real Postgres (laws 3 and 4): a stale, early or duplicate
job claims nothing; a checkpoint from a lease that was lost writes nothing; an expired lease is
released by the scheduler's sweep and the next claim carries a new token."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.core.model import App, Event, Function, Job, RunStatus, StepStatus, Trigger
from services.core.store import (
    AppStore,
    Database,
    EventStore,
    NewRun,
    RunStore,
    RunWrite,
    StepWrite,
    lease_owner_prefix,
)

pytestmark = pytest.mark.integration


async def seed(db: Database, run_id: str = "R1") -> RunStore:
    fn = Function(
        id="app-f",
        app_id="app",
        name="f",
        url="http://app/api?fnId=app-f",
        triggers=(Trigger(event="a/b"),),
    )
    await AppStore(db).sync(App(id="app", url="http://app/api", functions=(fn,)))
    runs = RunStore(db)
    async with db.tx() as conn:
        await EventStore(db).insert(conn, [Event(id="E1", name="a/b", data={"x": 1}, ts=5)])
        await runs.create(conn, [NewRun(run_id, "app-f", "app", ("E1",), 3)], 30)
    return runs


def step(step_id: str, value: Any) -> StepWrite:
    return StepWrite(
        step_id, step_id, "StepRun", StepStatus.COMPLETED, 1, {"data": value}, value, None, True
    )


def running(wake_at: datetime | None = None, **changes: Any) -> RunWrite:
    now = datetime.now(UTC)
    fields: dict[str, Any] = dict(
        status=RunStatus.RUNNING,
        attempt=0,
        target="step",
        planned=(),
        planned_mode="wait",
        force_step_plan=False,
        request_version=2,
        wait=None,
        output=None,
        error=None,
        not_before=now,
        wake_at=wake_at or now,
    )
    fields.update(changes)
    return RunWrite(**fields)


async def test_claim_reads_everything_the_call_needs(db: Database) -> None:
    runs = await seed(db)
    claim = await runs.claim(Job("R1", 1), "exec-a", 60)
    assert claim is not None
    assert claim.run.lease_token == 1
    assert claim.memo == {}
    assert claim.function is not None and claim.function.url == "http://app/api?fnId=app-f"
    assert [e.data for e in claim.events] == [{"x": 1}]
    gen = await runs.checkpoint("R1", 1, 0, [step("h1", 1)], running())
    assert gen == 2
    again = await runs.claim(Job("R1", 2), "exec-a", 60)
    assert again is not None and again.memo == {"h1": {"data": 1}}


async def test_stale_duplicate_and_early_jobs_claim_nothing(db: Database) -> None:
    runs = await seed(db)
    assert await runs.claim(Job("R1", 7), "exec-a", 60) is None  # wrong generation
    first = await runs.claim(Job("R1", 1), "exec-a", 60)
    assert first is not None
    assert await runs.claim(Job("R1", 1), "exec-b", 60) is None  # leased: a duplicate
    later = datetime.now(UTC) + timedelta(hours=1)
    gen = await runs.checkpoint(
        "R1", first.run.lease_token, 0, [], running(wake_at=later, not_before=later)
    )
    assert gen == 2
    assert await runs.claim(Job("R1", 2), "exec-a", 60) is None  # sleeping: too early
    assert await runs.claim(Job("R1", 1), "exec-a", 60) is None  # the old job is stale


async def test_a_lost_lease_fences_the_old_holder(db: Database) -> None:
    runs = await seed(db)
    old = await runs.claim(Job("R1", 1), "exec-a", 0.2)
    assert old is not None
    await asyncio.sleep(0.3)  # the lease runs out: exec-a is presumed dead
    jobs = await runs.fire_due(redeliver_seconds=30)
    assert [(j.run_id, j.generation) for j in jobs] == [("R1", 1)]
    new = await runs.claim(Job("R1", 1), "exec-b", 60)
    assert new is not None and new.run.lease_token == old.run.lease_token + 1
    # The presumed-dead executor wakes up and tries to commit: nothing is written.
    assert (
        await runs.checkpoint("R1", old.run.lease_token, 0, [step("h1", "zombie")], running())
        is None
    )
    assert await runs.steps("R1") == []
    assert await runs.checkpoint("R1", new.run.lease_token, 0, [step("h1", "real")], running()) == 2
    assert [s.output for s in await runs.steps("R1")] == ["real"]


async def test_released_lease_cannot_commit_twice(db: Database) -> None:
    runs = await seed(db)
    claim = await runs.claim(Job("R1", 1), "exec-a", 60)
    assert claim is not None
    assert await runs.checkpoint("R1", claim.run.lease_token, 0, [step("h1", 1)], running()) == 2
    # The same token again (a retried commit): fenced, the step stays committed once.
    assert await runs.checkpoint("R1", claim.run.lease_token, 1, [step("h2", 2)], running()) is None
    assert [s.step_id for s in await runs.steps("R1")] == ["h1"]


async def test_an_ended_run_stays_ended(db: Database) -> None:
    runs = await seed(db)
    claim = await runs.claim(Job("R1", 1), "exec-a", 60)
    assert claim is not None
    async with db.tx() as conn:  # cancelled while the app call is in flight
        await conn.execute("UPDATE runs SET status = 'Cancelled', wake_at = NULL WHERE id = 'R1'")
    assert (
        await runs.checkpoint(
            "R1",
            claim.run.lease_token,
            0,
            [step("h1", 1)],
            running(status=RunStatus.COMPLETED, wake_at=None),
        )
        is None
    )
    run = await runs.get("R1")
    assert run is not None and run.status is RunStatus.CANCELLED


async def test_runs_are_created_once_per_function_and_event(db: Database) -> None:
    runs = await seed(db)
    async with db.tx() as conn:
        created = await runs.create(conn, [NewRun("R2", "app-f", "app", ("E1",), 3)], 30)
    assert created == []
    assert [r.id for r in await runs.for_event("E1")] == ["R1"]


async def test_next_wake_is_the_earliest_due_time(db: Database) -> None:
    runs = await seed(db)
    claim = await runs.claim(Job("R1", 1), "exec-a", 60)
    assert claim is not None
    wake = datetime.now(UTC) + timedelta(minutes=5)
    await runs.checkpoint("R1", claim.run.lease_token, 0, [], running(wake_at=wake))
    nxt = await runs.next_wake()
    assert nxt is not None and abs((nxt - wake).total_seconds()) < 0.001
    assert await runs.fire_due(30) == []  # nothing due yet


async def test_recovery_releases_only_leases_of_other_processes(db: Database) -> None:
    runs = await seed(db, "R1")
    async with db.tx() as conn:
        await EventStore(db).insert(conn, [Event(id="E2", name="a/b", data={}, ts=6)])
        await runs.create(conn, [NewRun("R2", "app-f", "app", ("E2",), 3)], 30)
    dead = await runs.claim(Job("R1", 1), "old-host:1:abc", 600)
    mine = await runs.claim(Job("R2", 1), f"{lease_owner_prefix()}abc", 600)
    assert dead is not None and mine is not None
    assert await runs.wake_all_now(live_owner_prefix=lease_owner_prefix()) == 1
    assert await runs.claim(Job("R1", 1), "new-host:2:def", 60) is not None  # released
    assert await runs.claim(Job("R2", 1), "new-host:2:def", 60) is None  # still ours
