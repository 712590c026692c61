"""The executor consumes ``headrace.jobs`` and moves runs forward one app call at a time.

For each job: claim the run (lease + fencing token; a stale, early or duplicate job is a no-op),
build the signed call request from what Postgres holds, POST it to the app, let the engine decide,
then commit the step results and the run's next move in one fenced transaction, and only then
publish the next job or the run's finish events. Offsets are committed once jobs are handed to
workers: a job lost to a crash is re-published by the scheduler when the lease expires.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import random
from datetime import timedelta
from typing import Any

import httpx
from opentelemetry.trace import StatusCode
from ulid import ULID

from services.core import log as logctx
from services.core.bus import Consumer
from services.core.codec import CodecError, decode_job, encode_job
from services.core.engine import (
    Checkpoint,
    Decision,
    ErrorReply,
    FailedRun,
    Finished,
    Reply,
    RetryPolicy,
    RunAt,
    RunNow,
    RunState,
    TransportFailure,
    decide,
    failure_event_data,
    finished_event_data,
    resume,
)
from services.core.errors import HeadraceError
from services.core.model import Event, Function, Job, Run, RunStatus
from services.core.publish import publish_events
from services.core.service import Deps, Service
from services.core.store import DeadLetterStore, RunStore, RunWrite, StepWrite, lease_owner_prefix
from services.executor.call import build_body, call_app
from services.executor.response import classify

log = logging.getLogger(__name__)

DRAIN_SECONDS = 10.0


class ExecutorService(Service):
    name = "executor"

    def __init__(self, deps: Deps, *, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(deps)
        s = deps.settings
        self.consumer: Consumer | None = None
        self.owner = f"{lease_owner_prefix()}{id(self):x}"
        self.runs = RunStore(deps.db)
        self.dead_letters = DeadLetterStore(deps.db, deps.metrics)
        self.policy = RetryPolicy.dev() if s.retry_schedule == "dev" else RetryPolicy.production()
        self.rng = random.Random()
        self._http = http
        self._own_http = http is None
        self._slots = asyncio.Semaphore(s.executor_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = False

    async def start(self) -> None:
        if self._http is None:
            self._http = httpx.AsyncClient(
                limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
                timeout=self.deps.settings.app_timeout,
            )
        self.consumer = self.deps.consumer(self.deps.settings.jobs_topic, "executor")
        await self.consumer.start()
        self._started = True

    async def stop(self) -> None:
        # Let calls in flight finish and commit (bounded), so a restart does not leave their
        # runs waiting for a lease to expire.
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=DRAIN_SECONDS)
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.consumer is not None:
            await self.consumer.stop()
        if self._own_http and self._http is not None:
            await self._http.aclose()

    def ready(self) -> bool:
        return self._started

    async def run(self) -> None:
        consumer = self.consumer
        if consumer is None:
            raise RuntimeError(f"{self.name}: run() before start()")
        async for records in consumer.batches():
            jobs: dict[str, Job] = {}
            for r in records:
                try:
                    job = decode_job(r.value)
                except CodecError as exc:
                    await self.dead_letters.record("executor", r, exc.message)
                    log.warning(
                        "skipped job record %s/%d@%d: %s", r.topic, r.partition, r.offset, exc
                    )
                    continue
                seen = jobs.get(job.run_id)
                if seen is None or seen.generation < job.generation:
                    jobs[job.run_id] = job
            for job in jobs.values():
                await self._slots.acquire()
                task = asyncio.create_task(self._guarded(job))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            await consumer.commit(records)

    async def _guarded(self, job: Job) -> None:
        try:
            await self.handle(job)
        except HeadraceError as exc:
            # Our own infrastructure failed; the lease runs out and the scheduler retries.
            log.warning("job for run %s failed: %s", job.run_id, exc)
        except Exception:
            log.exception("unexpected error handling run %s", job.run_id)
        finally:
            self._slots.release()

    async def handle(self, job: Job) -> bool:
        """Run one job; returns False when it was stale (a no-op)."""
        s = self.deps.settings
        claimed = await self.runs.claim(job, self.owner, s.lease_seconds)
        if claimed is None:
            unfinished = await self.runs.claim_finish(job, s.lease_seconds)
            if unfinished is not None:
                # The run ended but its finish events may not have reached Kafka.
                await self._publish_finish(unfinished.run, unfinished.events)
                return True
            self.deps.metrics.jobs_stale.inc()
            return False
        run, memo, fn, events = claimed.run, claimed.memo, claimed.function, claimed.events
        logctx.run_id.set(run.id)
        logctx.function_id.set(run.function_id)
        now = self.deps.clock.now()
        state = RunState.from_run(run, now, frozenset(memo))
        checkpoints: list[Checkpoint] = []
        if state.wait is not None:
            woke = resume(state)
            if isinstance(woke.next, RunAt):
                # The timer fired early (clocks disagree): set it again, don't call the app.
                return await self._commit(run, events, list(woke.checkpoints), woke)
            if not woke.ignored:
                checkpoints.extend(woke.checkpoints)
                for c in woke.checkpoints:
                    if c.append_to_stack:
                        memo[c.step_id] = c.memo
                state = state.advance(woke, now)
        if fn is None or not events:
            what = (
                f"function {run.function_id!r} is not registered"
                if fn is None
                else (f"the run's event {run.event_ids[0]!r} is missing")
            )
            decision = decide(
                state,
                ErrorReply(
                    status=404, body={"name": "Error", "message": what}, no_retry=True, message=what
                ),
                self.policy,
                self.rng,
            )
        else:
            decision = await self._call(fn, run, state, events, memo, job)
        if decision.ignored:
            return True
        return await self._commit(run, events, checkpoints + list(decision.checkpoints), decision)

    async def _call(
        self,
        fn: Function,
        run: Run,
        state: RunState,
        events: list[Event],
        memo: dict[str, Any],
        job: Job,
    ) -> Decision:
        s = self.deps.settings
        logctx.step_id.set(state.target)
        current = dataclasses.replace(
            run,
            attempt=state.attempt,
            stack=state.stack,
            target=state.target,
            force_step_plan=state.force_step_plan,
            request_version=state.request_version,
        )
        job_id = f"{run.id}:{run.generation}"
        body = build_body(
            current, events, memo, target=state.target, env=s.server_kind, job_id=job_id
        )
        assert self._http is not None
        trace_headers: dict[str, str] = {}
        attributes = {
            "headrace.run_id": run.id,
            "headrace.function_id": fn.id,
            "headrace.step_id": state.target,
            "headrace.attempt": state.attempt,
            "url.full": fn.url,
        }
        with self.deps.tracing.call_span(
            run.id, f"call {fn.id}", attributes, trace_headers
        ) as span:
            resp = await call_app(
                self._http,
                fn.url,
                body,
                run=current,
                target=state.target,
                job_id=job_id,
                server_kind=s.server_kind,
                signing_key=s.signing_key,
                extra_headers=trace_headers,
                timeout=s.app_timeout,
            )
            now = self.deps.clock.now()
            state = dataclasses.replace(state, now=now)
            reply: Reply
            if resp.error is not None:
                reply = TransportFailure(resp.error)
                outcome = "unreachable"
            else:
                reply = classify(resp.status, resp.headers, resp.body, now)
                outcome = str(resp.status)
            span.set_attribute("http.response.status_code", resp.status)
            span.set_attribute("headrace.reply", type(reply).__name__)
            if isinstance(reply, ErrorReply | TransportFailure):
                span.set_status(StatusCode.ERROR, reply.message)
        self.deps.metrics.app_calls.labels(outcome).observe(resp.seconds)
        decision = decide(state, reply, self.policy, self.rng)
        if isinstance(reply, ErrorReply | TransportFailure):
            log.info(
                "app call failed (%s: %s): attempt %d of %d",
                outcome,
                reply.message,
                state.attempt + 1,
                state.max_attempts,
            )
        return decision

    async def _commit(
        self,
        run: Run,
        events: list[Event],
        checkpoints: list[Checkpoint],
        decision: Decision,
    ) -> bool:
        s = self.deps.settings
        now = self.deps.clock.now()
        nxt = decision.next
        wake_at = None
        not_before = now
        if isinstance(nxt, RunNow | Finished | FailedRun):
            # A job, or the finish events, may be lost after the commit: come back if so.
            wake_at = now + timedelta(seconds=s.redeliver_seconds)
        elif isinstance(nxt, RunAt):
            wake_at = not_before = nxt.when
        steps = [
            StepWrite(
                step_id=c.step_id,
                name=c.name,
                op=c.op,
                status=c.status,
                attempts=c.attempts,
                memo=c.memo,
                output=c.output,
                error=c.error,
                append_to_stack=c.append_to_stack,
            )
            for c in checkpoints
        ]
        write = RunWrite(
            status=decision.status,
            attempt=decision.attempt,
            target=decision.target,
            planned=decision.planned,
            planned_mode=decision.planned_mode,
            force_step_plan=decision.force_step_plan,
            request_version=decision.request_version,
            wait=dict(decision.wait) if decision.wait is not None else None,
            output=decision.output,
            error=decision.error,
            not_before=not_before,
            wake_at=wake_at,
        )
        generation = await self.runs.checkpoint(
            run.id, run.lease_token, len(run.stack), steps, write
        )
        if generation is None:
            log.info("checkpoint fenced out (lease lost or run ended); discarded")
            return False
        for c in checkpoints:
            self.deps.metrics.steps.labels(c.op).inc()
        if isinstance(nxt, RunNow):
            await self.deps.bus.send(s.jobs_topic, encode_job(Job(run.id, generation)), run.id)
        elif isinstance(nxt, Finished | FailedRun):
            self.deps.metrics.runs_finished.labels(decision.status.value).inc()
            ended = dataclasses.replace(
                run, status=decision.status, output=decision.output, error=decision.error
            )
            await self._publish_finish(ended, events)
        return True

    async def _publish_finish(self, run: Run, events: list[Event]) -> None:
        """Put the run's finish events on Kafka, then mark them published. Their ids derive
        from the run, so publishing again after a crash stores them once."""
        now_ms = int(self.deps.clock.now().timestamp() * 1000)
        await publish_events(
            self.deps.bus,
            self.deps.settings.events_topic,
            finish_events(run, events, now_ms),
            now_ms,
        )
        await self.runs.finish_published(run.id)


def finish_events(run: Run, events: list[Event], now_ms: int) -> list[Event]:
    """``inngest/function.failed`` (for a failed run) and ``inngest/function.finished``."""
    trigger = events[0].to_sdk() if events else {}
    out: list[Event] = []
    if run.status is RunStatus.FAILED:
        out.append(
            Event(
                id=derived_event_id(run.id, "failed"),
                name="inngest/function.failed",
                ts=now_ms,
                data=failure_event_data(run.function_id, run.id, run.error, trigger),
            )
        )
        data = finished_event_data(run.function_id, run.id, trigger, error=run.error)
    else:
        data = finished_event_data(run.function_id, run.id, trigger, output=run.output)
    out.append(
        Event(
            id=derived_event_id(run.id, "finished"),
            name="inngest/function.finished",
            ts=now_ms,
            data=data,
        )
    )
    return out


def derived_event_id(run_id: str, kind: str) -> str:
    """A ULID with the run's time and entropy from (run, kind): the same every time."""
    try:
        ms = ULID.from_str(run_id).milliseconds
    except ValueError:
        ms = 0
    entropy = hashlib.sha256(f"{run_id}:{kind}".encode()).digest()[:10]
    return str(ULID.from_bytes(ms.to_bytes(6, "big") + entropy))
