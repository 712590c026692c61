"""Step throughput and latency: N runs of a ten-step function, end to end.

    python -m bench.steps [-n 200] [--batch 50] [--url http://127.0.0.1:8288] [--json]

Without ``--url`` it starts ``headrace dev`` (embedded Postgres and broker, temporary data
directory) on a free port; either way it starts the benchmark app (``bench/app.py``) under
uvicorn, syncs it, sends N ``bench/run`` events in batches, waits for the N runs to complete
and prints figures computed from the run and step timestamps the API reports.
See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # ``python bench/steps.py`` from the repository root
    sys.path.insert(0, str(REPO_ROOT))

from bench.app import EVENT, SERVE_PATH, STEPS  # noqa: E402

FUNCTION_SLUG = "ten-steps"


# --- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    """A child process with its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                argv,
                env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL if it has not exited after ``timeout`` seconds."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                print(f"{self.name} ignored SIGTERM for {timeout:.0f}s; killing", file=sys.stderr)
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode

    def tail(self, n: int = 40) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return ""
        return "\n".join(lines[-n:])


def wait_http(url: str, proc: Proc | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}")
        try:
            r = httpx.get(url, timeout=2)
            if r.status_code < 500:
                return
            last = r.status_code
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer in {timeout:.0f}s (last: {last!r})")


# --- figures ---------------------------------------------------------------------------------


def ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None, "max": None, "mean": None}
    return {
        "p50": percentile(values, 50),
        "p99": percentile(values, 99),
        "max": max(values),
        "mean": statistics.fmean(values),
    }


def compute(
    sent_at: Mapping[str, float], runs: Mapping[str, dict[str, Any]], steps: Mapping[str, list]
) -> dict[str, Any]:
    """Figures from the send times (by event id), the runs and their steps (by event id)."""
    first_sent = min(sent_at.values())
    last_end = max(ts(r["ended_at"]) or 0.0 for r in runs.values())
    wall = last_end - first_sent
    total_steps = sum(len(s) for s in steps.values())
    step_gap: list[float] = []
    step_duration: list[float] = []
    event_to_created: list[float] = []
    event_to_first_step: list[float] = []
    last_step_to_end: list[float] = []
    run_duration: list[float] = []
    for event_id, run in runs.items():
        ends = sorted(t for t in (ts(s.get("ended_at")) for s in steps[event_id]) if t is not None)
        for s in steps[event_id]:
            start, end = ts(s.get("started_at")), ts(s.get("ended_at"))
            if start is not None and end is not None:
                step_duration.append(end - start)
        step_gap.extend(b - a for a, b in zip(ends, ends[1:], strict=False))
        created, ended = ts(run["created_at"]), ts(run["ended_at"])
        if created is not None:
            event_to_created.append(created - sent_at[event_id])
            if ended is not None:
                run_duration.append(ended - created)
        if ends:
            event_to_first_step.append(ends[0] - sent_at[event_id])
            if ended is not None:
                last_step_to_end.append(ended - ends[-1])
    ms = lambda xs: [x * 1000 for x in xs]  # noqa: E731
    return {
        "runs": len(runs),
        "steps": total_steps,
        "wall_s": wall,
        "steps_per_s": total_steps / wall if wall > 0 else None,
        "runs_per_s": len(runs) / wall if wall > 0 else None,
        "step_to_step_ms": summary(ms(step_gap)),
        "event_to_first_step_ms": summary(ms(event_to_first_step)),
        "event_to_run_created_ms": summary(ms(event_to_created)),
        "step_duration_ms": summary(ms(step_duration)),
        "last_step_to_run_end_ms": summary(ms(last_step_to_end)),
        "run_duration_ms": summary(ms(run_duration)),
    }


def table(fig: dict[str, Any], params: dict[str, Any]) -> str:
    def num(v: float | None, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    rows: list[tuple[str, str]] = [
        ("runs", f"{fig['runs']}"),
        ("steps", f"{fig['steps']}"),
        ("wall time", f"{fig['wall_s']:.2f} s  (first event sent -> last run ended)"),
        ("steps/s", num(fig["steps_per_s"], ".1f")),
        ("runs/s", num(fig["runs_per_s"], ".2f")),
    ]
    lat = [
        ("step -> next step", "step_to_step_ms"),
        ("event -> run created", "event_to_run_created_ms"),
        ("event -> first step", "event_to_first_step_ms"),
        ("last step -> run end", "last_step_to_run_end_ms"),
        ("run duration", "run_duration_ms"),
    ]
    head = ", ".join(f"{k}={v}" for k, v in params.items())
    width = max(len(k) for k, _ in rows + lat)
    out = [f"bench.steps  ({head})", ""]
    out += [f"  {k:<{width}}  {v}" for k, v in rows]
    out += ["", f"  {'latency (ms)':<{width}}  {'p50':>9} {'p99':>9} {'max':>9} {'mean':>9}"]
    for label, key in lat:
        s = fig[key]
        cells = " ".join(f"{num(s[c], '.1f'):>9}" for c in ("p50", "p99", "max", "mean"))
        out.append(f"  {label:<{width}}  {cells}")
    return "\n".join(out)


# --- the run ---------------------------------------------------------------------------------


class Api:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=60)

    def get(self, path: str) -> Any:
        r = self.http.get(path)
        r.raise_for_status()
        return r.json()["data"]

    def sync(self, app_url: str) -> None:
        r = self.http.post("/v1/apps", json={"url": app_url})
        if r.status_code != 200:
            raise RuntimeError(f"sync of {app_url} failed: {r.status_code} {r.text}")

    def send(self, events: list[dict[str, Any]], key: str) -> list[str]:
        r = self.http.post(f"/e/{key}", json=events)
        body = r.json()
        if r.status_code != 200 or body.get("status") != 200:
            raise RuntimeError(f"send failed: {r.status_code} {r.text[:500]}")
        return [str(i) for i in body["ids"]]

    def finished(self) -> dict[str, float] | None:
        """``headrace_runs_finished`` by status from /metrics (None when not exposed here)."""
        try:
            r = self.http.get("/metrics", timeout=10)
        except httpx.HTTPError:
            return None
        if r.status_code != 200:
            return None
        out: dict[str, float] = {}
        for line in r.text.splitlines():
            if line.startswith("headrace_runs_finished_total{"):
                labels, _, value = line.rpartition(" ")
                status = labels.split('status="', 1)[1].split('"', 1)[0]
                out[status] = float(value)
        return out


def wait_runs(
    api: Api, event_ids: list[str], baseline: dict[str, float] | None, deadline: float
) -> dict[str, dict[str, Any]]:
    """Wait until every event's run has ended, then return the runs by event id.

    Progress comes from the cheap /metrics counter while it is available (polling hundreds of
    runs would load the server being measured); the runs themselves are read once at the end.
    """
    n = len(event_ids)
    if baseline is not None:
        last_report = 0.0
        while time.monotonic() < deadline:
            now = api.finished() or {}
            done = {k: v - baseline.get(k, 0.0) for k, v in now.items()}
            if sum(done.values()) >= n:
                break
            if time.monotonic() - last_report > 5:
                print(f"  ... {int(done.get('Completed', 0))}/{n} runs completed", file=sys.stderr)
                last_report = time.monotonic()
            time.sleep(0.25)
    runs: dict[str, dict[str, Any]] = {}
    pending = list(event_ids)
    while pending and time.monotonic() < deadline:
        still = []
        for event_id in pending:
            found = api.get(f"/v1/events/{event_id}/runs")
            if found and found[0]["status"] not in ("Running", "Queued") and found[0]["ended_at"]:
                runs[event_id] = found[0]
            else:
                still.append(event_id)
        pending = still
        if pending:
            time.sleep(0.5)
    if pending:
        raise TimeoutError(f"{len(pending)} of {n} runs had not ended by the deadline")
    return runs


def bench(args: argparse.Namespace, api: Api, app_url: str) -> dict[str, Any]:
    api.sync(app_url)
    baseline = api.finished()
    deadline = time.monotonic() + args.timeout
    sent_at: dict[str, float] = {}
    event_ids: list[str] = []
    for start in range(0, args.n, args.batch):
        batch = [
            {"name": EVENT, "data": {"i": i}} for i in range(start, min(args.n, start + args.batch))
        ]
        t = time.time()
        ids = api.send(batch, args.event_key)
        for event_id in ids:
            sent_at[event_id] = t
        event_ids.extend(ids)
    send_s = time.time() - min(sent_at.values())
    print(f"  sent {len(event_ids)} events in {send_s:.2f}s; waiting", file=sys.stderr, flush=True)
    runs = wait_runs(api, event_ids, baseline, deadline)
    bad = {e: r for e, r in runs.items() if r["status"] != "Completed"}
    if bad:
        sample = next(iter(bad.values()))
        raise RuntimeError(f"{len(bad)} runs did not complete, e.g. {json.dumps(sample)[:600]}")
    steps = {e: api.get(f"/v1/runs/{r['id']}/steps") for e, r in runs.items()}
    # Only the function's step.run steps count (not any bookkeeping rows).
    steps = {e: [s for s in ss if s.get("ended_at")] for e, ss in steps.items()}
    fig = compute(sent_at, runs, steps)
    fig["send_s"] = send_s
    expected = args.n * STEPS
    if fig["steps"] != expected:
        print(f"  warning: {fig['steps']} steps recorded, {expected} expected", file=sys.stderr)
    return fig


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.steps", description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=200, help="events (runs) to send (default 200)")
    p.add_argument("--batch", type=int, default=50, help="events per ingest request (default 50)")
    p.add_argument("--url", help="use this running Headrace (ingest and API at one URL)")
    p.add_argument("--event-key", default="dev", help="event key for /e/{key} (default dev)")
    p.add_argument("--timeout", type=float, default=600, help="give up after this many seconds")
    p.add_argument(
        "--executor-concurrency",
        type=int,
        help="HEADRACE_EXECUTOR_CONCURRENCY for the dev server it starts (app calls in flight)",
    )
    p.add_argument(
        "--partitions",
        type=int,
        help="HEADRACE_TOPIC_PARTITIONS for the dev server it starts (fresh topics)",
    )
    p.add_argument("--keep", action="store_true", help="keep the data and log directory")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args(argv)
    if args.url and (args.executor_concurrency or args.partitions):
        p.error("--executor-concurrency and --partitions apply only to a server it starts")

    work = Path(tempfile.mkdtemp(prefix="headrace-bench-"))
    procs: list[Proc] = []
    ok = False
    try:
        if args.url:
            url = args.url.rstrip("/")
        else:
            env: dict[str, str] = {}
            if args.executor_concurrency:
                env["HEADRACE_EXECUTOR_CONCURRENCY"] = str(args.executor_concurrency)
            if args.partitions:
                env["HEADRACE_TOPIC_PARTITIONS"] = str(args.partitions)
            port = free_port()
            dev = Proc(
                "headrace-dev",
                [
                    sys.executable,
                    "-m",
                    "headrace.cli",
                    "dev",
                    "--port",
                    str(port),
                    "--data-dir",
                    str(work / "data"),
                ],
                env,
                work,
            )
            procs.append(dev)
            url = f"http://127.0.0.1:{port}"
            wait_http(f"{url}/health", dev, timeout=120)
        app_port = free_port()
        app_origin = f"http://127.0.0.1:{app_port}"
        app = Proc(
            "app",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(app_port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            {"HEADRACE_BASE_URL": url, "HEADRACE_SERVE_ORIGIN": app_origin},
            work,
        )
        procs.append(app)
        wait_http(f"{app_origin}{SERVE_PATH}", app, timeout=60)

        fig = bench(args, Api(url), f"{app_origin}{SERVE_PATH}")
        params: dict[str, Any] = {"n": args.n, "batch": args.batch, "steps/run": STEPS}
        if args.executor_concurrency:
            params["executor_concurrency"] = args.executor_concurrency
        if args.partitions:
            params["partitions"] = args.partitions
        if args.json:
            print(json.dumps({"params": params, **fig}, indent=2))
        else:
            print(table(fig, params))
        sys.stdout.flush()
        ok = True
        return 0
    except (RuntimeError, TimeoutError, httpx.HTTPError) as exc:
        print(f"bench.steps failed: {exc}", file=sys.stderr)
        for proc in procs:
            print(f"--- {proc.name} ({proc.log_path})\n{proc.tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        for proc in reversed(procs):
            proc.stop()
        if ok and not args.keep:
            _remove(work)
        else:
            print(f"data and logs kept in {work}", file=sys.stderr)


def _remove(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
