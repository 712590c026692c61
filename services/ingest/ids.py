"""Event ids. With the SDKs' ``x-inngest-event-id-seed: <ms>,<base64 of 10 random bytes>`` header
the ids are derived from the seed, so a request the SDK retries after a lost reply gets the same
ids again and the matcher stores (and runs) its events once. Without it they are fresh ULIDs."""

from __future__ import annotations

import base64
import binascii
import itertools
from collections.abc import Callable

from ulid import ULID

from services.core.publish import new_event_id

_ENTROPY_BITS = 80


def seeded_ids(seed: str | None) -> Callable[[], str]:
    """A generator of event ids for one request: seeded when ``seed`` is well formed."""
    parsed = _parse(seed) if seed else None
    if parsed is None:
        return new_event_id
    ms, entropy = parsed
    counter = itertools.count()

    def next_id() -> str:
        n = (entropy + next(counter)) % (1 << _ENTROPY_BITS)
        return str(ULID.from_bytes(ms.to_bytes(6, "big") + n.to_bytes(10, "big")))

    return next_id


def _parse(seed: str) -> tuple[int, int] | None:
    ms_text, _, entropy_text = seed.partition(",")
    try:
        ms = int(ms_text)
        entropy = base64.b64decode(entropy_text, validate=True)
    except (ValueError, binascii.Error):
        return None
    if not 0 <= ms < 1 << 48 or len(entropy) != 10:
        return None
    return ms, int.from_bytes(entropy, "big")
