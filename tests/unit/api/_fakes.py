"""Fakes for the API's unit tests: an app store in memory and helpers to build the service."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from services.api import ApiService
from services.core.metrics import Metrics
from services.core.model import App
from services.core.service import Deps, build_app
from services.core.settings import Settings

TRANSCRIPTS = Path(__file__).resolve().parents[2] / "unit" / "protocol" / "transcripts"


def register_call(transcript: str) -> dict[str, Any]:
    """The first recorded ``POST /fn/register`` of a transcript: path, headers and body."""
    with open(TRANSCRIPTS / f"{transcript}.json", encoding="utf-8") as fh:
        entries = json.load(fh)
    for e in entries:
        for call in e.get("sdk_calls_to_server") or []:
            if call["path"].startswith("/fn/register"):
                return dict(call)
    raise LookupError(f"no register call in {transcript}")


class FakeAppStore:
    def __init__(self) -> None:
        self.apps: dict[str, App] = {}
        self.synced_at: dict[str, datetime] = {}
        self.errors: dict[str, str] = {}
        self._tick = datetime(2026, 1, 1, tzinfo=UTC)

    async def sync(self, app: App) -> bool:
        modified = self.apps.get(app.id) != app
        self.apps[app.id] = app
        self._tick += timedelta(seconds=1)
        self.synced_at[app.id] = self._tick
        return modified

    async def record_error(self, app_id: str, url: str, error: str) -> None:
        self.errors[app_id] = error

    async def list_apps(self) -> list[dict[str, Any]]:
        return [
            {
                "id": a.id,
                "url": a.url,
                "sdk": a.sdk,
                "framework": a.framework,
                "error": self.errors.get(a.id),
                "synced_at": self.synced_at[a.id],
                "functions": [{"id": f.id, "name": f.name} for f in a.functions],
            }
            for a in self.apps.values()
        ]


def api_client(
    settings: Settings | None = None,
    http: httpx.AsyncClient | None = None,
    apps: FakeAppStore | None = None,
) -> tuple[httpx.AsyncClient, ApiService]:
    """An HTTP client for an ApiService with no database (only routes that need none work),
    or with ``apps`` standing in for the app store."""
    deps = Deps(settings=settings or Settings(), db=None, bus=None, metrics=Metrics())  # type: ignore[arg-type]
    service = ApiService(deps, http=http or httpx.AsyncClient())
    if apps is not None:
        service.sync.apps = apps  # type: ignore[assignment]
    app = build_app([service], deps.metrics)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")
    return client, service
