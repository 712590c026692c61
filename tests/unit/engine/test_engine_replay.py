"""Recorded run histories (wire protocol §10) replayed through the engine with a fake clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from services.core.engine import (
    Decision,
    DoneReply,
    Finished,
    OpsReply,
    RetryPolicy,
    RunAt,
    RunNow,
    RunState,
    StepOp,
    decide,
    resume,
)
from services.core.model import RunStatus, StepStatus

FIRST = "e0996a37c13d44c3b06074939d43fa3759bd32c1"
SECOND = "352f7829a2384b001cc12b0c2613c756454a1f6a"
NAP = "c2640f79b4ed481b838ce4ad75330aa3f825d4d9"
START = datetime(2026, 11, 22, 6, 47, 38, tzinfo=UTC)
WAKE = datetime(2026, 11, 22, 6, 47, 40, 750000, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


def ops(*raw: dict[str, Any]) -> OpsReply:
    return OpsReply([StepOp.from_wire(r) for r in raw], request_version=2)


def step(s: RunState, reply: OpsReply | DoneReply) -> Decision:
    return decide(s, reply, RetryPolicy.dev(), random.Random(0))


def test_two_step_runs_a_sleep_and_done() -> None:
    clock = FakeClock(START)
    s = RunState(run_id="01JTESTRUN0000000000000000", status=RunStatus.RUNNING, now=clock.now)
    memos: dict[str, Any] = {}

    # Round 1: discovery runs `first` immediately.
    d1 = step(
        s,
        ops(
            {
                "op": "StepRun",
                "id": FIRST,
                "name": "first",
                "displayName": "first",
                "data": {"a": 1},
                "opts": None,
                "userland": {"id": "first", "index": None},
            }
        ),
    )
    assert d1.next == RunNow() and d1.target == "step" and d1.stack == (FIRST,)
    assert d1.request_version == 2
    memos.update({c.step_id: c.memo for c in d1.checkpoints})
    s = s.advance(d1, clock.advance(timedelta(milliseconds=30)))

    # Round 2: `second`.
    d2 = step(s, ops({"op": "StepRun", "id": SECOND, "name": "second", "data": "hello world"}))
    assert d2.stack == (FIRST, SECOND) and d2.next == RunNow()
    memos.update({c.step_id: c.memo for c in d2.checkpoints})
    s = s.advance(d2, clock.advance(timedelta(milliseconds=30)))

    # Round 3: the sleep; the step is not in the stack until the timer fires.
    d3 = step(
        s,
        ops({"op": "Sleep", "id": NAP, "name": "2026-11-22T06:47:40.750Z", "displayName": "nap"}),
    )
    assert d3.next == RunAt(WAKE, "sleep")
    assert d3.stack == (FIRST, SECOND)
    assert d3.checkpoints[0].status is StepStatus.SLEEPING
    s = s.advance(d3, clock.advance(timedelta(seconds=1)))

    # A timer that fires early sets itself again and changes nothing.
    early = resume(s)
    assert early.next == RunAt(WAKE, "sleep") and early.checkpoints == ()
    assert early.wait == d3.wait

    s = s.advance(early, clock.advance(timedelta(seconds=2)))
    d4 = resume(s)
    assert d4.next == RunNow() and d4.target == "step" and d4.wait is None
    (slept,) = d4.checkpoints
    assert (slept.step_id, slept.name, slept.status) == (NAP, "nap", StepStatus.COMPLETED)
    assert slept.memo is None and slept.append_to_stack
    memos.update({c.step_id: c.memo for c in d4.checkpoints})
    s = s.advance(d4, clock.advance(timedelta(milliseconds=5)))
    assert s.stack == (FIRST, SECOND, NAP)

    # What round 4 sends the SDK, exactly as §10.1 shows it.
    assert memos == {FIRST: {"data": {"a": 1}}, SECOND: {"data": "hello world"}, NAP: None}

    # A second firing of the same timer is stale.
    assert resume(s).ignored

    output = {"r1": {"a": 1}, "r2": "hello world", "attempt": 0, "run_id": s.run_id}
    d5 = step(s, DoneReply(output, request_version=2))
    assert d5.status is RunStatus.COMPLETED and d5.next == Finished(output)
    assert d5.stack == (FIRST, SECOND, NAP)


def test_parallel_group_wait_mode_counts_calls_exactly() -> None:
    """§10.3: discovery, p1, p2, discovery (lone step planned), after, discovery, done."""
    s = RunState(run_id="R", status=RunStatus.RUNNING, now=START)
    calls: list[tuple[str, bool]] = []

    def call(reply: OpsReply | DoneReply) -> Decision:
        nonlocal s
        calls.append((s.target, s.force_step_plan))
        d = step(s, reply)
        s = s.advance(d)
        return d

    call(ops({"op": "StepPlanned", "id": "p1"}, {"op": "StepPlanned", "id": "p2"}))
    call(ops({"op": "StepRun", "id": "p1", "data": 10}))
    call(ops({"op": "StepRun", "id": "p2", "data": 20}))
    call(ops({"op": "StepRun", "id": "after", "data": 30}))
    d = call(DoneReply([[10, 20], 30]))
    assert calls == [("step", False), ("p1", True), ("p2", True), ("step", False), ("step", False)]
    assert s.stack == ("p1", "p2", "after")
    assert d.next == Finished([[10, 20], 30])
