"""Apps and functions (table family: apps, functions)."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from services.core.model import App, Function, Trigger
from services.core.store.db import FUNCTIONS_CHANNEL, Database


class AppStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def sync(self, app: App) -> bool:
        """Store an app and all its functions in one transaction; functions the app no longer
        declares are archived. Returns True when anything changed."""
        async with self.db.tx() as conn:
            cur = await conn.execute(
                "SELECT id, name, url, triggers, retries, config FROM functions"
                " WHERE app_id = %s AND NOT archived",
                (app.id,),
            )
            before = {r["id"]: r for r in await cur.fetchall()}
            await conn.execute(
                "INSERT INTO apps (id, url, sdk, framework, error, synced_at)"
                " VALUES (%s, %s, %s, %s, NULL, now())"
                " ON CONFLICT (id) DO UPDATE SET url = excluded.url, sdk = excluded.sdk,"
                " framework = excluded.framework, error = NULL, synced_at = now()",
                (app.id, app.url, app.sdk, app.framework),
            )
            modified = False
            for fn in app.functions:
                triggers = [_trigger_json(t) for t in fn.triggers]
                old = before.pop(fn.id, None)
                if old is None or (
                    old["url"],
                    old["name"],
                    old["triggers"],
                    old["retries"],
                    old["config"],
                ) != (fn.url, fn.name, triggers, fn.retries, fn.config):
                    modified = True
                await conn.execute(
                    "INSERT INTO functions (id, app_id, name, url, triggers, retries, config)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (id) DO UPDATE SET app_id = excluded.app_id,"
                    " name = excluded.name, url = excluded.url, triggers = excluded.triggers,"
                    " retries = excluded.retries, config = excluded.config, archived = false,"
                    " updated_at = now()",
                    (fn.id, app.id, fn.name, fn.url, Jsonb(triggers), fn.retries, Jsonb(fn.config)),
                )
            if before:
                modified = True
                await conn.execute(
                    "UPDATE functions SET archived = true, updated_at = now() WHERE id = ANY(%s)",
                    (list(before),),
                )
            await conn.execute("SELECT pg_notify(%s, %s)", (FUNCTIONS_CHANNEL, app.id))
        return modified

    async def record_error(self, app_id: str, url: str, error: str) -> None:
        """Remember why an app's last sync failed, so the API can show it."""
        async with self.db.tx() as conn:
            await conn.execute(
                "INSERT INTO apps (id, url, error) VALUES (%s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET error = excluded.error",
                (app_id, url, error),
            )

    async def list_apps(self) -> list[dict[str, Any]]:
        async with self.db.conn() as conn:
            cur = await conn.execute(
                "SELECT a.id, a.url, a.sdk, a.framework, a.error, a.synced_at,"
                " coalesce(json_agg(json_build_object('id', f.id, 'name', f.name,"
                "   'triggers', f.triggers, 'retries', f.retries) ORDER BY f.id)"
                "   FILTER (WHERE f.id IS NOT NULL), '[]') AS functions"
                " FROM apps a LEFT JOIN functions f ON f.app_id = a.id AND NOT f.archived"
                " GROUP BY a.id ORDER BY a.id"
            )
            return list(await cur.fetchall())

    async def functions(self) -> list[Function]:
        """Every active function (the matcher and scheduler cache these)."""
        async with self.db.conn() as conn:
            cur = await conn.execute(
                "SELECT id, app_id, name, url, triggers, retries, config FROM functions"
                " WHERE NOT archived ORDER BY id"
            )
            return [function_from_row(r) for r in await cur.fetchall()]

    async def function(self, function_id: str) -> Function | None:
        async with self.db.conn() as conn:
            cur = await conn.execute(
                "SELECT id, app_id, name, url, triggers, retries, config FROM functions"
                " WHERE id = %s",
                (function_id,),
            )
            row = await cur.fetchone()
            return function_from_row(row) if row else None


def _trigger_json(t: Trigger) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if t.event is not None:
        out["event"] = t.event
        if t.expression:
            out["expression"] = t.expression
    if t.cron is not None:
        out["cron"] = t.cron
        if t.jitter:
            out["jitter"] = t.jitter
    return out


def function_from_row(row: dict[str, Any]) -> Function:
    return Function(
        id=row["id"],
        app_id=row["app_id"],
        name=row["name"],
        url=row["url"],
        triggers=tuple(
            Trigger(
                event=t.get("event"),
                expression=t.get("expression"),
                cron=t.get("cron"),
                jitter=t.get("jitter"),
            )
            for t in row["triggers"]
        ),
        retries=row["retries"],
        config=row["config"],
    )
