"""Property tests: random reply sequences never break the engine's invariants."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.core.engine import (
    DoneReply,
    ErrorReply,
    OpsReply,
    RetryPolicy,
    RunState,
    StepOp,
    TransportFailure,
    can_transition,
    decide,
    resume,
)
from services.core.model import RunStatus, StepStatus

START = datetime(2030, 1, 1, tzinfo=UTC)
IDS = st.sampled_from(["a", "b", "c", "d", "e"])
ERR = {"name": "Error", "message": "x"}

op_strategy = st.one_of(
    st.builds(StepOp, op=st.just("StepRun"), id=IDS, data=st.integers()),
    st.builds(StepOp, op=st.just("StepError"), id=IDS, error=st.just(ERR)),
    st.builds(StepOp, op=st.just("StepFailed"), id=IDS, error=st.just(ERR)),
    st.builds(
        StepOp,
        op=st.just("StepPlanned"),
        id=IDS,
        opts=st.sampled_from([None, {"parallelMode": "race"}]),
    ),
    st.builds(
        StepOp,
        op=st.just("Sleep"),
        id=IDS,
        name=st.sampled_from(["2s", "1m", "2030-01-01T00:05:00Z", "garbage"]),
    ),
    st.builds(
        StepOp,
        op=st.sampled_from(
            ["DiscoveryRequest", "RunComplete", "StepNotFound", "None", "WaitForEvent"]
        ),
        id=IDS,
    ),
)

reply_strategy = st.one_of(
    st.builds(
        OpsReply,
        ops=st.lists(op_strategy, max_size=4),
        request_version=st.sampled_from([None, 1, 2]),
        no_retry=st.booleans(),
    ),
    st.builds(DoneReply, output=st.integers(), request_version=st.sampled_from([None, 2])),
    st.builds(
        ErrorReply,
        status=st.sampled_from([400, 401, 500, 502]),
        body=st.sampled_from([None, "text", {"name": "E", "message": "m"}]),
        no_retry=st.sampled_from([None, True, False]),
    ),
    st.builds(TransportFailure, message=st.just("timed out")),
)
# None stands for "a sleep timer fires"; "cancel" for a cancel arriving between calls.
event_strategy = st.one_of(reply_strategy, st.none(), st.just("cancel"))


@settings(max_examples=300, deadline=None)
@given(
    events=st.lists(event_strategy, max_size=25),
    max_attempts=st.integers(min_value=1, max_value=4),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_random_histories_keep_the_invariants(
    events: list[Any], max_attempts: int, seed: int
) -> None:
    rng = random.Random(seed)
    policy = RetryPolicy.production()
    s = RunState(run_id="R", status=RunStatus.RUNNING, now=START, max_attempts=max_attempts)
    for n, event in enumerate(events):
        now = START + timedelta(minutes=10 * n)
        if event == "cancel":
            if s.status is RunStatus.RUNNING:
                s = RunState(run_id=s.run_id, status=RunStatus.CANCELLED, now=now, stack=s.stack)
            continue
        before = s
        d = resume(s) if event is None else decide(s, event, policy, rng)

        assert d.ignored or d.next is not None
        if d.ignored:
            assert d.checkpoints == () and d.status is before.status
        else:
            assert can_transition(before.status, d.status)
        assert len(set(d.stack)) == len(d.stack)
        appended = [c.step_id for c in d.checkpoints if c.append_to_stack]
        assert d.stack == before.stack + tuple(appended)
        assert 0 <= d.attempt < max_attempts or (d.attempt == 0 and max_attempts == 1)
        for c in d.checkpoints:
            if c.op == "StepRun":
                assert c.memo == {"data": c.output}
            if c.status is StepStatus.FAILED:
                assert c.memo == {"error": c.error}
        if d.status is RunStatus.RUNNING and not d.ignored:
            assert d.target == "step" or d.target in d.planned
        s = before.advance(d, now)
        if before.status.ended:
            assert s.status is before.status
