"""An app that journals every step execution to ``$CRASH_JOURNAL`` (one line per execution), so
a test can count how often each step really ran. Step "slow" takes a while, which gives the
test a window to kill the executor while the app call is in flight."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import headrace
import headrace.asgi

JOURNAL = Path(os.environ.get("CRASH_JOURNAL", "crash-journal.txt"))
client = headrace.Client(app_id="crash")


def journal(line: str) -> None:
    with JOURNAL.open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")


@client.create_function(fn_id="three-steps", trigger=headrace.TriggerEvent(event="crash/start"))
async def three_steps(ctx: headrace.Context, step: headrace.Step) -> dict[str, int]:
    async def first() -> int:
        journal(f"{ctx.run_id} first")
        return 1

    async def slow() -> int:
        journal(f"{ctx.run_id} slow-start")
        await asyncio.sleep(float(ctx.event.data.get("slow_seconds", 3)))
        journal(f"{ctx.run_id} slow-end")
        return 2

    async def last() -> int:
        journal(f"{ctx.run_id} last")
        return 3

    a = await step.run("first", first)
    b = await step.run("slow", slow)
    c = await step.run("last", last)
    return {"sum": a + b + c}


app = headrace.asgi.serve(client, [three_steps], serve_path="/api/headrace")
