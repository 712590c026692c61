"""The app's HTTP reply, classified into the engine's reply types.

How replies are read (wire protocol §7): ``x-inngest-no-retry`` decides retriability when
present, otherwise a 4xx is final and anything else is retried; ``Retry-After`` may be seconds or
a date; 206 is an opcode array (a bare object is one opcode); a 2xx that does not carry the
SDK's headers is not from an SDK and fails the attempt; 201 is a streamed envelope whose
``body`` is a JSON string.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from headrace.protocol import ProtocolError, parse_opcodes, parse_retry_after
from services.core.engine import DoneReply, ErrorReply, OpsReply, Reply, TransportFailure

_SNIPPET = 300


def classify(status: int, headers: dict[str, str], body: bytes, now: datetime) -> Reply:
    """Turn (status, lower-cased headers, raw body) into a Reply; never raises."""
    if status == 201:
        return _streamed(body, now)
    from_sdk = "x-inngest-sdk" in headers or "x-inngest-sdk-handled" in headers
    version = _int(headers.get("x-inngest-req-version"))
    no_retry_raw = headers.get("x-inngest-no-retry")
    no_retry = None if no_retry_raw is None else no_retry_raw.strip().lower() == "true"
    retry_after = parse_retry_after(headers.get("retry-after"), now)
    if 200 <= status < 300 and not from_sdk:
        return TransportFailure(
            f"the app answered {status} without Inngest SDK headers: {_snippet(body)}"
        )
    if status == 200:
        try:
            output = json.loads(body) if body.strip() else None
        except ValueError:
            return TransportFailure(f"the app's 200 body is not JSON: {_snippet(body)}")
        return DoneReply(output=output, request_version=version)
    if status == 206:
        try:
            ops = parse_opcodes(json.loads(body))
        except (ValueError, ProtocolError) as exc:
            return TransportFailure(
                f"the app's 206 body is not an opcode list ({exc}): {_snippet(body)}"
            )
        return OpsReply(
            ops=ops, request_version=version, no_retry=bool(no_retry), retry_after=retry_after
        )
    parsed: Any
    try:
        parsed = json.loads(body) if body.strip() else None
    except ValueError:
        parsed = body.decode("utf-8", "replace")[:_SNIPPET]
    return ErrorReply(
        status=status,
        body=parsed,
        no_retry=no_retry,
        retry_after=retry_after,
        message=f"invalid status code: {status}",
    )


def _streamed(body: bytes, now: datetime) -> Reply:
    try:
        envelope = json.loads(body)
        inner = envelope["body"]
        inner_bytes = inner.encode() if isinstance(inner, str) else json.dumps(inner).encode()
        headers = {str(k).lower(): str(v) for k, v in (envelope.get("headers") or {}).items()}
        headers.setdefault("x-inngest-sdk-handled", "true")
        status = int(envelope["status"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return TransportFailure(f"the app's streamed reply is malformed ({exc}): {_snippet(body)}")
    return classify(status, headers, inner_bytes, now)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _snippet(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    return text[:_SNIPPET] + ("…" if len(text) > _SNIPPET else "") if text else "(empty body)"
