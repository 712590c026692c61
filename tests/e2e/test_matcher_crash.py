"""Chaos: SIGKILL the matcher as a burst of events arrives (mid-batch or just after) and start
a new one.
Every accepted event starts exactly one run (law 2: accepted means durable; law 3: a batch
replayed after a crash creates nothing twice), and every run completes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import app_proc, five_services, free_port, wait_http

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(300)]

EVENTS = 60


def test_matcher_killed_during_a_burst(
    tmp_path: Path, database_url: str, kafka_bootstrap: str, unique_topics: Any
) -> None:
    with five_services(tmp_path, database_url, kafka_bootstrap, unique_topics) as headrace:
        port = free_port()
        app = app_proc("tests.e2e.apps.crash_app", port, headrace.api_url, tmp_path, "crash-app")
        app.env["CRASH_JOURNAL"] = str(tmp_path / "journal.txt")
        headrace.procs["crash-app"] = app.start()
        try:
            app_url = f"http://127.0.0.1:{port}/api/headrace"
            wait_http(app_url, app)
            headrace.sync(app_url)

            batch = [
                {"name": "crash/start", "data": {"slow_seconds": 0, "n": i}} for i in range(EVENTS)
            ]
            r = httpx.post(f"{headrace.event_url}/e/dev", json=batch, timeout=30)
            assert r.status_code == 200, r.text
            ids = r.json()["ids"]
            matcher = headrace.procs["matcher"]
            matcher.kill()  # SIGKILL as the burst arrives
            assert matcher.popen is not None and matcher.popen.returncode == -9
            matcher.start()

            deadline = time.monotonic() + 180
            pending = set(ids)
            runs: dict[str, list[dict[str, Any]]] = {}
            while pending and time.monotonic() < deadline:
                for event_id in list(pending):
                    found = headrace.get(f"/v1/events/{event_id}/runs")
                    if found and all(x["status"] != "Running" for x in found):
                        runs[event_id] = found
                        pending.discard(event_id)
                time.sleep(0.5)
            assert not pending, f"{len(pending)} events never finished\n{headrace.logs()}"
            assert all(len(found) == 1 for found in runs.values())
            assert all(found[0]["status"] == "Completed" for found in runs.values())
            assert all(found[0]["output"] == {"sum": 6} for found in runs.values())
        finally:
            app.stop()
