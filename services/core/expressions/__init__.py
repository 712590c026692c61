"""CEL expressions (cel-python), shared by trigger matching and, later, waits and cancels.

An expression sees ``event`` (the event being matched) and, for waits, ``async`` (the incoming
event) as JSON values. Compiling is cached; evaluation errors count as "no match".

Example::

    expr = compile_expression("event.data.amount > 100")
    expr.matches({"event": {"name": "order/created", "data": {"amount": 120}}})  # True
"""

from services.core.expressions.cel import Expression, ExpressionError, compile_expression

__all__ = ["Expression", "ExpressionError", "compile_expression"]
