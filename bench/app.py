"""The benchmark app: one function, ``ten-steps``, ten no-op ``step.run`` steps.

Served by ``bench/steps.py`` under uvicorn::

    uvicorn bench.app:app --port 8000

Functions are at ``/api/headrace``; the app reaches Headrace through ``HEADRACE_BASE_URL``.
"""

from __future__ import annotations

from typing import Any

import headrace
import headrace.asgi

EVENT = "bench/run"
STEPS = 10
SERVE_PATH = "/api/headrace"

client = headrace.Client(app_id="bench")


def _noop(i: int) -> dict[str, int]:
    return {"i": i}


@client.create_function(fn_id="ten-steps", trigger=headrace.TriggerEvent(event=EVENT))
async def ten_steps(ctx: headrace.Context, step: headrace.Step) -> dict[str, Any]:
    total = 0
    for i in range(STEPS):
        out = await step.run(f"step-{i}", _noop, i)
        total += out["i"]
    return {"steps": STEPS, "sum": total}


app = headrace.asgi.serve(client, [ten_steps], serve_path=SERVE_PATH)
