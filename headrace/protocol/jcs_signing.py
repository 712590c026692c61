"""Canonical JSON, request and response signatures, and bearer tokens (§9).

Signature header: ``t=<unix seconds>&s=<hex HMAC-SHA256>``. The HMAC key is the hex part of the
signing key *as text* (its UTF-8 bytes, not the decoded bytes), and the message is the body
followed by ``str(t)``. Requests (server -> SDK) are signed over the RFC 8785 canonical form of
the body; responses (SDK -> server) over the raw bytes. The bearer token an SDK presents is
``sha256(bytes.fromhex(key_hex))``, with or without the ``signkey-<env>-`` prefix.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs

import jcs

from .errors import ProtocolError

_PREFIX = re.compile(r"^signkey-\w+-")


def canonicalize(obj: Any) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON value."""
    try:
        out = jcs.canonicalize(obj)
    except (TypeError, ValueError) as err:
        raise ProtocolError(f"value cannot be canonicalized: {err}") from err
    if not isinstance(out, bytes):  # pragma: no cover - jcs always returns bytes
        raise ProtocolError("canonicalization did not produce bytes")
    return out


def signing_key_hex(key: str) -> str:
    """Strip the ``signkey-<env>-`` prefix: ``signkey-test-abcd`` -> ``abcd``."""
    return _PREFIX.sub("", key, count=1)


def _mac(body: bytes, signing_key: str, t: int) -> str:
    mac = hmac.new(signing_key_hex(signing_key).encode("utf-8"), body, hashlib.sha256)
    mac.update(str(t).encode("utf-8"))
    return mac.hexdigest()


def sign(body: bytes, signing_key: str, now: int | None = None) -> str:
    """The ``X-Inngest-Signature`` value for ``body`` (exactly these bytes)."""
    t = int(time.time()) if now is None else int(now)
    return f"t={t}&s={_mac(body, signing_key, t)}"


def _parse_header(header: str) -> tuple[int, str] | None:
    parsed = parse_qs(header, keep_blank_values=True)
    ts, sigs = parsed.get("t"), parsed.get("s")
    if not ts or not sigs:
        return None
    try:
        return int(ts[0]), sigs[0]
    except ValueError:
        return None


def verify_signature(
    body: bytes,
    header: str | None,
    signing_keys: Sequence[str],
    *,
    canonical: bool = True,
    max_age_seconds: int | None = 300,
    now: int | None = None,
) -> bool:
    """Check a signature header against each key in turn (primary, then fallback).

    ``canonical=True`` is how SDKs verify requests: the body is parsed and re-encoded with JCS
    (an empty body signs as ``b""``). ``canonical=False`` verifies the raw bytes, which is how the
    server verifies SDK responses. ``max_age_seconds=None`` disables the timestamp window.
    """
    if not header:
        return False
    parsed = _parse_header(header)
    if parsed is None:
        return False
    t, sig = parsed
    if max_age_seconds is not None:
        current = int(time.time()) if now is None else now
        if abs(current - t) > max_age_seconds:
            return False
    message = body
    if canonical and body.strip():
        try:
            message = canonicalize(json.loads(body))
        except (ValueError, ProtocolError):
            return False
    for key in signing_keys:
        if key and hmac.compare_digest(_mac(message, key, t), sig):
            return True
    return False


def bearer_hash(signing_key: str) -> str:
    """sha256 hex of the decoded key: what SDKs send as ``Authorization: Bearer``."""
    try:
        raw = bytes.fromhex(signing_key_hex(signing_key))
    except ValueError as err:
        raise ProtocolError("signing key is not hex after its signkey- prefix") from err
    return hashlib.sha256(raw).hexdigest()


def bearer_matches(authorization_header: str | None, signing_keys: Sequence[str]) -> bool:
    """Accept ``Bearer <hash>`` (Python SDK) and ``Bearer signkey-<env>-<hash>`` (TS SDK)."""
    if not authorization_header:
        return False
    scheme, _, token = authorization_header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    presented = signing_key_hex(token.strip())
    for key in signing_keys:
        if not key:
            continue
        try:
            expected = bearer_hash(key)
        except ProtocolError:
            continue
        if hmac.compare_digest(expected, presented):
            return True
    return False
