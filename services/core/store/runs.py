"""Runs and their steps (table family: runs, steps).

Claiming and checkpointing are fenced: a claim bumps ``lease_token``; a checkpoint only applies
when the token it carries is still current and the run has not ended (a run cancelled while its
app call was in flight stays cancelled). Every write that sets ``wake_at`` notifies the
scheduler on ``headrace_wake`` with the wake time, so it never polls.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from services.core.model import Event, Function, Job, Run, RunStatus, Step, StepStatus
from services.core.store.apps import function_from_row
from services.core.store.db import WAKE_CHANNEL, Conn, Database
from services.core.store.events import event_from_row

_ACTIVE = RunStatus.RUNNING.value


def lease_owner_prefix() -> str:
    """How lease owners in this process begin (host and pid), so a restarted process can tell
    leases of its dead predecessor from its own."""
    return f"{socket.gethostname()}:{os.getpid()}:"


@dataclass(frozen=True, slots=True)
class NewRun:
    id: str
    function_id: str
    app_id: str
    event_ids: tuple[str, ...]
    max_attempts: int


@dataclass(frozen=True, slots=True)
class StepWrite:
    step_id: str
    name: str
    op: str
    status: StepStatus
    attempts: int
    memo: Any
    output: Any
    error: Any
    append_to_stack: bool


@dataclass(frozen=True, slots=True)
class RunWrite:
    """The run's fields after a checkpoint. An ended run keeps a ``wake_at`` until its finish
    events are published (``finish_published``)."""

    status: RunStatus
    attempt: int
    target: str
    planned: tuple[str, ...]
    planned_mode: str
    force_step_plan: bool
    request_version: int
    wait: dict[str, Any] | None
    output: Any
    error: Any
    not_before: datetime
    wake_at: datetime | None


@dataclass(frozen=True, slots=True)
class Claim:
    """What an executor needs for one call, read in the same statement that took the lease."""

    run: Run
    memo: dict[str, Any]
    function: Function | None
    events: list[Event]


class _Fenced(Exception):
    """Rolls back a checkpoint whose lease is no longer held."""


_CLAIM_SELECT = f"""
SELECT c.*,
    pg_notify('{WAKE_CHANNEL}', (extract(epoch FROM c.wake_at) * 1000)::bigint::text) AS _n,
    (SELECT coalesce(json_agg(json_build_array(s.step_id, s.memo) ORDER BY s.position), '[]')
        FROM steps s WHERE s.run_id = c.id AND s.position IS NOT NULL) AS _memo,
    (SELECT row_to_json(f) FROM (SELECT id, app_id, name, url, triggers, retries, config
        FROM functions WHERE id = c.function_id) f) AS _function,
    (SELECT coalesce(json_agg(row_to_json(e) ORDER BY array_position(c.event_ids, e.id)), '[]')
        FROM (SELECT id, name, data, "user", ts, v, idempotency_key FROM events
              WHERE id = ANY(c.event_ids)) e) AS _events
FROM c
"""

# Take the lease, and read the run's memo, function and events, in one round trip. The
# notification tells the scheduler about the lease's expiry (it may be asleep with no target).
_CLAIM_SQL = (
    """
WITH c AS (
    UPDATE runs SET lease_token = lease_token + 1, lease_owner = %s,
        wake_at = now() + make_interval(secs => %s), started_at = coalesce(started_at, now())
    WHERE id = %s AND generation = %s AND status = %s AND not_before <= now()
        AND (lease_owner IS NULL OR wake_at <= now())
    RETURNING *
)"""
    + _CLAIM_SELECT
)

# An ended run whose finish events may not have reached Kafka: take it for another publish.
# Two executors doing this at once is harmless: the events' ids derive from the run.
_CLAIM_FINISH_SQL = (
    """
WITH c AS (
    UPDATE runs SET wake_at = now() + make_interval(secs => %s)
    WHERE id = %s AND generation = %s AND status <> %s AND finish_pending
    RETURNING *
)"""
    + _CLAIM_SELECT
)


class RunStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self, conn: Conn, runs: Sequence[NewRun], redeliver_seconds: float
    ) -> list[str]:
        """Insert runs, idempotent on (function, first event); returns the ids created."""
        created: list[str] = []
        for r in runs:
            cur = await conn.execute(
                "INSERT INTO runs (id, function_id, app_id, event_id, event_ids, status,"
                " max_attempts, wake_at) VALUES (%s, %s, %s, %s, %s, %s, %s,"
                " now() + make_interval(secs => %s))"
                " ON CONFLICT (function_id, event_id) DO NOTHING RETURNING id",
                (
                    r.id,
                    r.function_id,
                    r.app_id,
                    r.event_ids[0],
                    list(r.event_ids),
                    _ACTIVE,
                    r.max_attempts,
                    redeliver_seconds,
                ),
            )
            if await cur.fetchone() is not None:
                created.append(r.id)
        if created:
            await _notify_wake(conn, "now() + make_interval(secs => %s)", (redeliver_seconds,))
        return created

    async def claim(self, job: Job, owner: str, lease_seconds: float) -> Claim | None:
        """Take the run's lease if the job is current and the run is due and not leased.

        One statement returns everything the call needs: the run, its memoized steps (in stack
        order), its function and its events. None when the job is stale, early, a duplicate,
        or the run ended.
        """
        async with self.db.conn() as conn:
            cur = await conn.execute(
                _CLAIM_SQL, (owner, lease_seconds, job.run_id, job.generation, _ACTIVE)
            )
            row = await cur.fetchone()
        return _claim(row)

    async def claim_finish(self, job: Job, lease_seconds: float) -> Claim | None:
        """Take an ended run whose finish events are still to be published (see
        ``finish_published``); None when there is nothing to publish for this job."""
        async with self.db.conn() as conn:
            cur = await conn.execute(
                _CLAIM_FINISH_SQL, (lease_seconds, job.run_id, job.generation, _ACTIVE)
            )
            row = await cur.fetchone()
        return _claim(row)

    async def finish_published(self, run_id: str) -> None:
        """The run's finish events are on Kafka: nothing more is due for it."""
        async with self.db.conn() as conn:
            await conn.execute(
                "UPDATE runs SET finish_pending = false, wake_at = NULL"
                " WHERE id = %s AND finish_pending AND status <> %s",
                (run_id, _ACTIVE),
            )

    async def checkpoint(
        self,
        run_id: str,
        lease_token: int,
        depth: int,
        steps: Sequence[StepWrite],
        run: RunWrite,
    ) -> int | None:
        """Commit step results and the run's next move in one transaction.

        ``depth`` is the stack's length when the lease was taken (appended steps get the
        positions after it). The statements go out pipelined, in one round trip. Returns the
        new generation, or None when the lease was lost (fenced) or the run ended, in which case
        nothing is written.
        """
        appended = [s.step_id for s in steps if s.append_to_stack]
        ended = run.status is not RunStatus.RUNNING
        try:
            async with self.db.tx() as conn, conn.pipeline():
                cur = await conn.execute(
                    "UPDATE runs SET generation = generation + 1, lease_owner = NULL,"
                    " status = %s, attempt = %s, stack = stack || %s::text[], target = %s,"
                    " planned = %s, planned_mode = %s, force_step_plan = %s,"
                    " request_version = %s, wait = %s, output = %s, error = %s,"
                    " not_before = %s, wake_at = %s, ended_at = CASE WHEN %s THEN now() END,"
                    " finish_pending = %s"
                    " WHERE id = %s AND lease_token = %s AND lease_owner IS NOT NULL"
                    " AND status = %s AND cardinality(stack) = %s RETURNING generation",
                    (
                        run.status.value,
                        run.attempt,
                        appended,
                        run.target,
                        list(run.planned),
                        run.planned_mode,
                        run.force_step_plan,
                        run.request_version,
                        _json(run.wait),
                        _json(run.output),
                        _json(run.error),
                        run.not_before,
                        run.wake_at,
                        ended,
                        ended,
                        run_id,
                        lease_token,
                        _ACTIVE,
                        depth,
                    ),
                )
                position = depth
                for s in steps:
                    pos = None
                    if s.append_to_stack:
                        pos = position
                        position += 1
                    done = s.status in (StepStatus.COMPLETED, StepStatus.FAILED)
                    await conn.execute(
                        "INSERT INTO steps (run_id, step_id, name, op, status, attempts,"
                        " position, memo, output, error, ended_at)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                        "  CASE WHEN %s THEN now() END)"
                        " ON CONFLICT (run_id, step_id) DO UPDATE SET name = excluded.name,"
                        " op = excluded.op, status = excluded.status,"
                        " attempts = excluded.attempts, position = excluded.position,"
                        " memo = excluded.memo, output = excluded.output,"
                        " error = excluded.error, ended_at = excluded.ended_at",
                        (
                            run_id,
                            s.step_id,
                            s.name,
                            s.op,
                            s.status.value,
                            s.attempts,
                            pos,
                            Jsonb(s.memo),
                            _json(s.output),
                            _json(s.error),
                            done,
                        ),
                    )
                if run.wake_at is not None:
                    await _notify_wake(conn, "%s::timestamptz", (run.wake_at,))
                row = await cur.fetchone()
                if row is None:
                    raise _Fenced
                return int(row["generation"])
        except _Fenced:
            return None

    async def complete_wait(self, conn: Conn, run_id: str, step_id: str, depth: int) -> None:
        """Mark a finished sleep's step completed at the end of the stack."""
        await conn.execute(
            "UPDATE steps SET status = %s, position = %s, memo = 'null'::jsonb, ended_at = now()"
            " WHERE run_id = %s AND step_id = %s",
            (StepStatus.COMPLETED.value, depth, run_id, step_id),
        )

    async def fire_due(self, redeliver_seconds: float, limit: int = 1000) -> list[Job]:
        """Runs whose wake time passed: push their wake time out and return their jobs.

        A lease whose time passed is released here, so the job can be claimed by anyone; the
        old holder's token is then useless (a checkpoint needs a held lease).
        """
        async with self.db.tx() as conn:
            cur = await conn.execute(
                "UPDATE runs SET wake_at = now() + make_interval(secs => %s), lease_owner = NULL"
                " WHERE id IN (SELECT id FROM runs WHERE wake_at <= now() ORDER BY wake_at"
                "   LIMIT %s FOR UPDATE SKIP LOCKED)"
                " RETURNING id, generation",
                (redeliver_seconds, limit),
            )
            return [Job(r["id"], r["generation"]) for r in await cur.fetchall()]

    async def next_wake(self) -> datetime | None:
        async with self.db.conn() as conn:
            cur = await conn.execute("SELECT min(wake_at) AS w FROM runs WHERE wake_at IS NOT NULL")
            row = await cur.fetchone()
            return row["w"] if row else None

    async def wake_all_now(self, live_owner_prefix: str | None = None) -> int:
        """Make every active run that is not sleeping due now (after the job log was lost).

        With ``live_owner_prefix``, leases held by anyone else are released too: the caller
        knows their holders died with the previous process (the dev server's case).
        """
        async with self.db.tx() as conn:
            if live_owner_prefix is None:
                cur = await conn.execute(
                    "UPDATE runs SET wake_at = greatest(not_before, now())"
                    " WHERE wake_at IS NOT NULL AND lease_owner IS NULL AND wait IS NULL"
                )
            else:
                cur = await conn.execute(
                    "UPDATE runs SET wake_at = greatest(not_before, now()), lease_owner = NULL"
                    " WHERE wake_at IS NOT NULL AND wait IS NULL"
                    " AND (lease_owner IS NULL OR NOT starts_with(lease_owner, %s))",
                    (live_owner_prefix,),
                )
            return cur.rowcount

    async def get(self, run_id: str) -> Run | None:
        async with self.db.conn() as conn:
            cur = await conn.execute("SELECT * FROM runs WHERE id = %s", (run_id,))
            row = await cur.fetchone()
            return _run(row) if row else None

    async def for_event(self, event_id: str) -> list[Run]:
        async with self.db.conn() as conn:
            cur = await conn.execute(
                "SELECT * FROM runs WHERE %s = ANY(event_ids) ORDER BY id", (event_id,)
            )
            return [_run(r) for r in await cur.fetchall()]

    async def steps(self, run_id: str) -> list[Step]:
        """A run's steps in execution order (finished ones by position, then the rest)."""
        async with self.db.conn() as conn:
            cur = await conn.execute(
                "SELECT * FROM steps WHERE run_id = %s ORDER BY position NULLS LAST, started_at",
                (run_id,),
            )
            return [
                Step(
                    run_id=r["run_id"],
                    step_id=r["step_id"],
                    name=r["name"],
                    op=r["op"],
                    status=StepStatus(r["status"]),
                    attempts=r["attempts"],
                    memo=r["memo"],
                    output=r["output"],
                    error=r["error"],
                    position=r["position"],
                    started_at=r["started_at"],
                    ended_at=r["ended_at"],
                )
                for r in await cur.fetchall()
            ]


async def _notify_wake(conn: Conn, when_sql: str, params: tuple[Any, ...]) -> None:
    await conn.execute(
        f"SELECT pg_notify('{WAKE_CHANNEL}',"
        f" (extract(epoch FROM {when_sql}) * 1000)::bigint::text)",
        params,
    )


def _json(value: Any) -> Jsonb | None:
    """A jsonb parameter; None is SQL NULL (memos use ``Jsonb`` directly: null is a value)."""
    return None if value is None else Jsonb(value)


def _claim(row: dict[str, Any] | None) -> Claim | None:
    if row is None:
        return None
    return Claim(
        run=_run(row),
        memo={step_id: memo for step_id, memo in row["_memo"]},
        function=function_from_row(row["_function"]) if row["_function"] else None,
        events=[event_from_row(e) for e in row["_events"]],
    )


def _run(row: dict[str, Any]) -> Run:
    return Run(
        id=row["id"],
        function_id=row["function_id"],
        app_id=row["app_id"],
        event_ids=tuple(row["event_ids"]),
        status=RunStatus(row["status"]),
        generation=row["generation"],
        attempt=row["attempt"],
        max_attempts=row["max_attempts"],
        stack=tuple(row["stack"]),
        request_version=row["request_version"],
        force_step_plan=row["force_step_plan"],
        target=row["target"],
        planned=tuple(row["planned"]),
        planned_mode=row["planned_mode"],
        wait=row["wait"],
        output=row["output"],
        error=row["error"],
        lease_token=row["lease_token"],
        not_before=row["not_before"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
    )
