"""The ``POST /fn/register`` body an SDK sends after a sync (§3.2, §3.3).

Two dialects reach the same endpoint: Python sends ``appname`` and ``deploy_type``; TS sends
``appName``, ``deployType`` and ``deployId``. Both are accepted. URLs are kept byte for byte
except that ``deployId`` and ``probe`` are removed from their query strings (§3.1, §15). Every
function option is kept in ``FunctionConfig.config`` (the raw object) so nothing the app declared
is lost, even options the server does not enforce yet.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import unquote_plus

from .errors import ProtocolError

DEFAULT_RETRIES = 4
MAX_RETRIES = 20
_STRIPPED_PARAMS = frozenset({"deployId", "probe"})


@dataclasses.dataclass(frozen=True)
class TriggerConfig:
    """An event trigger (``event`` + optional CEL ``expression``) or a cron trigger."""

    event: str | None = None
    expression: str | None = None
    cron: str | None = None
    jitter: str | None = None


@dataclasses.dataclass(frozen=True)
class FunctionConfig:
    """One function of an app. ``retries`` is ``steps.step.retries.attempts`` (retry count:
    max attempts is ``retries + 1``); ``config`` is the function object exactly as sent."""

    id: str
    name: str
    triggers: tuple[TriggerConfig, ...]
    retries: int
    url: str
    concurrency: tuple[dict[str, Any], ...]
    config: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class RegisterRequest:
    app_name: str
    url: str
    sdk: str | None
    framework: str | None
    app_version: str | None
    deploy_type: str | None
    deploy_id: str | None
    functions: tuple[FunctionConfig, ...]
    raw: dict[str, Any] = dataclasses.field(compare=False, repr=False)


def strip_url_params(url: str) -> str:
    """Remove ``deployId`` and ``probe`` query parameters; leave every other byte alone."""
    base, sep, rest = url.partition("?")
    if not sep:
        return url
    query, hash_sep, fragment = rest.partition("#")
    kept = [
        part
        for part in query.split("&")
        if unquote_plus(part.partition("=")[0]) not in _STRIPPED_PARAMS
    ]
    out = base
    if any(kept):
        out += "?" + "&".join(kept)
    if hash_sep:
        out += "#" + fragment
    return out


def _first(obj: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if obj.get(key) is not None:
            return obj[key]
    return None


def _opt_str(obj: dict[str, Any], where: str, *keys: str) -> str | None:
    value = _first(obj, *keys)
    if value is not None and not isinstance(value, str):
        raise ProtocolError(f"{where}.{keys[0]} must be a string")
    return value


def _trigger(obj: Any, where: str) -> TriggerConfig:
    if not isinstance(obj, dict):
        raise ProtocolError(f"{where} must be an object")
    event = _opt_str(obj, where, "event")
    cron = _opt_str(obj, where, "cron")
    if not event and not cron:
        raise ProtocolError(f"{where} has neither an event nor a cron")
    if event and cron:
        raise ProtocolError(f"{where} has both an event and a cron")
    return TriggerConfig(
        event=event or None,
        expression=_opt_str(obj, where, "expression") or None,
        cron=cron or None,
        jitter=_opt_str(obj, where, "jitter") or None,
    )


def _retries(step: dict[str, Any], where: str) -> int:
    retries = step.get("retries")
    if retries is None:
        return DEFAULT_RETRIES
    if not isinstance(retries, dict):
        raise ProtocolError(f"{where}.retries must be an object")
    attempts = retries.get("attempts")
    if attempts is None:
        return DEFAULT_RETRIES
    if isinstance(attempts, bool) or not isinstance(attempts, int | float):
        raise ProtocolError(f"{where}.retries.attempts must be a number")
    return max(0, min(int(attempts), MAX_RETRIES))


def _concurrency(value: Any, where: str) -> tuple[dict[str, Any], ...]:
    """Python sends a list, TS a number, an object or a list (§3.3)."""
    if value is None:
        return ()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return ({"limit": int(value)},)
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list):
        raise ProtocolError(f"{where}.concurrency must be a number, an object or a list")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if isinstance(item, int | float) and not isinstance(item, bool):
            item = {"limit": int(item)}
        if not isinstance(item, dict) or not isinstance(item.get("limit"), int | float):
            raise ProtocolError(f"{where}.concurrency[{i}] needs a numeric limit")
        out.append(dict(item))
    return tuple(out)


def _function(obj: Any, where: str) -> FunctionConfig:
    if not isinstance(obj, dict):
        raise ProtocolError(f"{where} must be an object")
    fn_id = obj.get("id")
    if not isinstance(fn_id, str) or not fn_id:
        raise ProtocolError(f"{where} has no id")
    where = f"function {fn_id!r}"
    name = obj.get("name") or fn_id
    if not isinstance(name, str):
        raise ProtocolError(f"{where}: name must be a string")
    triggers = obj.get("triggers")
    if not isinstance(triggers, list) or not triggers:
        raise ProtocolError(f"{where}: triggers must be a non-empty list")
    steps = obj.get("steps")
    step = steps.get("step") if isinstance(steps, dict) else None
    if step is None and isinstance(steps, dict) and len(steps) == 1:
        step = next(iter(steps.values()))
    if not isinstance(step, dict):
        raise ProtocolError(f"{where}: steps.step is missing")
    runtime = step.get("runtime")
    url = runtime.get("url") if isinstance(runtime, dict) else None
    if not isinstance(url, str) or not url:
        raise ProtocolError(f"{where}: steps.step.runtime.url is missing")
    return FunctionConfig(
        id=fn_id,
        name=name,
        triggers=tuple(_trigger(t, f"{where}: triggers[{i}]") for i, t in enumerate(triggers)),
        retries=_retries(step, f"{where}: steps.step"),
        url=strip_url_params(url),
        concurrency=_concurrency(obj.get("concurrency"), where),
        config=obj,
    )


def parse_register(body: Any) -> RegisterRequest:
    """Validate a register body from either SDK dialect. Raises ProtocolError naming the field."""
    if not isinstance(body, dict):
        raise ProtocolError("register body must be a JSON object")
    url = body.get("url")
    if not isinstance(url, str) or not url:
        raise ProtocolError("register body: url must be a non-empty string")
    app_name = _first(body, "appName", "appname", "app_name")
    if not isinstance(app_name, str) or not app_name:
        raise ProtocolError("register body: appName must be a non-empty string")
    functions = body.get("functions")
    if functions is None:
        functions = []
    if not isinstance(functions, list):
        raise ProtocolError("register body: functions must be a list")
    parsed = tuple(_function(f, f"functions[{i}]") for i, f in enumerate(functions))
    seen: set[str] = set()
    for fn in parsed:
        if fn.id in seen:
            raise ProtocolError(f"register body: function id {fn.id!r} appears twice")
        seen.add(fn.id)
    return RegisterRequest(
        app_name=app_name,
        url=strip_url_params(url),
        sdk=_opt_str(body, "register body", "sdk"),
        framework=_opt_str(body, "register body", "framework"),
        app_version=_opt_str(body, "register body", "appVersion", "app_version"),
        deploy_type=_opt_str(body, "register body", "deployType", "deploy_type"),
        deploy_id=_opt_str(body, "register body", "deployId", "deploy_id"),
        functions=parsed,
        raw=body,
    )
