"""``headrace dev -u URL`` syncs the app at URL, retrying until the app answers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.harness import app_proc, dev_server, free_port, wait_http

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_app_url_is_synced_once_the_app_starts(tmp_path: Path) -> None:
    port = free_port()
    app_url = f"http://127.0.0.1:{port}/api/headrace"
    with dev_server(tmp_path, args=["-u", app_url]) as headrace:
        assert headrace.get("/v1/apps") == []  # the app is not up yet
        app = app_proc("examples.quickstart.app", port, headrace.api_url, tmp_path, "quickstart")
        headrace.procs["quickstart"] = app.start()
        try:
            wait_http(app_url, app)
            deadline = time.monotonic() + 60
            apps: list[dict[str, object]] = []
            while time.monotonic() < deadline and not apps:
                apps = headrace.get("/v1/apps")
                time.sleep(0.2)
            assert [a["id"] for a in apps] == ["shop"], headrace.logs()
            assert apps[0]["url"] == app_url
            event_id = headrace.send("order/created", {"order_id": "o-9", "sleep": "0s"})
            assert headrace.wait_run(event_id)["output"]["order_id"] == "o-9"
        finally:
            app.stop()
