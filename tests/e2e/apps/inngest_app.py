"""An app built with the official ``inngest`` Python SDK from PyPI, unchanged.

It reaches Headrace the way it would reach Inngest's dev server: ``INNGEST_DEV=<headrace url>``.
Serve it with ``uvicorn tests.e2e.apps.inngest_app:app``.
"""

from __future__ import annotations

import datetime
import os

import inngest
import inngest.fast_api
from fastapi import FastAPI

client = inngest.Inngest(
    app_id="official-py",
    is_production=False,
    api_base_url=os.environ.get("INNGEST_DEV", "http://127.0.0.1:8288"),
    event_api_base_url=os.environ.get("INNGEST_EVENT_API", os.environ.get("INNGEST_DEV")),
)


@client.create_function(
    fn_id="two-steps-sleep",
    trigger=inngest.TriggerEvent(event="official/start"),
    retries=2,
)
async def two_steps_sleep(ctx: inngest.Context) -> dict[str, object]:
    first = await ctx.step.run("first", lambda: {"a": 1})

    async def second() -> str:
        return f"hello {ctx.event.data.get('who', 'world')}"

    greeting = await ctx.step.run("second", second)
    await ctx.step.sleep("nap", datetime.timedelta(seconds=1))
    return {"r1": first, "r2": greeting, "attempt": ctx.attempt}


app = FastAPI()
inngest.fast_api.serve(app, client, [two_steps_sleep], serve_path="/api/inngest")
