"""Apps that fail, lie or hang, and producers that send rubbish: every run ends with a reason
that says what was wrong, and Headrace keeps working for everyone else.

One dev server (app timeout 1 s) and one misbehaving app serve the whole module.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.apps import bad_app
from tests.e2e.harness import Headrace, app_proc, dev_server, free_port, wait_http

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

APP_TIMEOUT = 1  # seconds; bad_app's slow endpoint takes longer


class BadApp:
    def __init__(self, headrace: Headrace, url: str, state_url: str) -> None:
        self.headrace = headrace
        self.url = url
        self.state_url = state_url

    def state(self) -> dict[str, Any]:
        r = httpx.get(self.state_url, timeout=10)
        r.raise_for_status()
        return dict(r.json())

    def calls(self, fn_id: str) -> int:
        return int(self.state()["calls"].get(fn_id, 0))


@pytest.fixture(scope="module")
def bad() -> Iterator[BadApp]:
    # Not under pytest's tmp dirs: the embedded Postgres must keep reaching its data directory.
    tmp = Path(tempfile.mkdtemp(prefix="headrace-bad-apps-"))
    try:
        with dev_server(tmp, {"HEADRACE_APP_TIMEOUT": str(APP_TIMEOUT)}) as headrace:
            port = free_port()
            proc = app_proc("tests.e2e.apps.bad_app", port, headrace.api_url, tmp, "bad-app")
            headrace.procs["bad-app"] = proc.start()
            try:
                url = f"http://127.0.0.1:{port}{bad_app.SERVE_PATH}"
                wait_http(url, proc)
                synced = headrace.sync(url)
                assert sorted(f["id"] for f in synced["functions"]) == sorted(
                    fn.id for fn in bad_app.FUNCTIONS
                )
                yield BadApp(headrace, url, f"http://127.0.0.1:{port}/state")
            finally:
                proc.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _steps(headrace: Headrace, run_id: str) -> list[dict[str, Any]]:
    return list(headrace.get(f"/v1/runs/{run_id}/steps"))


def _error_text(value: Any) -> str:
    """A run's or step's error as one string, whatever its shape."""
    if isinstance(value, dict):
        return " ".join(str(v) for v in value.values())
    return str(value)


def _until(what: str, probe: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError(f"gave up waiting for {what}")


# -- functions that fail --------------------------------------------------------------------------


def test_step_that_always_raises_fails_the_run_after_its_retries(bad: BadApp) -> None:
    headrace = bad.headrace
    event_id = headrace.send("bad/always-fails", {"tag": "t-always"})
    run = headrace.wait_run(event_id, status="Failed")
    assert run["function_id"] == "bad-always-fails"
    assert run["output"] is None
    assert "boom for t-always" in _error_text(run["error"])
    assert run["error"]["name"] == "DeliberateError"

    steps = _steps(headrace, run["id"])
    assert [(s["name"], s["op"], s["status"]) for s in steps] == [
        ("explode", "StepFailed", "Failed")
    ]
    assert steps[0]["attempts"] == 2  # retries=1: the first try and one retry
    assert "boom for t-always" in _error_text(steps[0]["error"])

    # The failure was announced: the inngest/function.failed handler ran for this very run.
    handler_run_id = _until(
        "the failure handler",
        lambda: bad.state()["failures_seen"].get(run["id"]),
    )
    handler_run = _until(
        "the failure handler's run to end",
        lambda: (r := headrace.get(f"/v1/runs/{handler_run_id}"))["status"] != "Running" and r,
    )
    assert handler_run["function_id"] == "bad-on-always-fails"
    assert handler_run["status"] == "Completed", handler_run
    assert handler_run["output"]["failed_run_id"] == run["id"]
    assert "boom for t-always" in _error_text(handler_run["output"]["error"])
    failed_event = headrace.get(f"/v1/events/{handler_run['event_id']}")
    assert failed_event["name"] == "inngest/function.failed"
    assert failed_event["data"]["function_id"] == "bad-always-fails"
    assert failed_event["data"]["run_id"] == run["id"]


def test_non_retriable_error_fails_at_once(bad: BadApp) -> None:
    headrace = bad.headrace
    event_id = headrace.send("bad/non-retriable", {"order_id": "o-gone"})
    run = headrace.wait_run(event_id, status="Failed")
    assert run["function_id"] == "bad-non-retriable"
    assert run["error"]["name"] == "NonRetriableError"
    assert "order o-gone no longer exists" in run["error"]["message"]
    # retries=3, yet the app was called once: no retry after a NonRetriableError.
    assert bad.calls("bad-non-retriable") == 1
    assert all(s["attempts"] <= 1 for s in _steps(headrace, run["id"]))


def test_step_failing_once_then_succeeding_completes_on_the_second_attempt(bad: BadApp) -> None:
    headrace = bad.headrace
    event_id = headrace.send("bad/flaky-once", {})
    run = headrace.wait_run(event_id)
    assert run["output"] == {"wobble": {"tries": 2}}
    assert run["error"] is None
    steps = _steps(headrace, run["id"])
    assert [(s["name"], s["op"], s["status"], s["attempts"]) for s in steps] == [
        ("wobble", "StepRun", "Completed", 2)
    ]
    assert steps[0]["output"] == {"tries": 2}


# -- apps that do not speak the protocol ----------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "reason"),
    [
        ("garbage-json", "the app's 200 body is not JSON: <html><body>502 Bad Gateway"),
        ("no-sdk-headers", "without Inngest SDK headers: hello from a proxy that ate the app"),
        ("too-slow", f"did not answer within {APP_TIMEOUT}s"),
    ],
)
def test_broken_reply_fails_the_run_with_the_reason(bad: BadApp, fn: str, reason: str) -> None:
    headrace = bad.headrace
    event_id = headrace.send(f"bad/{fn}", {})
    run = headrace.wait_run(event_id, status="Failed")
    assert run["function_id"] == f"bad-{fn}"
    assert reason in _error_text(run["error"]), run["error"]
    # retries=1: every attempt reached the app, and each one failed the same way.
    assert bad.calls(f"bad-{fn}") == 2


def test_garbage_answers_do_not_stop_the_executor(bad: BadApp) -> None:
    headrace = bad.headrace
    broken = [headrace.send(f"bad/{fn}", {}) for fn in ("garbage-json", "no-sdk-headers")]
    good = headrace.send("bad/ok", {"after": "garbage"})
    assert headrace.wait_run(good)["output"] == {"echo": {"after": "garbage"}}
    for event_id in broken:
        headrace.wait_run(event_id, status="Failed")
    # And once the broken runs have failed, a new run still completes.
    again = headrace.send("bad/ok", {"after": "failures"})
    assert headrace.wait_run(again)["output"] == {"echo": {"after": "failures"}}


# -- producers that send rubbish ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        pytest.param(b'{"name": "bad/ok", "data": {', 400, "not valid JSON", id="malformed-json"),
        pytest.param(b'{"data": {"x": 1}}', 400, "name is required", id="missing-name"),
        pytest.param(
            b'{"name": "inngest/function.failed", "data": {}}', 400, "reserved", id="reserved-name"
        ),
        pytest.param(
            b"[" + b",".join([b'{"name": "bad/ok"}'] * 5001) + b"]",
            400,
            "too many events: 5001 > 5000",
            id="too-many-events",
        ),
    ],
)
def test_ingest_rejects_bad_input_and_keeps_working(
    bad: BadApp, body: bytes, status: int, message: str
) -> None:
    headrace = bad.headrace
    r = httpx.post(
        f"{headrace.event_url}/e/dev",
        content=body,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert r.status_code == status, r.text
    reply = r.json()
    assert reply["status"] == status
    assert message in reply["error"]
    assert "ids" not in reply

    event_id = headrace.send("bad/ok", {"after": message})
    assert headrace.wait_run(event_id)["output"] == {"echo": {"after": message}}
