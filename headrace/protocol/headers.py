"""HTTP header names of the SDK protocol, and the one header value that needs parsing.

Requests from the server to the app carry the signature, the server kind and the request
version; responses from the app carry the SDK name, the request version, ``sdk-handled`` (the
server's proof that an SDK answered, not a proxy) and the retry hints ``no-retry`` and
``Retry-After``.
"""

from __future__ import annotations

import datetime
import email.utils

AUTHORIZATION = "Authorization"
CONTENT_TYPE = "Content-Type"
SIGNATURE = "X-Inngest-Signature"
SDK = "X-Inngest-SDK"
SDK_HANDLED = "X-Inngest-Sdk-Handled"
NO_RETRY = "X-Inngest-No-Retry"
RETRY_AFTER = "Retry-After"
REQ_VERSION = "X-Inngest-Req-Version"
SERVER_KIND = "X-Inngest-Server-Kind"
EXPECTED_SERVER_KIND = "X-Inngest-Expected-Server-Kind"
FRAMEWORK = "X-Inngest-Framework"
ENV = "X-Inngest-Env"
SYNC_KIND = "X-Inngest-Sync-Kind"
EVENT_ID_SEED = "X-Inngest-Event-Id-Seed"
STEP_ID = "X-Inngest-Step-ID"
RUN_ID = "X-Run-ID"
REQUEST_ID = "X-Request-ID"
JOB_ID = "X-Inngest-Job-ID"
GENERATION_ID = "X-Inngest-Generation-ID"

SERVER_KIND_DEV = "dev"
SERVER_KIND_CLOUD = "cloud"

# Both official SDKs answer with request version 2 whatever they were sent (§10.4).
REQUEST_VERSION = 2


def parse_retry_after(value: str | None, now: datetime.datetime) -> datetime.datetime | None:
    """Read a ``Retry-After`` value: delay seconds, an ISO 8601 time or an HTTP date.

    Returns an aware UTC time, or None when the header is absent or unreadable (the caller then
    falls back to its own backoff). ``now`` must be aware.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if seconds != seconds or seconds in (float("inf"), float("-inf")):
            return None
        return now + datetime.timedelta(seconds=max(seconds, 0.0))
    try:
        when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when.astimezone(datetime.UTC)
