"""One lifecycle for every service: start, run until stopped, stop.

``Deps`` carries what services receive through their constructors (STYLE rule 5). ``serve()``
runs a set of services in one process with one HTTP server for their routes plus ``/health``
and ``/metrics``: ``headrace dev`` runs all five; ``headrace run <service>`` runs one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from services.core.bus import Bus, Consumer, ensure_topics
from services.core.clock import Clock, SystemClock
from services.core.metrics import Metrics
from services.core.settings import Settings
from services.core.store import Database
from services.core.tracing import Tracing

log = logging.getLogger(__name__)


@dataclass
class Deps:
    settings: Settings
    db: Database
    bus: Bus
    metrics: Metrics = field(default_factory=Metrics)
    clock: Clock = field(default_factory=SystemClock)
    tracing: Tracing = field(default_factory=Tracing.disabled)

    @classmethod
    async def open(cls, settings: Settings, metrics: Metrics | None = None) -> Deps:
        """Connect to Postgres (migrating it) and Kafka (creating the topics)."""
        db = Database(settings.database_url, max_size=settings.db_pool_size)
        await db.open()
        await db.migrate()
        await ensure_topics(
            settings.kafka_bootstrap,
            [settings.events_topic, settings.jobs_topic],
            settings.topic_partitions,
        )
        bus = Bus(settings.kafka_bootstrap, idempotence=settings.kafka_idempotence)
        await bus.start()
        tracing = (
            Tracing.to_collector(settings.otel_endpoint, "headrace")
            if settings.otel_endpoint
            else Tracing.disabled()
        )
        return cls(settings=settings, db=db, bus=bus, metrics=metrics or Metrics(), tracing=tracing)

    def consumer(self, topic: str, role: str) -> Consumer:
        """A consumer of ``topic`` in the group ``<prefix>-<role>`` (not started yet)."""
        s = self.settings
        return Consumer(
            s.kafka_bootstrap,
            [topic],
            f"{s.consumer_group_prefix}-{role}",
            fetch_wait_ms=s.consumer_fetch_wait_ms,
        )

    async def close(self) -> None:
        await self.bus.stop()
        await self.db.close()
        self.tracing.shutdown()


class Service:
    """Base of every service. Subclasses override what they need."""

    name = "service"

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def start(self) -> None:
        """Connect consumers, load caches. Returns when the service is ready."""

    async def run(self) -> None:
        """Work until cancelled. The default serves HTTP routes only."""
        await asyncio.Event().wait()

    async def stop(self) -> None:
        """Release what start() took."""

    def routes(self) -> Sequence[BaseRoute]:
        return ()

    def ready(self) -> bool:
        return True


def build_app(services: Sequence[Service], metrics: Metrics) -> Starlette:
    async def health(_: Request) -> Response:
        states = {s.name: s.ready() for s in services}
        ok = all(states.values())
        return JSONResponse(
            {"status": "ok" if ok else "starting", "services": states},
            status_code=200 if ok else 503,
        )

    async def prometheus(_: Request) -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    routes: list[BaseRoute] = [Route("/health", health), Route("/metrics", prometheus)]
    for s in services:
        routes.extend(s.routes())
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error})


async def http_error(request: Request, exc: Exception) -> Response:
    """Unknown routes and wrong methods answer JSON like every other error."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"not found: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"method {request.method} not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    return JSONResponse(
        {"error": message, "status": exc.status_code},
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def serve(
    services: Sequence[Service],
    settings: Settings,
    metrics: Metrics,
    *,
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Start the services, serve HTTP, and run until SIGINT/SIGTERM or ``stop`` is set."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await asyncio.gather(*(s.start() for s in services))
    config = uvicorn.Config(
        build_app(services, metrics),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_keep_alive=30,
    )
    server = uvicorn.Server(config)
    tasks: list[asyncio.Task[Any]] = [
        asyncio.create_task(s.run(), name=f"{s.name}.run") for s in services
    ]
    tasks.append(asyncio.create_task(server.serve(), name="http"))
    try:
        while not server.started:
            if tasks[-1].done():
                tasks[-1].result()
            await asyncio.sleep(0.02)
        log.info(
            "%s listening on http://%s:%d",
            ", ".join(s.name for s in services),
            settings.host,
            settings.port,
        )
        if ready is not None:
            ready.set()
        stopper = asyncio.create_task(stop.wait())
        tasks.append(stopper)
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            if t is not stopper and not t.cancelled() and (exc := t.exception()) is not None:
                log.error("%s stopped: %r", t.get_name(), exc)
                raise exc
    finally:
        server.should_exit = True
        for t in tasks:
            if t.get_name() != "http":
                t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for s in reversed(services):
            with contextlib.suppress(Exception):
                await s.stop()
