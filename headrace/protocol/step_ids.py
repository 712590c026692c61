"""Step ids on the wire are hashes of the user's ids (§6).

``sha1(user_id)`` for the first use in a run; the n-th reuse (n >= 1) hashes ``"<id>:<n>"``.
"""

from __future__ import annotations

import hashlib


def step_hash(user_id: str, index: int = 0) -> str:
    """Hash a user-facing step id the way both official SDKs do.

    >>> step_hash("first")
    'e0996a37c13d44c3b06074939d43fa3759bd32c1'
    >>> step_hash("same", 1) == step_hash("same:1")
    True
    """
    if index < 0:
        raise ValueError("step index must be >= 0")
    raw = user_id if index == 0 else f"{user_id}:{index}"
    return hashlib.sha1(raw.encode("utf-8"), usedforsecurity=False).hexdigest()
