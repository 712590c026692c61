"""An app built with the official ``inngest`` package runs a two-step function with a sleep to
completion: once through ``headrace dev``, once through the five services as processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Headrace, app_proc, dev_server, five_services, free_port, wait_http

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

FN_ID = "official-py-two-steps-sleep"


def _run_official_app(headrace: Headrace, tmp: Path) -> None:
    port = free_port()
    app = app_proc("tests.e2e.apps.inngest_app", port, headrace.api_url, tmp, "official-app")
    headrace.procs["official-app"] = app.start()
    try:
        app_url = f"http://127.0.0.1:{port}/api/inngest"
        wait_http(app_url, app)
        synced = headrace.sync(app_url)
        assert synced["id"] == "official-py"
        assert [f["id"] for f in synced["functions"]] == [FN_ID]

        event_id = headrace.send("official/start", {"who": "headrace"})
        run = headrace.wait_run(event_id)
        assert run["function_id"] == FN_ID
        assert run["output"] == {"r1": {"a": 1}, "r2": "hello headrace", "attempt": 0}

        steps: list[dict[str, Any]] = headrace.get(f"/v1/runs/{run['id']}/steps")
        assert [(s["name"], s["op"], s["status"]) for s in steps] == [
            ("first", "StepRun", "Completed"),
            ("second", "StepRun", "Completed"),
            ("nap", "Sleep", "Completed"),
        ]
        assert steps[0]["output"] == {"a": 1}
        assert steps[1]["output"] == "hello headrace"
        assert all(s["attempts"] == 1 for s in steps)
    finally:
        app.stop()


def test_official_sdk_on_dev_server(tmp_path: Path) -> None:
    with dev_server(tmp_path) as headrace:
        _run_official_app(headrace, tmp_path)


@pytest.mark.integration
def test_official_sdk_on_five_services(
    tmp_path: Path, database_url: str, kafka_bootstrap: str, unique_topics: Any
) -> None:
    with five_services(tmp_path, database_url, kafka_bootstrap, unique_topics) as headrace:
        _run_official_app(headrace, tmp_path)
