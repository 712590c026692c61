"""The API service on real Postgres: app sync in both SDK dialects (bodies as recorded from the
official SDKs), sync by URL against a real app served by the official Python SDK, and the event,
run and step endpoints over rows written through the stores."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from services.api import ApiService
from services.core.embedded import free_port
from services.core.metrics import Metrics
from services.core.model import Event, Job, RunStatus, StepStatus
from services.core.service import Deps, build_app
from services.core.settings import Settings
from services.core.store import (
    AppStore,
    Database,
    EventStore,
    NewRun,
    RunStore,
    RunWrite,
    StepWrite,
)

pytestmark = pytest.mark.integration

TRANSCRIPTS = Path(__file__).resolve().parents[1] / "unit" / "protocol" / "transcripts"
KEY = "signkey-test-" + "cd" * 32
KEY_HASH = hashlib.sha256(bytes.fromhex("cd" * 32)).hexdigest()


def register_call(transcript: str) -> dict[str, Any]:
    entries = json.loads((TRANSCRIPTS / f"{transcript}.json").read_text(encoding="utf-8"))
    for e in entries:
        for call in e.get("sdk_calls_to_server") or []:
            if call["path"].startswith("/fn/register"):
                return dict(call)
    raise LookupError(transcript)


def sdk_headers(call: dict[str, Any]) -> dict[str, str]:
    keep = ("content-type", "authorization", "x-inngest-", "user-agent")
    return {k: v for k, v in call["headers"].items() if k.lower().startswith(keep)}


def make_client(db: Database, settings: Settings | None = None) -> httpx.AsyncClient:
    deps = Deps(settings=settings or Settings(), db=db, bus=None, metrics=Metrics())  # type: ignore[arg-type]
    app = build_app([ApiService(deps)], deps.metrics)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


async def test_register_both_dialects_then_list_apps(db: Database) -> None:
    py, ts = register_call("python"), register_call("typescript")
    async with make_client(db) as client:
        for call in (py, ts):
            res = await client.post(call["path"], json=call["body"], headers=sdk_headers(call))
            assert res.status_code == 200, res.text
            assert res.json()["ok"] is True and res.json()["modified"] is True
        again = await client.post(py["path"], json=py["body"], headers=sdk_headers(py))
        assert again.json() == {**again.json(), "ok": True, "modified": False, "app_id": "demo-app"}
        apps = (await client.get("/v1/apps")).json()["data"]

    assert [a["id"] for a in apps] == ["demo-app", "demo-ts"]
    for app, call in zip(apps, (py, ts), strict=True):
        assert app["url"] == call["body"]["url"].split("?")[0]
        assert app["sdk"] == call["body"]["sdk"]
        assert app["error"] is None
        assert datetime.fromisoformat(app["synced_at"]).tzinfo is not None
        assert sorted(f["id"] for f in app["functions"]) == sorted(
            f["id"] for f in call["body"]["functions"]
        )
    fns = {f.id: f for f in await AppStore(db).functions()}
    for raw in py["body"]["functions"] + ts["body"]["functions"]:
        assert fns[raw["id"]].config == raw  # every option kept, enforced or not
        assert "deployId" not in fns[raw["id"]].url
    two = fns["demo-ts-two-steps-sleep"]
    assert [t.event for t in two.triggers] == ["demo/start"]


async def test_bad_registration_stores_nothing(db: Database) -> None:
    body = dict(register_call("python")["body"])
    body["functions"] = body["functions"] + [{"id": "broken", "triggers": [{}]}]
    async with make_client(db) as client:
        res = await client.post("/fn/register", json=body)
        assert res.status_code == 400
        assert "function 'broken'" in res.json()["error"]
        assert (await client.get("/v1/apps")).json() == {"data": []}


async def test_cloud_register_needs_the_bearer(db: Database) -> None:
    call = register_call("python")
    settings = Settings(server_kind="cloud", signing_key=KEY)
    headers = {**sdk_headers(call), "x-inngest-expected-server-kind": "cloud"}
    async with make_client(db, settings) as client:
        res = await client.post("/fn/register", json=call["body"], headers=headers)
        assert res.status_code == 401
        headers["authorization"] = f"Bearer {KEY_HASH}"
        res = await client.post("/fn/register", json=call["body"], headers=headers)
        assert res.status_code == 200, res.text


def run_write(status: RunStatus, **fields: Any) -> RunWrite:
    defaults: dict[str, Any] = {
        "attempt": 0,
        "target": "step",
        "planned": (),
        "planned_mode": "wait",
        "force_step_plan": False,
        "request_version": 2,
        "wait": None,
        "output": None,
        "error": None,
        "not_before": datetime.now(UTC),
    }
    return RunWrite(status=status, **{**defaults, **fields})


async def seed_run(db: Database) -> tuple[str, list[Event]]:
    """Two events, a run of both, two finished steps and one sleeping; returns the run id."""
    events = [
        Event(
            id="01JEVT00000000000000000001",
            name="demo/start",
            data={"a": 1},
            ts=1700000000000,
            idempotency_key="sender-1",
        ),
        Event(
            id="01JEVT00000000000000000002",
            name="demo/start",
            data={"a": 2},
            ts=1700000000001,
            user={"u": 1},
            v="2",
        ),
    ]
    runs = RunStore(db)
    run_id = "01JRUN00000000000000000001"
    async with db.tx() as conn:
        await EventStore(db).insert(conn, events)
        await runs.create(
            conn, [NewRun(run_id, "demo-app-two", "demo-app", (events[0].id, events[1].id), 5)], 30
        )
    claimed = await runs.claim(Job(run_id, 1), "test", 60)
    assert claimed is not None
    run = claimed.run
    now = datetime.now(UTC)
    steps = [
        StepWrite(
            "e0996a37c13d44c3b06074939d43fa3759bd32c1",
            "first",
            "StepRun",
            StepStatus.COMPLETED,
            1,
            {"data": {"a": 1}},
            {"a": 1},
            None,
            True,
        ),
        StepWrite(
            "352f7829a2384b001cc12b0c2613c756454a1f6a",
            "second",
            "StepRun",
            StepStatus.COMPLETED,
            2,
            {"data": "hello"},
            "hello",
            None,
            True,
        ),
        StepWrite(
            "c2640f79b4ed481b838ce4ad75330aa3f825d4d9",
            "nap",
            "Sleep",
            StepStatus.SLEEPING,
            1,
            None,
            None,
            None,
            False,
        ),
    ]
    gen = await runs.checkpoint(
        run_id,
        run.lease_token,
        len(run.stack),
        steps,
        run_write(RunStatus.RUNNING, wait={"kind": "sleep"}, wake_at=now),
    )
    assert gen == 2
    return run_id, events


async def finish_run(db: Database, run_id: str) -> None:
    runs = RunStore(db)
    claimed = await runs.claim(Job(run_id, 2), "test", 60)
    assert claimed is not None
    await runs.checkpoint(
        run_id,
        claimed.run.lease_token,
        len(claimed.run.stack),
        [],
        run_write(RunStatus.COMPLETED, output={"r1": {"a": 1}}, wake_at=None),
    )


async def test_events_runs_and_steps(db: Database) -> None:
    run_id, events = await seed_run(db)
    async with make_client(db) as client:
        ev = (await client.get(f"/v1/events/{events[0].id}")).json()["data"]
        assert {k: v for k, v in ev.items() if k != "received_at"} == {
            "id": events[0].id,
            "name": "demo/start",
            "data": {"a": 1},
            "user": {},
            "ts": 1700000000000,
            "v": None,
            "idempotency_key": "sender-1",
        }
        assert datetime.fromisoformat(ev["received_at"]).tzinfo is not None
        missing = await client.get("/v1/events/01JNOPE")
        assert missing.status_code == 404
        assert missing.json()["error"] == "event '01JNOPE' not found"

        [listed] = (await client.get(f"/v1/events/{events[1].id}/runs")).json()["data"]
        assert listed["id"] == run_id
        assert (await client.get("/v1/events/01JNOPE/runs")).json() == {"data": []}

        run = (await client.get(f"/v1/runs/{run_id}")).json()["data"]
        assert run == {**listed}
        assert run["status"] == "Running"
        assert run["function_id"] == "demo-app-two" and run["app_id"] == "demo-app"
        assert run["event_id"] == events[0].id
        assert run["event_ids"] == [events[0].id, events[1].id]
        assert run["ended_at"] is None and run["output"] is None
        assert datetime.fromisoformat(run["created_at"]) <= datetime.fromisoformat(
            run["started_at"]
        )

        steps = (await client.get(f"/v1/runs/{run_id}/steps")).json()["data"]
        assert [(s["name"], s["op"], s["status"], s["attempts"]) for s in steps] == [
            ("first", "StepRun", "Completed", 1),
            ("second", "StepRun", "Completed", 2),
            ("nap", "Sleep", "Sleeping", 1),
        ]
        assert steps[0]["id"] == "e0996a37c13d44c3b06074939d43fa3759bd32c1"
        assert [s["output"] for s in steps] == [{"a": 1}, "hello", None]
        assert steps[0]["ended_at"] is not None and steps[2]["ended_at"] is None

        await finish_run(db, run_id)
        run = (await client.get(f"/v1/runs/{run_id}")).json()["data"]
        assert run["status"] == "Completed"
        assert run["output"] == {"r1": {"a": 1}}
        assert datetime.fromisoformat(run["ended_at"]) >= datetime.fromisoformat(run["started_at"])

        for path in ("/v1/runs/01JNOPE", "/v1/runs/01JNOPE/steps"):
            res = await client.get(path)
            assert res.status_code == 404
            assert res.json()["error"] == "run '01JNOPE' not found"


async def test_v0_batch_and_actions_for_sdks(db: Database) -> None:
    run_id, events = await seed_run(db)
    async with make_client(db, Settings(signing_key=KEY)) as client:
        assert (await client.get(f"/v0/runs/{run_id}/batch")).status_code == 401
        assert (await client.get(f"/v0/runs/{run_id}/actions")).status_code == 401
        for auth in (f"Bearer {KEY_HASH}", f"Bearer signkey-test-{KEY_HASH}"):
            headers = {"authorization": auth}
            batch = await client.get(f"/v0/runs/{run_id}/batch", headers=headers)
            assert batch.status_code == 200
            assert batch.json() == [e.to_sdk() for e in events]
            actions = await client.get(f"/v0/runs/{run_id}/actions", headers=headers)
            assert actions.json() == {
                "e0996a37c13d44c3b06074939d43fa3759bd32c1": {"data": {"a": 1}},
                "352f7829a2384b001cc12b0c2613c756454a1f6a": {"data": "hello"},
            }
            assert list(actions.json())[0].startswith("e0996a37")  # stack order kept
        res = await client.get(
            "/v0/runs/01JNOPE/batch", headers={"authorization": f"Bearer {KEY_HASH}"}
        )
        assert res.status_code == 404


class Served:
    """A Starlette/FastAPI app served by uvicorn on a free loopback port in this event loop."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Served:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            assert not self.task.done(), "server failed to start"
            await asyncio.sleep(0.02)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        assert self.task is not None
        await self.task


def python_sdk_app(api_url: str, app_id: str) -> Any:
    import fastapi
    import inngest
    import inngest.fast_api

    client = inngest.Inngest(
        app_id=app_id, is_production=False, api_base_url=api_url, event_api_base_url=api_url
    )

    @client.create_function(fn_id="hello", trigger=inngest.TriggerEvent(event="demo/hello"))
    async def hello(ctx: inngest.Context) -> str:
        return "hi"

    app = fastapi.FastAPI()
    inngest.fast_api.serve(app, client, [hello])
    return app


# The inngest package defines pydantic models in the deprecated class-config style.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_sync_by_url_against_the_official_python_sdk(db: Database) -> None:
    deps = Deps(settings=Settings(), db=db, bus=None, metrics=Metrics())  # type: ignore[arg-type]
    api = ApiService(deps)
    async with Served(build_app([api], deps.metrics)) as server:
        async with Served(python_sdk_app(server.url, "sync-demo")) as app:
            async with httpx.AsyncClient(base_url=server.url) as client:
                res = await client.post("/v1/apps", json={"url": f"{app.url}/api/inngest"})
                assert res.status_code == 200, res.text
                data = res.json()["data"]
                assert data["id"] == "sync-demo"
                assert data["url"] == f"{app.url}/api/inngest"
                assert data["sdk"].startswith("py:")
                assert [f["id"] for f in data["functions"]] == ["sync-demo-hello"]
                assert data["functions"][0]["triggers"] == [{"event": "demo/hello"}]

                gone = f"http://127.0.0.1:{free_port()}/api/inngest"
                res = await client.post("/v1/apps", json={"url": gone})
                assert res.status_code == 502
                assert res.json()["error"].startswith(f"cannot reach the app at {gone}")
    await api.stop()
