"""Postgres access (psycopg 3 pool), one module per table family, numbered SQL migrations."""

from services.core.store.apps import AppStore
from services.core.store.db import FUNCTIONS_CHANNEL, WAKE_CHANNEL, Conn, Database
from services.core.store.dead_letters import DeadLetterStore
from services.core.store.events import EventStore
from services.core.store.runs import (
    Claim,
    NewRun,
    RunStore,
    RunWrite,
    StepWrite,
    lease_owner_prefix,
)

__all__ = [
    "FUNCTIONS_CHANNEL",
    "WAKE_CHANNEL",
    "AppStore",
    "Claim",
    "Conn",
    "Database",
    "DeadLetterStore",
    "EventStore",
    "NewRun",
    "RunStore",
    "RunWrite",
    "StepWrite",
    "lease_owner_prefix",
]
