from __future__ import annotations

import functools
import logging
from typing import Any

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError

from services.core.errors import BadInput

log = logging.getLogger(__name__)


class ExpressionError(BadInput):
    """An expression that does not compile; the message says where."""


class Expression:
    def __init__(self, source: str, program: Any) -> None:
        self.source = source
        self._program = program

    def evaluate(self, variables: dict[str, Any]) -> Any:
        activation = {name: json_to_cel(value) for name, value in variables.items()}
        return self._program.evaluate(activation)

    def matches(self, variables: dict[str, Any]) -> bool:
        """True only when the expression evaluates to boolean true; errors are no match."""
        try:
            result = self.evaluate(variables)
        except Exception as exc:  # CEL raises on missing keys and type mismatches
            log.debug("expression %r did not evaluate: %s", self.source, exc)
            return False
        if isinstance(result, CELEvalError):
            return False
        return isinstance(result, celtypes.BoolType) and bool(result)


@functools.lru_cache(maxsize=4096)
def compile_expression(source: str) -> Expression:
    """Compile (cached); raises ExpressionError with the parser's message."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("expression is empty")
    env = celpy.Environment()
    try:
        ast = env.compile(source)
        program = env.program(ast)
    except Exception as exc:
        raise ExpressionError(f"invalid expression {source!r}: {exc}") from exc
    return Expression(source, program)
