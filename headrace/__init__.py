"""Headrace: durable functions for Python, on a self-hosted server.

>>> import headrace
>>> client = headrace.Client("shop")
>>> @client.create_function(fn_id="welcome", trigger=headrace.TriggerEvent(event="user/created"))
... async def welcome(ctx: headrace.Context, step: headrace.Step) -> str:
...     name = await step.run("load", lambda: ctx.event.data.get("name", "you"))
...     await step.sleep("pause", "1s")
...     return f"hello {name}"
>>> app = headrace.asgi.serve(client, [welcome])
"""

from __future__ import annotations

from . import asgi, protocol
from .client import Client
from .errors import (
    ConfigError,
    HeadraceError,
    NonRetriableError,
    RetryAfterError,
    SendEventError,
    StepError,
)
from .event import Event
from .function import Function, TriggerCron, TriggerEvent
from .step import Context, Step, SyncStep

__version__ = "0.1.0"

__all__ = [
    "Client",
    "ConfigError",
    "Context",
    "Event",
    "Function",
    "HeadraceError",
    "NonRetriableError",
    "RetryAfterError",
    "SendEventError",
    "Step",
    "StepError",
    "SyncStep",
    "TriggerCron",
    "TriggerEvent",
    "__version__",
    "asgi",
    "protocol",
]
