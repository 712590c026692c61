"""Which functions an event starts. Pure: functions and an event in, function list out."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from services.core.expressions import ExpressionError, compile_expression
from services.core.model import Event, Function

log = logging.getLogger(__name__)

SCHEDULED = "inngest/scheduled.timer"


class TriggerIndex:
    """Functions indexed by trigger: exact names in a dict, wildcards in a list."""

    def __init__(self, functions: Iterable[Function]) -> None:
        self.by_id: dict[str, Function] = {}
        self.exact: dict[str, list[tuple[Function, str | None]]] = {}
        self.wildcards: list[tuple[str, Function, str | None]] = []
        for fn in functions:
            self.by_id[fn.id] = fn
            for t in fn.triggers:
                if t.event is None:
                    continue
                if t.expression:
                    try:
                        compile_expression(t.expression)
                    except ExpressionError as exc:
                        log.warning("function %s: trigger ignored: %s", fn.id, exc)
                        continue
                if t.event.endswith("*"):
                    self.wildcards.append((t.event[:-1], fn, t.expression))
                else:
                    self.exact.setdefault(t.event, []).append((fn, t.expression))

    def match(self, event: Event) -> list[Function]:
        """Functions this event starts, each once, in a stable order."""
        if event.name == SCHEDULED:
            fn = self.by_id.get(str(event.data.get("function_id", "")))
            return [fn] if fn is not None and any(t.cron for t in fn.triggers) else []
        candidates = list(self.exact.get(event.name, ()))
        candidates += [
            (fn, ex) for prefix, fn, ex in self.wildcards if event.name.startswith(prefix)
        ]
        out: dict[str, Function] = {}
        variables: dict[str, object] | None = None
        for fn, expression in candidates:
            if fn.id in out:
                continue
            if expression:
                if variables is None:
                    variables = {"event": event.to_sdk()}
                if not compile_expression(expression).matches(variables):
                    continue
            out[fn.id] = fn
        return sorted(out.values(), key=lambda f: f.id)
