"""One test (or a few) per engine rule."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.core.engine import (
    Decision,
    DoneReply,
    ErrorReply,
    FailedRun,
    Finished,
    OpsReply,
    Reply,
    RetryPolicy,
    RunAt,
    RunNow,
    RunState,
    StepOp,
    TransportFailure,
    decide,
    failure_event_data,
    finished_event_data,
)
from services.core.model import Run, RunStatus, StepStatus

NOW = datetime(2026, 11, 22, 6, 0, 0, tzinfo=UTC)
POLICY = RetryPolicy.dev()


def state(**changes: Any) -> RunState:
    base = RunState(run_id="R1", status=RunStatus.RUNNING, now=NOW, request_version=2)
    return replace(base, **changes)


def run(s: RunState, reply: Reply, seed: int = 0) -> Decision:
    return decide(s, reply, POLICY, random.Random(seed))


def step_run(sid: str, data: Any, name: str | None = None) -> StepOp:
    return StepOp(op="StepRun", id=sid, name=name or sid, display_name=name or sid, data=data)


def planned(sid: str, **opts: Any) -> StepOp:
    return StepOp(op="StepPlanned", id=sid, name=sid, display_name=sid, opts=opts or None)


ERR = {"name": "ValueError", "message": "step exploded", "stack": "Traceback"}


# Rule 1: a StepRun is checkpointed, wrapped, appended; discovery follows.
def test_step_run_checkpoints_wrapped_and_calls_discovery() -> None:
    d = run(state(attempt=2), OpsReply([step_run("h1", {"data": 1}, "first")]))
    (cp,) = d.checkpoints
    assert cp.memo == {"data": {"data": 1}}
    assert cp.output == {"data": 1}
    assert (cp.name, cp.op, cp.status, cp.append_to_stack) == (
        "first",
        "StepRun",
        StepStatus.COMPLETED,
        True,
    )
    assert cp.attempts == 3
    assert d.stack == ("h1",) and d.attempt == 0
    assert d.target == "step" and d.next == RunNow()


def test_step_run_with_plans_left_targets_next_planned_in_wait_mode() -> None:
    s = state(target="p1", planned=("p1", "p2"), force_step_plan=True)
    d = run(s, OpsReply([step_run("p1", 10)]))
    assert d.planned == ("p2",) and d.target == "p2" and d.next == RunNow()
    assert d.force_step_plan is True
    d2 = run(s.advance(d), OpsReply([step_run("p2", 20)]))
    assert d2.planned == () and d2.target == "step"
    assert d2.stack == ("p1", "p2")


def test_race_mode_calls_discovery_after_each_planned_step() -> None:
    s = state(target="p1", planned=("p1", "p2"), planned_mode="race", force_step_plan=True)
    d = run(s, OpsReply([step_run("p1", 10)]))
    assert d.target == "step" and d.planned == ("p2",) and d.planned_mode == "race"
    # discovery reports the still-pending p2 again: run it, no duplicate plan
    d2 = run(s.advance(d), OpsReply([planned("p2", parallelMode="race")]))
    assert d2.target == "p2" and d2.planned == ("p2",)


def test_user_facing_name_falls_back_to_userland_then_name() -> None:
    op = StepOp(op="StepRun", id="h", name="raw", userland={"id": "same", "index": 1}, data=1)
    assert run(state(), OpsReply([op])).checkpoints[0].name == "same"
    bare = StepOp(op="StepRun", id="h", name="raw", data=1)
    assert run(state(), OpsReply([bare])).checkpoints[0].name == "raw"


# Rule 2: StepPlanned ops.
def test_several_planned_steps_force_step_plan_and_target_the_first() -> None:
    d = run(state(), OpsReply([planned("p1"), planned("p2")]))
    assert d.checkpoints == ()
    assert d.planned == ("p1", "p2") and d.target == "p1"
    assert d.force_step_plan is True and d.next == RunNow()


def test_version_2_resets_force_step_plan_after_the_group() -> None:
    s = state(target="p2", planned=("p2",), force_step_plan=True, request_version=2)
    d = run(s, OpsReply([step_run("p2", 2)]))
    assert d.force_step_plan is False and d.target == "step"


def test_version_1_keeps_force_step_plan() -> None:
    s = state(target="p2", planned=("p2",), force_step_plan=True, request_version=1)
    d = run(s, OpsReply([step_run("p2", 2)]))
    assert d.force_step_plan is True and d.target == "step"


def test_lone_planned_step_does_not_force() -> None:
    d = run(state(), OpsReply([planned("after")]))
    assert d.force_step_plan is False and d.target == "after"


# Rule 3: sleeps and empty replies.
def test_sleep_starts_a_durable_timer() -> None:
    op = StepOp(op="Sleep", id="nap-h", name="2026-11-22T06:47:40.750Z", display_name="nap")
    d = run(state(stack=("a",)), OpsReply([op]))
    (cp,) = d.checkpoints
    assert cp.status is StepStatus.SLEEPING and cp.memo is None and not cp.append_to_stack
    until = datetime(2026, 11, 22, 6, 47, 40, 750000, tzinfo=UTC)
    assert d.next == RunAt(until, "sleep")
    assert d.wait == {
        "kind": "sleep",
        "step_id": "nap-h",
        "name": "nap",
        "until": "2026-11-22T06:47:40.750Z",
    }
    assert d.stack == ("a",)


def test_garbage_sleep_fails_the_run_cleanly() -> None:
    d = run(state(), OpsReply([StepOp(op="Sleep", id="x", name="whenever")]))
    assert d.status is RunStatus.FAILED
    assert isinstance(d.next, FailedRun) and "whenever" in d.next.error["message"]


def test_empty_reply_calls_again_counting_an_attempt() -> None:
    d = run(state(max_attempts=3), OpsReply([]))
    assert d.next == RunNow() and d.attempt == 1 and d.status is RunStatus.RUNNING


def test_app_that_keeps_answering_empty_fails_eventually() -> None:
    s = state(max_attempts=3)
    for _ in range(10):
        d = run(s, OpsReply([]))
        if d.status is not RunStatus.RUNNING:
            break
        s = s.advance(d)
    assert d.status is RunStatus.FAILED and s.attempt == 2
    assert isinstance(d.next, FailedRun)
    assert "no opcodes" in d.next.error["message"]


# Rule 4: StepError.
def test_step_error_retries_the_same_item_after_backoff() -> None:
    s = state(target="p1", planned=("p1",), attempt=1, max_attempts=4)
    op = StepOp(op="StepError", id="p1", name="p1", error=ERR)
    d = run(s, OpsReply([op]), seed=3)
    (cp,) = d.checkpoints
    assert cp.status is StepStatus.RETRYING and not cp.append_to_stack
    assert cp.error == ERR and cp.attempts == 2 and cp.memo is None
    assert d.attempt == 2 and d.target == "p1" and d.stack == ()
    assert d.next == RunAt(POLICY.retry_at(1, NOW, random.Random(3)), "retry")


def test_step_error_honours_retry_after() -> None:
    later = NOW + timedelta(seconds=1)
    op = StepOp(op="StepError", id="h", name="h", error=ERR)
    d = run(state(), OpsReply([op], retry_after=later))
    assert d.next == RunAt(later, "retry")


@pytest.mark.parametrize(("attempt", "no_retry"), [(0, True), (3, False)])
def test_final_or_no_retry_step_error_becomes_step_failed(attempt: int, no_retry: bool) -> None:
    op = StepOp(op="StepError", id="h", name="h", error=ERR)
    d = run(state(attempt=attempt, max_attempts=4), OpsReply([op], no_retry=no_retry))
    (cp,) = d.checkpoints
    assert cp.op == "StepFailed" and cp.status is StepStatus.FAILED
    assert cp.memo == {"error": ERR} and cp.append_to_stack
    assert d.attempt == 0 and d.target == "step" and d.next == RunNow()
    assert d.status is RunStatus.RUNNING


# Rule 5: StepFailed.
def test_step_failed_is_memoized_and_discovery_follows() -> None:
    op = StepOp(op="StepFailed", id="h", name="h", error=ERR)
    d = run(state(attempt=3, max_attempts=4, stack=("a",)), OpsReply([op]))
    (cp,) = d.checkpoints
    assert cp.memo == {"error": ERR} and cp.error == ERR and cp.output is None
    assert d.stack == ("a", "h") and d.attempt == 0 and d.target == "step"
    assert d.next == RunNow() and d.status is RunStatus.RUNNING


# Rule 6: mixed, unknown and control ops.
def test_results_first_then_plans() -> None:
    d = run(state(), OpsReply([planned("p1"), step_run("s", 1), planned("p2")]))
    assert [c.step_id for c in d.checkpoints] == ["s"]
    assert d.stack == ("s",) and d.planned == ("p1", "p2") and d.target == "p1"
    assert d.force_step_plan is True


@pytest.mark.parametrize("opcode", ["WaitForEvent", "InvokeFunction", "AIGateway", "Gateway"])
def test_unsupported_opcode_fails_the_run_with_a_specific_error(opcode: str) -> None:
    d = run(state(), OpsReply([StepOp(op=opcode, id="w", name="demo/approved")]))
    assert d.status is RunStatus.FAILED
    assert d.next == FailedRun(
        {"name": "Error", "message": f"opcode {opcode} is not supported yet"}
    )


def test_discovery_request_calls_discovery() -> None:
    d = run(state(), OpsReply([StepOp(op="DiscoveryRequest")]))
    assert d.next == RunNow() and d.target == "step" and d.attempt == 0


def test_run_complete_finishes_with_its_data() -> None:
    d = run(state(), OpsReply([StepOp(op="RunComplete", id="c", data={"r": 1})]))
    assert d.status is RunStatus.COMPLETED and d.next == Finished({"r": 1})
    assert d.output == {"r": 1}


def test_a_repeated_step_is_not_checkpointed_twice() -> None:
    s = state(stack=("h1",), memo_keys=frozenset({"h1"}))
    d = run(s, OpsReply([step_run("h1", 1)]))
    assert d.checkpoints == () and d.stack == ("h1",) and d.attempt == 1


# Rule 7: 200.
def test_done_reply_completes_the_run() -> None:
    d = run(state(), DoneReply({"r1": {"a": 1}}))
    assert d.status is RunStatus.COMPLETED and d.output == {"r1": {"a": 1}}
    assert d.next == Finished({"r1": {"a": 1}})


# Rule 8: function-level error statuses.
PY_500 = {"code": "unknown", "message": "boom", "name": "ValueError", "stack": "Traceback"}


def test_500_is_retried_with_backoff() -> None:
    d = run(state(max_attempts=3), ErrorReply(500, PY_500, no_retry=None), seed=5)
    assert d.attempt == 1 and d.status is RunStatus.RUNNING
    assert d.next == RunAt(POLICY.retry_at(0, NOW, random.Random(5)), "retry")


def test_500_honours_retry_after() -> None:
    later = NOW + timedelta(seconds=1)
    d = run(state(), ErrorReply(500, PY_500, no_retry=False, retry_after=later))
    assert d.next == RunAt(later, "retry")


def test_500_on_the_last_attempt_fails_with_the_body_as_received() -> None:
    d = run(state(attempt=2, max_attempts=3), ErrorReply(500, PY_500))
    assert d.status is RunStatus.FAILED and d.error == PY_500
    assert d.next == FailedRun(PY_500)


def test_no_retry_header_fails_at_once_keeping_every_key() -> None:
    body = {"name": "NonRetriableError", "message": "no", "__serialized": True}
    d = run(state(), ErrorReply(500, body, no_retry=True))
    assert d.next == FailedRun(body) and d.error == body


def test_4xx_without_header_is_not_retried_but_with_header_false_is() -> None:
    assert isinstance(run(state(), ErrorReply(400, {"message": "x"})).next, FailedRun)
    assert isinstance(run(state(), ErrorReply(400, {"m": 1}, no_retry=False)).next, RunAt)


def test_non_object_body_gets_a_plain_error() -> None:
    d = run(state(max_attempts=1), ErrorReply(502, "<html>", message="bad gateway"))
    assert d.next == FailedRun({"name": "Error", "message": "bad gateway"})


# Rule 9: transport failures.
def test_transport_failure_is_retried_then_fails() -> None:
    d = run(state(max_attempts=2), TransportFailure("timed out after 30s"))
    assert isinstance(d.next, RunAt) and d.attempt == 1
    d2 = run(state(attempt=1, max_attempts=2), TransportFailure("timed out after 30s"))
    assert d2.next == FailedRun({"name": "Error", "message": "timed out after 30s"})


# Rule 10: request version.
def test_request_version_is_stored_once() -> None:
    fresh = state(request_version=-1)
    d = run(fresh, OpsReply([step_run("h", 1)], request_version=2))
    assert d.request_version == 2
    d2 = run(fresh.advance(d), DoneReply(None, request_version=1))
    assert d2.request_version == 2
    assert run(fresh, ErrorReply(500, {})).request_version == -1


# Rule 11: ended runs.
@pytest.mark.parametrize("status", [RunStatus.CANCELLED, RunStatus.COMPLETED, RunStatus.FAILED])
def test_reply_for_an_ended_run_is_ignored(status: RunStatus) -> None:
    s = state(status=status, stack=("a",))
    for reply in (DoneReply(1), OpsReply([step_run("h", 1)]), ErrorReply(500, {})):
        d = run(s, reply)
        assert d.ignored and d.next is None and d.checkpoints == ()
        assert d.status is status and d.stack == ("a",)


# RunState.from_run
def test_from_run_reads_the_stored_run() -> None:
    stored = Run(
        id="R9",
        function_id="app-fn",
        app_id="app",
        event_ids=("E1",),
        status=RunStatus.RUNNING,
        attempt=1,
        max_attempts=4,
        stack=("a", "b"),
        request_version=2,
        force_step_plan=True,
        target="p1",
        planned=("p1",),
        planned_mode="race",
    )
    s = RunState.from_run(stored, NOW)
    assert (s.run_id, s.attempt, s.max_attempts, s.stack) == ("R9", 1, 4, ("a", "b"))
    assert s.memo_keys == {"a", "b"} and s.planned_mode == "race" and s.target == "p1"
    with pytest.raises(ValueError):
        RunState(run_id="R", status=RunStatus.RUNNING, now=datetime(2030, 1, 1))


def test_a_protocol_opcode_can_be_passed_directly() -> None:
    try:
        from headrace.protocol import Opcode
    except Exception:
        pytest.skip("headrace.protocol is not available")
    op = Opcode.from_json({"op": "StepRun", "id": "h", "name": "first", "data": {"a": 1}})
    d = run(state(), OpsReply([op]))
    assert d.checkpoints[0].memo == {"data": {"a": 1}}


# Event payloads (wire protocol §15).
def test_failure_event_data_shape() -> None:
    event = {"name": "demo/start", "data": {}}
    data = failure_event_data("app-fn", "R1", {"name": "ValueError", "message": "boom"}, event)
    assert data == {
        "function_id": "app-fn",
        "run_id": "R1",
        "error": {
            "error": "invalid status code: 500",
            "name": "ValueError",
            "message": "boom",
            "stack": "",
        },
        "event": event,
    }


def test_finished_event_data_shape() -> None:
    ok = finished_event_data("f", "R", {"name": "e"}, output=3, correlation_id="c1")
    assert ok == {
        "function_id": "f",
        "run_id": "R",
        "event": {"name": "e"},
        "result": 3,
        "correlation_id": "c1",
    }
    bad = finished_event_data("f", "R", {}, error={"name": "Error", "message": "m"})
    assert "result" not in bad and bad["error"] == {"name": "Error", "message": "m"}


def test_discovery_request_while_targeting_a_planned_step_calls_discovery() -> None:
    s = state(target="p1", planned=("p1", "p2"))
    d = run(s, OpsReply([StepOp(op="DiscoveryRequest")]))
    assert d.target == "step" and d.planned == ("p1", "p2") and d.next == RunNow()


def test_empty_reply_for_a_planned_step_calls_discovery_keeping_the_plan() -> None:
    d = run(state(target="p1", planned=("p1",)), OpsReply([]))
    assert d.target == "step" and d.planned == ("p1",) and d.attempt == 1
    d2 = run(state(target="p1", planned=("p1",)).advance(d), OpsReply([planned("p1")]))
    assert d2.target == "p1" and d2.attempt == 0


def test_step_not_found_drops_the_targeted_plan() -> None:
    s = state(target="p1", planned=("p1", "p2"))
    d = run(s, OpsReply([StepOp(op="StepNotFound", id="p1")]))
    assert d.planned == ("p2",) and d.target == "p2"


def test_a_retried_attempt_leaves_its_reason_on_the_run() -> None:
    body = {"name": "ValueError", "message": "db down"}
    decision = decide(state(max_attempts=3), ErrorReply(500, body=body), POLICY, random.Random(1))
    assert isinstance(decision.next, RunAt)
    assert decision.status is RunStatus.RUNNING
    assert decision.error == body
    timeout = decide(
        state(max_attempts=3), TransportFailure("no answer in 1s"), POLICY, random.Random(1)
    )
    assert timeout.status is RunStatus.RUNNING
    assert timeout.error == {"name": "Error", "message": "no answer in 1s"}
