"""The README walkthrough: the quickstart app's order function runs to completion, once through
``headrace dev`` and once through the five services as separate processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Headrace, app_proc, dev_server, five_services, free_port, wait_http

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def _walkthrough(headrace: Headrace, tmp: Path) -> None:
    port = free_port()
    app = app_proc("examples.quickstart.app", port, headrace.api_url, tmp, "quickstart")
    headrace.procs["quickstart"] = app.start()
    try:
        app_url = f"http://127.0.0.1:{port}/api/headrace"
        wait_http(app_url, app)
        synced = headrace.sync(app_url)
        assert [f["id"] for f in synced["functions"]] == ["shop-process-order"]

        event_id = headrace.send(
            "order/created", {"order_id": "o-1", "amount": 4200, "sleep": "1s"}
        )
        run = headrace.wait_run(event_id)
        out = run["output"]
        assert out["order_id"] == "o-1"
        assert out["charge"]["amount"] == 4200
        assert out["fulfilment"] == {"fulfilment_id": "ful_o-1", "status": "queued"}
        assert out["confirmation"]["about"] == out["charge"]["charge_id"]

        steps: list[dict[str, Any]] = headrace.get(f"/v1/runs/{run['id']}/steps")
        assert [(s["name"], s["op"], s["status"]) for s in steps] == [
            ("charge-card", "StepRun", "Completed"),
            ("create-fulfilment", "StepRun", "Completed"),
            ("wait-before-confirming", "Sleep", "Completed"),
            ("send-confirmation", "StepRun", "Completed"),
        ]
        assert steps[0]["output"] == out["charge"]
        assert steps[3]["output"] == out["confirmation"]
        event = headrace.get(f"/v1/events/{event_id}")
        assert event["name"] == "order/created"
    finally:
        app.stop()


def test_quickstart_on_dev_server(tmp_path: Path) -> None:
    with dev_server(tmp_path) as headrace:
        _walkthrough(headrace, tmp_path)


@pytest.mark.integration
def test_quickstart_on_five_services(
    tmp_path: Path, database_url: str, kafka_bootstrap: str, unique_topics: Any
) -> None:
    with five_services(tmp_path, database_url, kafka_bootstrap, unique_topics) as headrace:
        _walkthrough(headrace, tmp_path)
