"""Processes for end-to-end tests: Headrace (the dev server, or the five services as separate
processes) and the apps it calls, each a real child process on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from services.core.embedded._process import die_with_parent, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("ingest", "api", "matcher", "executor", "scheduler")


class Proc:
    """A child process with its output in a log file; killed when the test ends."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.popen = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent(),
        )
        log.close()
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return ""
        return "\n".join(lines[-n:])


def wait_http(url: str, proc: Proc | None = None, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        if proc is not None and proc.popen is not None and proc.popen.poll() is not None:
            raise RuntimeError(
                f"{proc.name} exited with {proc.popen.returncode}:\n{proc.log_tail()}"
            )
        try:
            r = httpx.get(url, timeout=2)
            if r.status_code < 500:
                return
            last = r.status_code
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.2)
    tail = proc.log_tail() if proc else ""
    raise TimeoutError(f"{url} did not answer in {timeout}s (last: {last!r})\n{tail}")


def python_argv(*args: str) -> list[str]:
    return [sys.executable, *args]


def app_proc(module: str, port: int, headrace_url: str, log_dir: Path, name: str = "app") -> Proc:
    """An ASGI app under uvicorn, pointed at Headrace (both SDK dialects of the variables)."""
    env = {
        "HEADRACE_BASE_URL": headrace_url,
        "INNGEST_DEV": headrace_url,
        "HEADRACE_SERVE_ORIGIN": f"http://127.0.0.1:{port}",
    }
    argv = python_argv(
        "-m",
        "uvicorn",
        f"{module}:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    )
    return Proc(name, argv, env, log_dir)


class Headrace:
    """A running Headrace: where events go, where the API and SDK sync live."""

    def __init__(self, event_url: str, api_url: str, procs: dict[str, Proc]) -> None:
        self.event_url = event_url
        self.api_url = api_url
        self.procs = procs

    def send(self, name: str, data: dict[str, Any], key: str = "dev") -> str:
        r = httpx.post(f"{self.event_url}/e/{key}", json={"name": name, "data": data}, timeout=30)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == 200
        return str(body["ids"][0])

    def sync(self, app_url: str) -> dict[str, Any]:
        r = httpx.post(f"{self.api_url}/v1/apps", json={"url": app_url}, timeout=60)
        assert r.status_code == 200, r.text
        return dict(r.json()["data"])

    def get(self, path: str) -> Any:
        r = httpx.get(f"{self.api_url}{path}", timeout=30)
        assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
        return r.json()["data"]

    def wait_run(
        self, event_id: str, timeout: float = 90.0, status: str = "Completed"
    ) -> dict[str, Any]:
        """Poll the REST API until the event's run reaches ``status``; fail fast on another end."""
        deadline = time.monotonic() + timeout
        runs: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            runs = self.get(f"/v1/events/{event_id}/runs")
            if runs and runs[0]["status"] != "Running":
                if runs[0]["status"] != status:
                    raise AssertionError(f"run ended {runs[0]['status']}: {runs[0]}\n{self.logs()}")
                return dict(runs[0])
            time.sleep(0.2)
        raise TimeoutError(f"no {status} run for {event_id} in {timeout}s: {runs}\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n{p.log_tail(40)}" for n, p in self.procs.items())


@contextmanager
def dev_server(
    tmp: Path, extra_env: Mapping[str, str] | None = None, args: Sequence[str] = ()
) -> Iterator[Headrace]:
    port = free_port()
    argv = python_argv(
        "-m", "headrace.cli", "dev", "--port", str(port), "--data-dir", str(tmp / "data"), *args
    )
    proc = Proc("headrace-dev", argv, dict(extra_env or {}), tmp).start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", proc)
        yield Headrace(url, url, {"dev": proc})
    finally:
        proc.stop()


@contextmanager
def five_services(
    tmp: Path,
    database_url: str,
    kafka: str,
    topics: Any,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Headrace]:
    """The production shape: each service its own process, configured by HEADRACE_… only."""
    base = {
        "HEADRACE_DATABASE_URL": database_url,
        "HEADRACE_KAFKA_BOOTSTRAP": kafka,
        "HEADRACE_KAFKA_IDEMPOTENCE": "true",
        "HEADRACE_EVENTS_TOPIC": topics.events,
        "HEADRACE_JOBS_TOPIC": topics.jobs,
        "HEADRACE_CONSUMER_GROUP_PREFIX": topics("group"),
        "HEADRACE_RETRY_SCHEDULE": "dev",
        "HEADRACE_REDELIVER_SECONDS": "5",
        **(extra_env or {}),
    }
    procs: dict[str, Proc] = {}
    ports = {name: free_port() for name in SERVICES}
    try:
        for name in SERVICES:
            env = {**base, "HEADRACE_PORT": str(ports[name])}
            procs[name] = Proc(
                name, python_argv("-m", "headrace.cli", "run", name), env, tmp
            ).start()
            # Migrations and topic creation happen on the first start; let it finish alone.
            if name == "ingest":
                wait_http(f"http://127.0.0.1:{ports[name]}/health", procs[name])
        for name in SERVICES:
            wait_http(f"http://127.0.0.1:{ports[name]}/health", procs[name])
        yield Headrace(
            f"http://127.0.0.1:{ports['ingest']}", f"http://127.0.0.1:{ports['api']}", procs
        )
    finally:
        for p in procs.values():
            p.stop()


def restart(proc: Proc) -> Proc:
    proc.kill()
    return proc.start()


__all__ = [
    "Headrace",
    "Proc",
    "app_proc",
    "dev_server",
    "five_services",
    "free_port",
    "restart",
    "wait_http",
]
