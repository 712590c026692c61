"""The event gateway: ``POST /e/{event_key}`` (wire protocol §11).

Accepted means durable (DESIGN law 2): the reply ``{"ids": [...], "status": 200}`` is sent only
after Kafka acknowledged every event of the request. Errors are ``{"error": "...", "status": N}``
with the same N as the HTTP status; a 4xx tells the SDK not to retry, a 503 tells it to.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from headrace.protocol import EVENT_ID_SEED
from services.core.errors import BusError, EventRejected
from services.core.model import Event
from services.core.publish import publish_events
from services.core.service import Service
from services.ingest.ids import seeded_ids
from services.ingest.validate import parse_body, validate_events

log = logging.getLogger(__name__)


class IngestService(Service):
    name = "ingest"

    def routes(self) -> Sequence[BaseRoute]:
        return [Route("/e/{event_key}", self.receive, methods=["POST"])]

    async def publish(self, events: list[Event]) -> None:
        """Write events from inside Headrace to the events topic (raises BusError)."""
        await publish_events(self.deps.bus, self.deps.settings.events_topic, events, self._now_ms())

    async def receive(self, request: Request) -> Response:
        try:
            events = await self._read(request)
        except EventRejected as exc:
            return self._reject(exc.message, exc.status, _reason(exc.status))
        try:
            await self.publish(events)
        except BusError as exc:
            log.warning("events not accepted, Kafka failed: %s", exc)
            return self._reject(
                f"events not accepted: the event log is unavailable ({exc.message});"
                " nothing was stored, retry later",
                503,
                "unavailable",
            )
        self.deps.metrics.events_accepted.inc(len(events))
        return JSONResponse({"ids": [ev.id for ev in events], "status": 200})

    async def _read(self, request: Request) -> list[Event]:
        settings = self.deps.settings
        key = request.path_params["event_key"]
        if settings.event_keys and key not in settings.event_keys:
            raise EventRejected("event key not found: the key in /e/{key} is not valid", status=401)
        raw = await _read_limited(request, settings.max_request_bytes)
        return validate_events(
            parse_body(raw),
            max_events=settings.max_events_per_request,
            max_event_bytes=settings.max_event_bytes,
            now_ms=self._now_ms(),
            new_id=seeded_ids(request.headers.get(EVENT_ID_SEED)),
        )

    def _reject(self, message: str, status: int, reason: str) -> Response:
        self.deps.metrics.events_rejected.labels(reason).inc()
        return JSONResponse({"error": message, "status": status}, status_code=status)

    def _now_ms(self) -> int:
        return int(self.deps.clock.now().timestamp() * 1000)


async def _read_limited(request: Request, limit: int) -> bytes:
    """The body, refusing (413) as soon as it is known to exceed ``limit`` bytes."""
    too_big = EventRejected(f"request body is over the limit of {limit} bytes", status=413)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
    except ClientDisconnect:
        raise EventRejected("the client disconnected before sending the whole body") from None
    return b"".join(chunks)


def _reason(status: int) -> str:
    return {401: "bad_key", 413: "too_large"}.get(status, "invalid")
