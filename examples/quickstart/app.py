"""The classic order function, on FastAPI.

Run it from the repository root (with the dev server running)::

    uvicorn examples.quickstart.app:app --port 8000

Functions are served at ``/api/headrace``; the app reaches Headrace through
``HEADRACE_BASE_URL`` (default ``http://127.0.0.1:8288``). Then send an event::

    curl -X POST 127.0.0.1:8288/e/dev \
      -d '{"name": "order/created", "data": {"order_id": "o-1", "amount": 4200, "sleep": "2s"}}'
"""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import FastAPI

import headrace
import headrace.fastapi

client = headrace.Client(app_id="shop")


def charge_card(order_id: str, amount: int) -> dict[str, Any]:
    # A real app calls its payment provider here, passing an idempotency key so a repeated
    # attempt never charges twice.
    charge = hashlib.sha1(f"charge:{order_id}".encode()).hexdigest()[:12]
    return {"charge_id": f"ch_{charge}", "amount": amount}


async def create_fulfilment(order_id: str) -> dict[str, str]:
    return {"fulfilment_id": f"ful_{order_id}", "status": "queued"}


def send_confirmation(order_id: str, charge_id: str) -> dict[str, str]:
    return {"sent_to": f"customer-of-{order_id}", "about": charge_id}


@client.create_function(
    fn_id="process-order",
    trigger=headrace.TriggerEvent(event="order/created"),
    retries=3,
)
async def process_order(ctx: headrace.Context, step: headrace.Step) -> dict[str, Any]:
    order_id = str(ctx.event.data["order_id"])
    amount = int(ctx.event.data.get("amount", 0))

    charge = await step.run("charge-card", charge_card, order_id, amount)
    fulfilment = await step.run("create-fulfilment", create_fulfilment, order_id)
    # Wait before confirming; the event says how long (e.g. "2s", "1h"; default a minute).
    await step.sleep("wait-before-confirming", str(ctx.event.data.get("sleep", "1m")))
    confirmation = await step.run(
        "send-confirmation", send_confirmation, order_id, charge["charge_id"]
    )
    return {
        "order_id": order_id,
        "charge": charge,
        "fulfilment": fulfilment,
        "confirmation": confirmation,
    }


app = FastAPI(title="Headrace quickstart")
headrace.fastapi.serve(app, client, [process_order], serve_path="/api/headrace")
