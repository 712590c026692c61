"""``/v1/runs`` (people) and ``/v0/runs`` (SDKs fetching what did not fit in a call request).

When a call request would be too large, the executor sends ``use_api: true`` and the SDK fetches
``GET /v0/runs/{id}/batch`` (the run's events: a JSON array shaped like the request's ``events``)
and ``GET /v0/runs/{id}/actions`` (the memoized steps: an object shaped like ``steps``), with its
bearer token (wire protocol §5.1).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.api.auth import unauthorized_reason
from services.api.replies import data, error, run_json, step_json
from services.core.settings import Settings
from services.core.store import Database, EventStore, RunStore


class Runs:
    def __init__(
        self, settings: Settings, db: Database, runs: RunStore, events: EventStore
    ) -> None:
        self.settings = settings
        self.db = db
        self.runs = runs
        self.events = events

    async def get(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        run = await self.runs.get(run_id)
        if run is None:
            return _not_found(run_id)
        return data(run_json(run))

    async def steps(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        if await self.runs.get(run_id) is None:
            return _not_found(run_id)
        return data([step_json(s) for s in await self.runs.steps(run_id)])

    async def batch(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        reason = unauthorized_reason(request, self.settings)
        if reason is not None:
            return error(reason, 401)
        run = await self.runs.get(run_id)
        if run is None:
            return _not_found(run_id)
        async with self.db.conn() as conn:
            events = await self.events.load(conn, run.event_ids)
        return JSONResponse([ev.to_sdk() for ev in events])

    async def actions(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        reason = unauthorized_reason(request, self.settings)
        if reason is not None:
            return error(reason, 401)
        if await self.runs.get(run_id) is None:
            return _not_found(run_id)
        steps = await self.runs.steps(run_id)
        return JSONResponse({s.step_id: s.memo for s in steps if s.position is not None})


def _not_found(run_id: str) -> Response:
    return error(f"run {run_id!r} not found", 404)
