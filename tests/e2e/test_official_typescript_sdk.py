"""An app built with the official ``inngest`` TypeScript SDK (npm, Node's http server) runs a
two-step function with a sleep to completion: once through ``headrace dev``, once through the
five services as processes.

The app lives in ``tests/e2e/apps/ts``; its dependencies are installed from the lock file the
first time a test needs them (``npm ci``, about a minute). The TS SDK differs from the Python one
where it matters to the server: its sleep op is named by the duration ("1s"), its 206 bodies carry
extra fields, it answers with ``x-inngest-no-retry`` headers, and it refuses an event whose name
matches none of the function's triggers.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Headrace, Proc, dev_server, five_services, free_port, wait_http

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

APP_DIR = Path(__file__).resolve().parent / "apps" / "ts"
SDK_VERSION = "4.24.0"
FN_ID = "official-ts-two-steps-sleep"


def _installed_sdk_version() -> str | None:
    try:
        manifest = json.loads((APP_DIR / "node_modules" / "inngest" / "package.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    return str(manifest.get("version"))


@pytest.fixture(scope="session")
def ts_app_dir() -> Iterator[Path]:
    """The TS app's directory with its dependencies installed (``npm ci`` once, if missing)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run the official TypeScript SDK app")
    # Several pytest workers may get here at once: one installs, the others wait for it.
    with open(APP_DIR / "package.json") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if _installed_sdk_version() != SDK_VERSION:
                has_lock = (APP_DIR / "package-lock.json").exists()
                argv = [npm, "ci" if has_lock else "install", "--no-audit", "--no-fund"]
                done = subprocess.run(
                    argv, cwd=APP_DIR, capture_output=True, text=True, timeout=600, check=False
                )
                assert done.returncode == 0, (
                    f"{' '.join(argv[1:])} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
                )
            assert _installed_sdk_version() == SDK_VERSION
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    yield APP_DIR


def ts_app_proc(app_dir: Path, port: int, headrace_url: str, log_dir: Path) -> Proc:
    """The Node app, pointed at Headrace the way it would be pointed at Inngest's dev server."""
    node = shutil.which("node")
    assert node is not None
    env = {
        "PORT": str(port),
        "INNGEST_DEV": headrace_url,
        "INNGEST_SERVE_ORIGIN": f"http://127.0.0.1:{port}",
    }
    return Proc("official-ts-app", [node, str(app_dir / "server.mjs")], env, log_dir)


def _run_official_ts_app(headrace: Headrace, app_dir: Path, tmp: Path) -> None:
    port = free_port()
    app = ts_app_proc(app_dir, port, headrace.api_url, tmp)
    headrace.procs["official-ts-app"] = app.start()
    try:
        app_url = f"http://127.0.0.1:{port}/api/inngest"
        wait_http(app_url, app)
        synced = headrace.sync(app_url)
        assert synced["id"] == "official-ts"
        assert synced["url"] == app_url
        assert synced["error"] is None
        assert synced["sdk"] == f"js:v{SDK_VERSION}"
        assert [f["id"] for f in synced["functions"]] == [FN_ID]

        event_id = headrace.send("official/start", {"who": "headrace"})
        run = headrace.wait_run(event_id, timeout=120)
        assert run["function_id"] == FN_ID
        assert run["app_id"] == "official-ts"
        assert run["output"] == {"r1": {"a": 1}, "r2": "hello headrace"}
        assert run["error"] is None

        steps: list[dict[str, Any]] = headrace.get(f"/v1/runs/{run['id']}/steps")
        assert [(s["name"], s["op"], s["status"]) for s in steps] == [
            ("first", "StepRun", "Completed"),
            ("second", "StepRun", "Completed"),
            ("nap", "Sleep", "Completed"),
        ], f"{steps}\n{headrace.logs()}"
        assert steps[0]["output"] == {"a": 1}
        assert steps[1]["output"] == "hello headrace"
        assert steps[2]["output"] is None
        assert all(s["attempts"] == 1 for s in steps), steps
        assert all(s["error"] is None for s in steps), steps
    finally:
        app.stop()


def test_official_ts_sdk_on_dev_server(tmp_path: Path, ts_app_dir: Path) -> None:
    with dev_server(tmp_path) as headrace:
        _run_official_ts_app(headrace, ts_app_dir, tmp_path)


@pytest.mark.integration
def test_official_ts_sdk_on_five_services(
    tmp_path: Path,
    ts_app_dir: Path,
    database_url: str,
    kafka_bootstrap: str,
    unique_topics: Any,
) -> None:
    with five_services(tmp_path, database_url, kafka_bootstrap, unique_topics) as headrace:
        _run_official_ts_app(headrace, ts_app_dir, tmp_path)
