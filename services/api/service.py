"""The API service: app sync for SDKs, and the REST API for people.

POST /fn/register               an SDK registers its app (both dialects)
POST /v1/apps                   sync an app by URL: {"url": ...}
GET  /v1/apps                   apps with their functions
GET  /v1/events/{id}            an event as accepted
GET  /v1/events/{id}/runs       the runs it started
GET  /v1/runs/{id}              a run
GET  /v1/runs/{id}/steps        its steps in execution order
GET  /v0/runs/{id}/batch        the run's events, for SDKs (bearer when keys are set)
GET  /v0/runs/{id}/actions      its memoized steps, for SDKs (bearer when keys are set)

With a signing key configured (or in cloud mode) every route but ``/fn/register``'s own check
needs ``Authorization: Bearer`` with the key's hash (as SDKs send it) or the key itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from starlette.routing import BaseRoute, Route

from services.api.auth import Handler, rest_guard
from services.api.events import Events
from services.api.runs import Runs
from services.api.sync import Sync
from services.core.service import Deps, Service
from services.core.store import AppStore, EventStore, RunStore


class ApiService(Service):
    name = "api"

    def __init__(self, deps: Deps, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(deps)
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient()
        events, runs = EventStore(deps.db), RunStore(deps.db)
        self.sync = Sync(deps.settings, AppStore(deps.db), self.http)
        self.events = Events(events, runs)
        self.runs = Runs(deps.settings, deps.db, runs, events)

    async def stop(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    def routes(self) -> Sequence[BaseRoute]:
        def rest(handler: Handler) -> Handler:
            return rest_guard(self.deps.settings, handler)

        return [
            Route("/fn/register", self.sync.register, methods=["POST"]),
            Route("/v1/apps", rest(self.sync.list_apps), methods=["GET"]),
            Route("/v1/apps", rest(self.sync.sync_url), methods=["POST"]),
            Route("/v1/events/{event_id}", rest(self.events.get), methods=["GET"]),
            Route("/v1/events/{event_id}/runs", rest(self.events.runs_of), methods=["GET"]),
            Route("/v1/runs/{run_id}", rest(self.runs.get), methods=["GET"]),
            Route("/v1/runs/{run_id}/steps", rest(self.runs.steps), methods=["GET"]),
            Route("/v0/runs/{run_id}/batch", self.runs.batch, methods=["GET"]),
            Route("/v0/runs/{run_id}/actions", self.runs.actions, methods=["GET"]),
        ]
