"""JSON replies of the API: ``{"data": ...}`` on success, ``{"error": "..."}`` otherwise, and
the shapes of the objects it shows (timestamps as ISO 8601 strings)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.responses import JSONResponse

from services.core.model import Run, Step


def data(value: Any, status: int = 200) -> JSONResponse:
    return JSONResponse({"data": value}, status_code=status)


def error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def app_json(row: dict[str, Any]) -> dict[str, Any]:
    """An ``AppStore.list_apps`` row."""
    return {
        "id": row["id"],
        "url": row["url"],
        "sdk": row["sdk"],
        "framework": row["framework"],
        "error": row["error"],
        "synced_at": iso(row["synced_at"]),
        "functions": row["functions"],
    }


def event_json(row: dict[str, Any]) -> dict[str, Any]:
    """An ``EventStore.get`` row."""
    return {
        "id": row["id"],
        "name": row["name"],
        "data": row["data"],
        "user": row["user"],
        "ts": row["ts"],
        "v": row["v"],
        "idempotency_key": row["idempotency_key"],
        "received_at": iso(row["received_at"]),
    }


def run_json(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "function_id": run.function_id,
        "app_id": run.app_id,
        "event_id": run.event_ids[0] if run.event_ids else None,
        "event_ids": list(run.event_ids),
        "status": run.status.value,
        "output": run.output,
        "error": run.error,
        "created_at": iso(run.created_at),
        "started_at": iso(run.started_at),
        "ended_at": iso(run.ended_at),
    }


def step_json(step: Step) -> dict[str, Any]:
    return {
        "id": step.step_id,
        "name": step.name,
        "op": step.op,
        "status": step.status.value,
        "attempts": step.attempts,
        "output": step.output,
        "error": step.error,
        "started_at": iso(step.started_at),
        "ended_at": iso(step.ended_at),
    }
