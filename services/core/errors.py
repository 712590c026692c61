"""Headrace's own errors (the server side).

    HeadraceError                 base; carries ``retriable`` and ``retry_after``
    ├── ConfigError               a setting is missing or malformed
    ├── BadInput                  a request or record is invalid; says what was wrong
    │   ├── EventRejected         an event failed validation (status 400/413/401)
    │   └── SyncRejected          an app's registration is invalid
    ├── StoreError                Postgres failed (mapped from psycopg at the store boundary)
    └── BusError                  Kafka failed (mapped from aiokafka at the bus boundary)

The app's own failures (a 500 from the app, a step that raised) are not exceptions here: they are
replies the engine turns into retries or a failed run.
"""

from __future__ import annotations


class HeadraceError(Exception):
    retriable: bool = False
    retry_after: float | None = None

    def __init__(self, message: str, *, retriable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retriable is not None:
            self.retriable = retriable


class ConfigError(HeadraceError):
    pass


class BadInput(HeadraceError):
    status: int = 400


class EventRejected(BadInput):
    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class SyncRejected(BadInput):
    pass


class StoreError(HeadraceError):
    retriable = True


class BusError(HeadraceError):
    retriable = True
