"""The one error the protocol layer raises: the peer sent something we cannot read."""

from __future__ import annotations


class ProtocolError(ValueError):
    """A wire value (request body, opcode, duration, register body) is malformed.

    The message names the offending field so it can be shown to whoever sent it.
    """
