"""``/v1/events``: an event as accepted, and the runs it started."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from services.api.replies import data, error, event_json, run_json
from services.core.store import EventStore, RunStore


class Events:
    def __init__(self, events: EventStore, runs: RunStore) -> None:
        self.events = events
        self.runs = runs

    async def get(self, request: Request) -> Response:
        event_id = request.path_params["event_id"]
        row = await self.events.get(event_id)
        if row is None:
            return error(f"event {event_id!r} not found", 404)
        return data(event_json(row))

    async def runs_of(self, request: Request) -> Response:
        event_id = request.path_params["event_id"]
        return data([run_json(r) for r in await self.runs.for_event(event_id)])
