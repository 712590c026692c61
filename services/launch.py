"""Wiring services into processes: ``headrace dev`` (all of them, embedded servers) and
``headrace run <service>`` (one of them, configured by the environment)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from services.core import log as logsetup
from services.core.service import Deps, Service, serve
from services.core.settings import Settings

log = logging.getLogger("headrace")


def build(name: str, deps: Deps, *, dev: bool = False) -> Service:
    if name == "ingest":
        from services.ingest import IngestService

        return IngestService(deps)
    if name == "api":
        from services.api import ApiService

        return ApiService(deps)
    if name == "matcher":
        from services.matcher import MatcherService

        return MatcherService(deps)
    if name == "executor":
        from services.executor import ExecutorService

        return ExecutorService(deps)
    if name == "scheduler":
        from services.scheduler import SchedulerService

        # The dev broker keeps nothing across restarts: re-publish every run's job on start.
        return SchedulerService(deps, recover_on_start=dev)
    raise ValueError(f"unknown service {name!r}")


def run_service(name: str) -> int:
    settings = Settings.from_env()
    logsetup.setup(settings.log_level)
    return asyncio.run(_serve([name], settings))


async def _serve(
    names: Sequence[str],
    settings: Settings,
    *,
    dev: bool = False,
    app_urls: Sequence[str] = (),
    started: float | None = None,
) -> int:
    deps = await Deps.open(settings)
    services = [build(n, deps, dev=dev) for n in names]
    ready = asyncio.Event()
    syncer = asyncio.create_task(_announce_and_sync(ready, settings, app_urls, started))
    try:
        await serve(services, settings, deps.metrics, ready=ready)
    finally:
        syncer.cancel()
        await deps.close()
    return 0


def run_dev(
    *,
    app_urls: Sequence[str] = (),
    host: str | None = None,
    port: int | None = None,
    data_dir: str | None = None,
    database_url: str | None = None,
    kafka: str | None = None,
) -> int:
    started = time.perf_counter()
    base = Settings.from_env()
    logsetup.setup(base.log_level)
    from services.core.embedded import EmbeddedBroker, EmbeddedPostgres

    root = Path(data_dir or base.data_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    pg: EmbeddedPostgres | None = None
    broker: EmbeddedBroker | None = None
    overrides: dict[str, Any] = {"server_kind": "dev"}
    if "HEADRACE_RETRY_SCHEDULE" not in os.environ:
        overrides["retry_schedule"] = "dev"
    if "HEADRACE_REDELIVER_SECONDS" not in os.environ:
        overrides["redeliver_seconds"] = 10.0
    try:
        if database_url is None and "HEADRACE_DATABASE_URL" not in os.environ:
            pg = EmbeddedPostgres(root / "postgres")
            pg.start()
            database_url = pg.create_database("headrace")
        if database_url:
            overrides["database_url"] = database_url
        if kafka is None and "HEADRACE_KAFKA_BOOTSTRAP" not in os.environ:
            broker = EmbeddedBroker(log_path=root / "broker.log")
            kafka = broker.start()
            overrides["kafka_idempotence"] = False
            if "HEADRACE_CONSUMER_FETCH_WAIT_MS" not in os.environ:
                overrides["consumer_fetch_wait_ms"] = 25
        if kafka:
            overrides["kafka_bootstrap"] = kafka
        if host:
            overrides["host"] = host
        if port:
            overrides["port"] = port
        settings = Settings.from_env(**overrides)
        names = ["ingest", "api", "matcher", "executor", "scheduler"]
        return asyncio.run(
            _serve(names, settings, dev=broker is not None, app_urls=app_urls, started=started)
        )
    except KeyboardInterrupt:
        return 0
    finally:
        if broker is not None:
            broker.stop()
        if pg is not None:
            pg.stop()


async def _announce_and_sync(
    ready: asyncio.Event, settings: Settings, app_urls: Sequence[str], started: float | None
) -> None:
    await ready.wait()
    url = f"http://{settings.host}:{settings.port}"
    if started is not None:
        log.info("Headrace dev server ready at %s in %.1fs", url, time.perf_counter() - started)
    await asyncio.gather(*(_sync_until_answered(u, settings) for u in app_urls))


async def _sync_until_answered(app_url: str, settings: Settings) -> None:
    """Sync through our own ``POST /v1/apps`` (which PUTs the app and checks that it registered),
    retrying while the app does not answer; an app that answers but is rejected is reported."""
    api = f"http://{settings.host}:{settings.port}/v1/apps"
    delay = 0.5
    async with httpx.AsyncClient(timeout=60) as http:
        while True:
            try:
                headers = (
                    {"authorization": f"Bearer {settings.signing_key}"}
                    if (settings.signing_key)
                    else {}
                )
                resp = await http.post(api, json={"url": app_url}, headers=headers)
            except httpx.HTTPError as exc:
                resp = None
                reason = repr(exc)
            if resp is not None and resp.status_code == 200:
                app = resp.json()["data"]
                log.info(
                    "synced app %s from %s (%d functions)",
                    app["id"],
                    app_url,
                    len(app["functions"]),
                )
                return
            if resp is not None:
                reason = resp.json().get("error", resp.text[:300])
                if resp.status_code < 500:
                    log.error("app %s was not synced: %s", app_url, reason)
                    return
            log.info("app %s not synced yet (%s); retrying", app_url, reason)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
