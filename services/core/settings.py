"""Settings, read once from ``HEADRACE_…`` environment variables and frozen.

Every setting has a default that suits ``headrace dev``; production sets the variables (the Helm
chart sets exactly these). This is the only module that reads the environment.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.core.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Settings:
    """Headrace configuration. ``Settings.from_env()`` builds it from the environment.

    Example::

        settings = Settings.from_env({"HEADRACE_DATABASE_URL": "postgresql://…"})
    """

    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_idempotence: bool = False
    events_topic: str = "headrace.events"
    jobs_topic: str = "headrace.jobs"
    topic_partitions: int = 4
    consumer_group_prefix: str = "headrace"
    consumer_fetch_wait_ms: int = 500
    host: str = "127.0.0.1"
    port: int = 8288
    signing_key: str | None = None
    signing_key_fallback: str | None = None
    event_keys: tuple[str, ...] = ()
    server_kind: str = "dev"
    retry_schedule: str = "dev"
    app_timeout: float = 60.0
    lease_seconds: float = 90.0
    redeliver_seconds: float = 30.0
    executor_concurrency: int = 64
    max_event_bytes: int = 3 * 1024 * 1024
    max_events_per_request: int = 5000
    max_request_bytes: int = 64 * 1024 * 1024
    db_pool_size: int = 10
    log_level: str = "INFO"
    otel_endpoint: str | None = None
    data_dir: str = ".headrace"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every ``HEADRACE_<FIELD>`` variable (upper case field name); overrides win."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get("HEADRACE_" + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f.name, str(f.type), raw)
        values.update(overrides)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.server_kind not in ("dev", "cloud"):
            raise ConfigError(
                f"HEADRACE_SERVER_KIND must be 'dev' or 'cloud', not {self.server_kind!r}"
            )
        if self.retry_schedule not in ("dev", "production"):
            raise ConfigError(
                "HEADRACE_RETRY_SCHEDULE must be 'dev' or 'production',"
                f" not {self.retry_schedule!r}"
            )
        if self.lease_seconds <= self.app_timeout:
            raise ConfigError(
                f"HEADRACE_LEASE_SECONDS ({self.lease_seconds:g}) must be longer than"
                f" HEADRACE_APP_TIMEOUT ({self.app_timeout:g}): a lease must outlive the app call"
            )
        if self.topic_partitions < 1:
            raise ConfigError("HEADRACE_TOPIC_PARTITIONS must be at least 1")

    @property
    def signing_keys(self) -> tuple[str, ...]:
        return tuple(k for k in (self.signing_key, self.signing_key_fallback) if k)


def _convert(name: str, type_name: str, raw: str) -> Any:
    var = "HEADRACE_" + name.upper()
    try:
        if type_name == "bool":
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
        if type_name.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{var}={raw!r} is not a valid {type_name}") from None
    return raw
