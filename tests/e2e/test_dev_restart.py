"""``headrace dev`` keeps its runs across restarts: a run asleep when the dev server stops (politely
or killed outright) finishes after it starts again on the same data directory, each step done
once. A SIGKILL takes the embedded Postgres and broker down with the server, and the next start
on that directory must still work."""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Headrace, Proc, app_proc, free_port, python_argv, wait_http

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Not under pytest's tmp dirs: the embedded Postgres must keep reaching its data directory.
    path = Path(tempfile.mkdtemp(prefix="headrace-dev-restart-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _dev(workdir: Path, port: int, n: int) -> Proc:
    argv = python_argv(
        "-m", "headrace.cli", "dev", "--port", str(port), "--data-dir", str(workdir / "data")
    )
    return Proc(f"headrace-dev-{n}", argv, {}, workdir)


def _start(proc: Proc, url: str) -> None:
    proc.start()
    wait_http(f"{url}/health", proc)


def _until(what: str, probe: Any, headrace: Headrace, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError(f"gave up waiting for {what}\n{headrace.logs()}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_sleeping_run_survives_a_dev_server_restart(workdir: Path, sig: signal.Signals) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    first = _dev(workdir, port, 1)
    headrace = Headrace(url, url, {"dev-1": first})
    app_port = free_port()
    app = app_proc("examples.quickstart.app", app_port, url, workdir, "quickstart")
    headrace.procs["quickstart"] = app
    second: Proc | None = None
    try:
        _start(first, url)
        app.start()
        app_url = f"http://127.0.0.1:{app_port}/api/headrace"
        wait_http(app_url, app)
        headrace.sync(app_url)

        event_id = headrace.send("order/created", {"order_id": "o-1", "amount": 1, "sleep": "8s"})

        def asleep() -> dict[str, Any] | None:
            runs = headrace.get(f"/v1/events/{event_id}/runs")
            if not runs:
                return None
            steps = headrace.get(f"/v1/runs/{runs[0]['id']}/steps")
            sleeping = [s for s in steps if s["op"] == "Sleep" and s["status"] == "Sleeping"]
            return dict(runs[0]) if sleeping else None

        run = _until("the run to sleep", asleep, headrace)
        assert run["status"] == "Running"

        first.kill(sig)
        assert first.popen is not None and first.popen.returncode is not None

        second = _dev(workdir, port, 2)
        headrace.procs["dev-2"] = second
        _start(second, url)
        assert headrace.get(f"/v1/runs/{run['id']}")["id"] == run["id"]

        done = headrace.wait_run(event_id, timeout=120)
        assert done["id"] == run["id"]
        assert done["output"]["order_id"] == "o-1"
        assert done["output"]["charge"]["amount"] == 1
        steps: list[dict[str, Any]] = headrace.get(f"/v1/runs/{run['id']}/steps")
        assert [(s["name"], s["op"], s["status"]) for s in steps] == [
            ("charge-card", "StepRun", "Completed"),
            ("create-fulfilment", "StepRun", "Completed"),
            ("wait-before-confirming", "Sleep", "Completed"),
            ("send-confirmation", "StepRun", "Completed"),
        ]
        charge = steps[0]
        assert charge["attempts"] == 1
        assert steps[1]["attempts"] == 1
        assert steps[3]["attempts"] == 1
        assert done["output"]["charge"] == charge["output"]

        # The restarted server takes new work as well.
        again = headrace.send("order/created", {"order_id": "o-2", "amount": 2, "sleep": "1s"})
        assert headrace.wait_run(again)["output"]["order_id"] == "o-2"
    finally:
        app.stop()
        if second is not None:
            second.stop()
        first.stop()
