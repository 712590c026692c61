"""Chaos: SIGKILL the executor while a step's app call is in flight, start a new one, and the
run completes; no step that had completed runs again (law 3 and law 4)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import app_proc, five_services, free_port, wait_http

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(300)]


def _wait_for_line(journal: Path, needle: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if journal.exists() and needle in journal.read_text():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{needle!r} never appeared in the journal")


def test_executor_killed_mid_step(
    tmp_path: Path, database_url: str, kafka_bootstrap: str, unique_topics: Any
) -> None:
    journal = tmp_path / "journal.txt"
    env = {
        "HEADRACE_LEASE_SECONDS": "6",
        "HEADRACE_APP_TIMEOUT": "5",
        "HEADRACE_REDELIVER_SECONDS": "3",
    }
    with five_services(tmp_path, database_url, kafka_bootstrap, unique_topics, env) as headrace:
        port = free_port()
        app = app_proc("tests.e2e.apps.crash_app", port, headrace.api_url, tmp_path, "crash-app")
        app.env["CRASH_JOURNAL"] = str(journal)
        headrace.procs["crash-app"] = app.start()
        try:
            app_url = f"http://127.0.0.1:{port}/api/headrace"
            wait_http(app_url, app)
            headrace.sync(app_url)

            event_id = headrace.send("crash/start", {"slow_seconds": 2})
            _wait_for_line(journal, "slow-start")
            executor = headrace.procs["executor"]
            executor.kill()  # SIGKILL while the app is inside "slow"
            assert executor.popen is not None and executor.popen.returncode == -9
            executor.start()

            run = headrace.wait_run(event_id, timeout=120)
            assert run["output"] == {"sum": 6}
            lines = journal.read_text().split()
            runs = {line for line in lines[::2]}
            assert runs == {run["id"]}
            executed = lines[1::2]
            # "first" had completed before the kill: it never runs again. "slow" was in flight,
            # so it runs again (its first reply was never committed); "last" runs once.
            assert executed.count("first") == 1
            assert executed.count("slow-start") == 2
            assert executed.count("last") == 1

            steps = headrace.get(f"/v1/runs/{run['id']}/steps")
            assert [(s["name"], s["status"]) for s in steps] == [
                ("first", "Completed"),
                ("slow", "Completed"),
                ("last", "Completed"),
            ]
            assert [s["output"] for s in steps] == [1, 2, 3]
        finally:
            app.stop()
