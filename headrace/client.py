"""The Client: an app's identity, its keys, function declarations and event sending."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from . import _http
from ._settings import SDK_HEADER, ClientSettings
from .event import Event
from .function import Function, Trigger, make_function
from .protocol import headers as h


class Client:
    """An app talking to a Headrace server.

    Settings not passed here come from the environment, read once: ``HEADRACE_BASE_URL``,
    ``HEADRACE_EVENT_KEY``, ``HEADRACE_SIGNING_KEY``, ``HEADRACE_SIGNING_KEY_FALLBACK``,
    ``HEADRACE_DEV``, ``HEADRACE_ENV`` (each falls back to its ``INNGEST_*`` twin). Without a
    signing key the client is in dev mode: requests are not verified and the event key
    defaults to ``"dev"``.

    >>> from headrace import Client, TriggerEvent
    >>> client = Client("shop")
    >>> @client.create_function(fn_id="welcome", trigger=TriggerEvent(event="user/created"))
    ... async def welcome(ctx, step):
    ...     return await step.run("greet", lambda: f"hello {ctx.event.data['name']}")
    """

    def __init__(
        self,
        app_id: str,
        *,
        base_url: str | None = None,
        event_key: str | None = None,
        signing_key: str | None = None,
        signing_key_fallback: str | None = None,
        is_dev: bool | None = None,
        env: str | None = None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not app_id or not isinstance(app_id, str):
            raise ValueError("app_id must be a non-empty string")
        self.settings = ClientSettings.resolve(
            app_id,
            base_url=base_url,
            event_key=event_key,
            signing_key=signing_key,
            signing_key_fallback=signing_key_fallback,
            is_dev=is_dev,
            env=env,
        )
        # ``transport`` replaces the network (tests, custom proxies); httpx.MockTransport
        # serves both the async and the sync client.
        self._transport = transport

    @property
    def app_id(self) -> str:
        return self.settings.app_id

    @property
    def is_dev(self) -> bool:
        return self.settings.is_dev

    def async_transport(self) -> httpx.AsyncBaseTransport | None:
        t = self._transport
        return t if isinstance(t, httpx.AsyncBaseTransport) else None

    def sync_transport(self) -> httpx.BaseTransport | None:
        t = self._transport
        return t if isinstance(t, httpx.BaseTransport) else None

    def create_function(
        self,
        *,
        fn_id: str,
        trigger: Trigger | Sequence[Trigger],
        retries: int = 4,
        name: str | None = None,
        **options: Any,
    ) -> Callable[[Callable[..., Any]], Function]:
        """Declare a function. ``options`` pass through to the server: ``concurrency``,
        ``throttle``, ``rate_limit``, ``debounce``, ``batch_events``, ``cancel``,
        ``idempotency``, ``priority``, ``timeouts``, ``singleton`` (dicts as in the Inngest
        config; timedeltas become duration strings)."""

        def decorator(handler: Callable[..., Any]) -> Function:
            return make_function(
                app_id=self.app_id,
                fn_id=fn_id,
                trigger=trigger,
                retries=retries,
                name=name,
                options=options,
                handler=handler,
            )

        return decorator

    def _event_url(self) -> str:
        return f"{self.settings.base_url}/e/{self.settings.event_key}"

    def _event_headers(self) -> dict[str, str]:
        # One seed per send, kept across its retries: the server derives the event ids from it,
        # so a retried request after a lost reply does not store its events twice.
        seed = base64.b64encode(secrets.token_bytes(10)).decode()
        out = {h.SDK: SDK_HEADER, h.EVENT_ID_SEED: f"{int(time.time() * 1000)},{seed}"}
        if self.settings.env:
            out[h.ENV] = self.settings.env
        return out

    async def send(
        self, events: Event | dict[str, Any] | Sequence[Event | dict[str, Any]]
    ) -> list[str]:
        """Send one event or many; returns the ids the server assigned.

        >>> ids = await client.send(Event(name="order/created", data={"id": 7}))  # doctest: +SKIP
        """
        body = _http.event_bodies(events)
        return await _http.send_async(
            self._event_url(), self._event_headers(), body, self.async_transport()
        )

    def send_sync(
        self, events: Event | dict[str, Any] | Sequence[Event | dict[str, Any]]
    ) -> list[str]:
        """Blocking twin of ``send``."""
        body = _http.event_bodies(events)
        return _http.send_sync(
            self._event_url(), self._event_headers(), body, self.sync_transport()
        )
