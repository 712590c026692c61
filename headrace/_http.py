"""Outgoing HTTP to the Headrace server: sending events (§11), with retries.

One attempt plus up to ``RETRIES`` more on a network error or a 5xx; a 4xx is final.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import httpx

from .errors import SendEventError
from .event import Event

RETRIES = 4
BACKOFF_SECONDS = 0.1
TIMEOUT = httpx.Timeout(10.0)


def event_bodies(
    events: Event | dict[str, Any] | Sequence[Event | dict[str, Any]],
) -> list[dict[str, Any]]:
    items = [events] if isinstance(events, Event | dict) else list(events)
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, dict):
            item = Event.from_json(item)
        if not isinstance(item, Event):
            raise SendEventError(f"cannot send {type(item).__name__}; use Event or dict")
        if not item.name:
            raise SendEventError("every event needs a non-empty name")
        out.append(item.to_send())
    return out


def _ids(response: httpx.Response) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        body = None
    ids = body.get("ids") if isinstance(body, dict) else None
    ids = [str(i) for i in ids] if isinstance(ids, list) else []
    if response.status_code != 200:
        detail = body.get("error") if isinstance(body, dict) else None
        raise SendEventError(
            f"event API answered {response.status_code}: {detail or response.text[:200]}", ids
        )
    if isinstance(body, dict) and body.get("error"):
        raise SendEventError(f"event API reported: {body['error']}", ids)
    return ids


def _retriable(err: Exception | None, response: httpx.Response | None) -> bool:
    if err is not None:
        return True
    return response is not None and response.status_code >= 500


async def send_async(
    url: str,
    headers: dict[str, str],
    body: list[dict[str, Any]],
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[str]:
    async with httpx.AsyncClient(timeout=TIMEOUT, transport=transport) as http:
        for attempt in range(RETRIES + 1):
            response: httpx.Response | None = None
            error: Exception | None = None
            try:
                response = await http.post(url, json=body, headers=headers)
            except httpx.TransportError as err:
                error = err
            if attempt < RETRIES and _retriable(error, response):
                await asyncio.sleep(BACKOFF_SECONDS * 2**attempt)
                continue
            if response is None:
                raise SendEventError(f"cannot reach the event API at {url}: {error}")
            return _ids(response)
    raise AssertionError("unreachable")  # pragma: no cover


def send_sync(
    url: str,
    headers: dict[str, str],
    body: list[dict[str, Any]],
    transport: httpx.BaseTransport | None = None,
) -> list[str]:
    with httpx.Client(timeout=TIMEOUT, transport=transport) as http:
        for attempt in range(RETRIES + 1):
            response: httpx.Response | None = None
            error: Exception | None = None
            try:
                response = http.post(url, json=body, headers=headers)
            except httpx.TransportError as err:
                error = err
            if attempt < RETRIES and _retriable(error, response):
                time.sleep(BACKOFF_SECONDS * 2**attempt)
                continue
            if response is None:
                raise SendEventError(f"cannot reach the event API at {url}: {error}")
            return _ids(response)
    raise AssertionError("unreachable")  # pragma: no cover
