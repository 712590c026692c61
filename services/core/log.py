"""Logging with context: run, step and function ids are stamped on every record."""

from __future__ import annotations

import contextvars
import logging
import sys

run_id: contextvars.ContextVar[str] = contextvars.ContextVar("run_id", default="-")
step_id: contextvars.ContextVar[str] = contextvars.ContextVar("step_id", default="-")
function_id: contextvars.ContextVar[str] = contextvars.ContextVar("function_id", default="-")


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = run_id.get()
        record.step_id = step_id.get()
        record.function_id = function_id.get()
        return True


def setup(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(
        logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [fn=%(function_id)s run=%(run_id)s"
            " step=%(step_id)s] %(message)s"
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka", "httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
