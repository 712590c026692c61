from __future__ import annotations

import pytest

from services.core.errors import ConfigError
from services.core.settings import Settings


def test_defaults_suit_the_dev_server() -> None:
    s = Settings.from_env({})
    assert s.port == 8288
    assert s.events_topic == "headrace.events"
    assert s.jobs_topic == "headrace.jobs"
    assert s.event_keys == ()
    assert s.signing_keys == ()


def test_every_field_reads_its_variable() -> None:
    s = Settings.from_env(
        {
            "HEADRACE_PORT": "9000",
            "HEADRACE_EVENT_KEYS": "k1, k2,",
            "HEADRACE_KAFKA_IDEMPOTENCE": "true",
            "HEADRACE_APP_TIMEOUT": "2.5",
            "HEADRACE_SIGNING_KEY": "signkey-prod-abcd",
            "HEADRACE_SIGNING_KEY_FALLBACK": "signkey-prod-ef01",
        }
    )
    assert s.port == 9000
    assert s.event_keys == ("k1", "k2")
    assert s.kafka_idempotence is True
    assert s.app_timeout == 2.5
    assert s.signing_keys == ("signkey-prod-abcd", "signkey-prod-ef01")


def test_overrides_win_over_the_environment() -> None:
    assert Settings.from_env({"HEADRACE_PORT": "9000"}, port=7000).port == 7000


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HEADRACE_PORT": "eighty"}, "HEADRACE_PORT='eighty' is not a valid int"),
        ({"HEADRACE_KAFKA_IDEMPOTENCE": "maybe"}, "HEADRACE_KAFKA_IDEMPOTENCE='maybe'"),
        ({"HEADRACE_SERVER_KIND": "prod"}, "HEADRACE_SERVER_KIND must be 'dev' or 'cloud'"),
        ({"HEADRACE_RETRY_SCHEDULE": "fast"}, "HEADRACE_RETRY_SCHEDULE must be"),
        ({"HEADRACE_APP_TIMEOUT": "120"}, "must be longer than HEADRACE_APP_TIMEOUT"),
        ({"HEADRACE_TOPIC_PARTITIONS": "0"}, "HEADRACE_TOPIC_PARTITIONS must be at least 1"),
    ],
)
def test_bad_values_say_what_is_wrong(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        Settings.from_env(env)
