"""The signed call to the app: one HTTP POST per step (wire protocol §5).

The body is JCS-canonical JSON and exactly those bytes are signed and sent, because the SDKs
verify the signature over the canonical form of what they parse.
"""

from __future__ import annotations

import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import httpx

from headrace import protocol
from services.core.model import Event, Run

HEADER_LIMIT = 4 * 1024 * 1024  # above this the SDK is told to fetch events and steps itself


@dataclass(frozen=True, slots=True)
class AppResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float
    error: str | None = None  # set when no HTTP response arrived


def step_url(url: str, step_id: str) -> str:
    """The function's registered URL with ``stepId`` set; everything else byte for byte."""
    parts = urllib.parse.urlsplit(url)
    value = "stepId=" + urllib.parse.quote(step_id, safe="")
    params = parts.query.split("&") if parts.query else []
    replaced = [value if p.split("=", 1)[0] == "stepId" else p for p in params]
    if value not in replaced:
        replaced.append(value)
    return urllib.parse.urlunsplit(parts._replace(query="&".join(replaced)))


def build_body(
    run: Run, events: list[Event], memo: dict[str, Any], *, target: str, env: str, job_id: str
) -> bytes:
    sdk_events = [e.to_sdk() for e in events]
    request = protocol.build_call_request(
        run_id=run.id,
        event=sdk_events[0],
        events=sdk_events,
        steps=memo,
        stack=list(memo),
        attempt=run.attempt,
        max_attempts=run.max_attempts,
        disable_immediate_execution=run.force_step_plan or target != "step",
        request_version=run.request_version,
        step_id=target,
        env=env,
        job_id=job_id,
        request_id=job_id,
    )
    body = protocol.canonicalize(request)
    if len(body) > HEADER_LIMIT:
        request["events"] = []
        request["steps"] = {}
        request["use_api"] = True
        request["ctx"]["use_api"] = True
        body = protocol.canonicalize(request)
    return body


async def call_app(
    http: httpx.AsyncClient,
    url: str,
    body: bytes,
    *,
    run: Run,
    target: str,
    job_id: str,
    server_kind: str,
    signing_key: str | None,
    extra_headers: dict[str, str] | None = None,
    timeout: float,  # noqa: ASYNC109 - an httpx request timeout, not a cancel scope
) -> AppResponse:
    headers = {
        "content-type": "application/json",
        "x-run-id": run.id,
        "x-request-id": job_id,
        "x-inngest-job-id": job_id,
        "x-inngest-generation-id": str(run.generation),
        "x-inngest-step-id": target,
        "x-inngest-server-kind": server_kind,
        "user-agent": "headrace-executor",
    }
    if run.request_version >= 0:
        headers["x-inngest-req-version"] = str(run.request_version)
    if signing_key:
        headers["x-inngest-signature"] = protocol.sign(body, signing_key)
    if extra_headers:
        headers.update(extra_headers)
    started = time.perf_counter()
    try:
        resp = await http.post(
            step_url(url, target), content=body, headers=headers, timeout=timeout
        )
    except httpx.TimeoutException:
        return AppResponse(
            0,
            {},
            b"",
            time.perf_counter() - started,
            error=f"the app did not answer within {timeout:g}s",
        )
    except httpx.HTTPError as exc:
        return AppResponse(
            0,
            {},
            b"",
            time.perf_counter() - started,
            error=f"cannot reach the app at {url}: {exc!r}",
        )
    return AppResponse(
        status=resp.status_code,
        headers={k.lower(): v for k, v in resp.headers.items()},
        body=resp.content,
        seconds=time.perf_counter() - started,
    )
