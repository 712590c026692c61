"""Client settings, read once from the environment when a Client is built.

``HEADRACE_*`` variables win; the ``INNGEST_*`` names are honoured as fallbacks so an app
configured for an Inngest server works unchanged.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

DEFAULT_BASE_URL = "http://127.0.0.1:8288"
DEV_EVENT_KEY = "dev"
SDK_NAME = "headrace-py"
SDK_VERSION = "0.1.0"
SDK_HEADER = f"{SDK_NAME}:v{SDK_VERSION}"

_FALSY = {"", "0", "false", "no", "off"}


def _get(env: Mapping[str, str], name: str) -> str | None:
    for prefix in ("HEADRACE_", "INNGEST_"):
        value = env.get(prefix + name)
        if value is not None and value != "":
            return value
    return None


@dataclasses.dataclass(frozen=True)
class ClientSettings:
    app_id: str
    base_url: str
    event_key: str
    signing_key: str | None
    signing_key_fallback: str | None
    is_dev: bool
    env: str | None
    serve_origin: str | None

    @property
    def signing_keys(self) -> tuple[str, ...]:
        return tuple(k for k in (self.signing_key, self.signing_key_fallback) if k)

    @classmethod
    def resolve(
        cls,
        app_id: str,
        *,
        base_url: str | None,
        event_key: str | None,
        signing_key: str | None,
        signing_key_fallback: str | None,
        is_dev: bool | None,
        env: str | None,
        environ: Mapping[str, str] | None = None,
    ) -> ClientSettings:
        source = os.environ if environ is None else environ
        dev_var = _get(source, "DEV")
        signing_key = signing_key or _get(source, "SIGNING_KEY")
        fallback = signing_key_fallback or _get(source, "SIGNING_KEY_FALLBACK")
        if is_dev is None:
            is_dev = dev_var is not None and dev_var.strip().lower() not in _FALSY
        dev = is_dev or not signing_key
        url = base_url or _get(source, "BASE_URL")
        if url is None and dev_var is not None and ("://" in dev_var or ":" in dev_var):
            url = dev_var  # INNGEST_DEV=http://host:port means dev mode at that origin
        url = url or DEFAULT_BASE_URL
        if "://" not in url:
            url = ("http://" if dev else "https://") + url
        key = event_key or _get(source, "EVENT_KEY") or (DEV_EVENT_KEY if dev else "")
        return cls(
            app_id=app_id,
            base_url=url.rstrip("/"),
            event_key=key,
            signing_key=signing_key,
            signing_key_fallback=fallback,
            is_dev=dev,
            env=env or _get(source, "ENV"),
            serve_origin=_get(source, "SERVE_ORIGIN"),
        )
