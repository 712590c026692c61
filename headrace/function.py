"""Function declarations: triggers, options and the config sent at sync (§3.3)."""

from __future__ import annotations

import dataclasses
import datetime
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from .errors import ConfigError
from .protocol import MAX_RETRIES, format_duration

if TYPE_CHECKING:
    from .step import Context, Step, SyncStep

    Handler = Callable[[Context, Step], Any] | Callable[[Context, SyncStep], Any]


@dataclasses.dataclass(frozen=True)
class TriggerEvent:
    """Run on every event named ``event`` (wildcards allowed), optionally filtered by a CEL
    ``expression`` such as ``"event.data.amount > 100"``."""

    event: str
    expression: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.event}
        if self.expression is not None:
            out["expression"] = self.expression
        return out


@dataclasses.dataclass(frozen=True)
class TriggerCron:
    """Run on a cron schedule, e.g. ``TriggerCron(cron="*/5 * * * *")``."""

    cron: str
    jitter: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cron": self.cron}
        if self.jitter is not None:
            out["jitter"] = self.jitter
        return out


Trigger = TriggerEvent | TriggerCron

# Python keyword -> register body key, for the pass-through flow-control options.
OPTION_KEYS = {
    "concurrency": "concurrency",
    "throttle": "throttle",
    "rate_limit": "rateLimit",
    "debounce": "debounce",
    "batch_events": "batchEvents",
    "cancel": "cancel",
    "idempotency": "idempotency",
    "priority": "priority",
    "timeouts": "timeouts",
    "singleton": "singleton",
}


def _jsonable(value: Any) -> Any:
    """Options may use timedeltas for durations; the wire wants Go-style strings."""
    if isinstance(value, datetime.timedelta):
        return format_duration(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclasses.dataclass(frozen=True)
class Function:
    """A function declared with ``Client.create_function``. Call ``handler`` only through
    ``serve``; the function itself is still callable for unit tests of your own."""

    app_id: str
    local_id: str
    name: str
    triggers: tuple[Trigger, ...]
    retries: int
    options: dict[str, Any]
    handler: Callable[..., Any]

    @property
    def id(self) -> str:
        """The composite id the server knows the function by: ``<app_id>-<fn_id>``."""
        return f"{self.app_id}-{self.local_id}"

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.handler)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.handler(*args, **kwargs)

    def config(self, app_url: str) -> dict[str, Any]:
        """The function object of the register body."""
        sep = "&" if "?" in app_url else "?"
        url = app_url + sep + urlencode({"fnId": self.id, "stepId": "step"})
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "triggers": [t.to_json() for t in self.triggers],
            "steps": {
                "step": {
                    "id": "step",
                    "name": "step",
                    "runtime": {"type": "http", "url": url},
                    "retries": {"attempts": self.retries},
                }
            },
        }
        out.update(self.options)
        return out


def make_function(
    *,
    app_id: str,
    fn_id: str,
    trigger: Trigger | Sequence[Trigger],
    retries: int,
    name: str | None,
    options: Mapping[str, Any],
    handler: Callable[..., Any],
) -> Function:
    if not fn_id or not isinstance(fn_id, str):
        raise ConfigError("fn_id must be a non-empty string")
    triggers = (trigger,) if isinstance(trigger, TriggerEvent | TriggerCron) else tuple(trigger)
    if not triggers:
        raise ConfigError(f"function {fn_id!r} needs at least one trigger")
    for t in triggers:
        if not isinstance(t, TriggerEvent | TriggerCron):
            raise ConfigError(f"function {fn_id!r}: {t!r} is not a TriggerEvent or TriggerCron")
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        raise ConfigError(f"function {fn_id!r}: retries must be an int from 0 to {MAX_RETRIES}")
    if not callable(handler):
        raise ConfigError(f"function {fn_id!r}: handler is not callable")
    wire: dict[str, Any] = {}
    for key, value in options.items():
        if value is None:
            continue
        if key not in OPTION_KEYS:
            raise ConfigError(f"function {fn_id!r}: unknown option {key!r}")
        wire[OPTION_KEYS[key]] = _jsonable(value)
    if isinstance(wire.get("concurrency"), int | dict):
        wire["concurrency"] = [
            {"limit": wire["concurrency"]}
            if isinstance(wire["concurrency"], int)
            else wire["concurrency"]
        ]
    return Function(
        app_id=app_id,
        local_id=fn_id,
        name=name or fn_id,
        triggers=triggers,
        retries=retries,
        options=wire,
        handler=handler,
    )
