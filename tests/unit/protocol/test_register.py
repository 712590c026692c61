from __future__ import annotations

import copy
from typing import Any

import pytest

from headrace.protocol import (
    DEFAULT_RETRIES,
    ProtocolError,
    TriggerConfig,
    parse_register,
    strip_url_params,
)

from ._recorded import entry, load_transcript


def _register_body(transcript: str, label: str) -> dict[str, Any]:
    e = entry(load_transcript(transcript), label)
    [call] = [c for c in e["sdk_calls_to_server"] if c["path"].startswith("/fn/register")]
    body: dict[str, Any] = call["body"]
    return body


def test_python_dialect() -> None:
    body = _register_body("python", "dev: PUT sync (out-of-band) with deployId")
    reg = parse_register(body)
    assert reg.app_name == "demo-app"
    assert reg.url == "http://127.0.0.1:8911/api/inngest"
    assert reg.sdk == "py:v0.5.19"
    assert reg.framework == "fast_api"
    assert reg.app_version == "1.2.3"
    assert reg.deploy_type == "ping"
    fns = {f.id: f for f in reg.functions}
    two = fns["demo-app-two-steps-sleep"]
    assert two.name == "two-steps-sleep"
    assert two.triggers == (TriggerConfig(event="demo/start"),)
    assert two.retries == DEFAULT_RETRIES
    assert two.url == (
        "http://127.0.0.1:8911/api/inngest?fnId=demo-app-two-steps-sleep&stepId=step"
    )
    assert fns["demo-app-errors"].retries == 2
    configured = fns["demo-app-configured"]
    assert configured.retries == 5
    assert configured.concurrency == ({"key": "event.data.user", "limit": 2, "scope": "fn"},)
    assert configured.config["debounce"] == {"key": "event.data.user", "period": "30s"}
    assert configured.config["idempotency"] == "event.data.id"


def test_ts_dialect_strips_deploy_id_everywhere() -> None:
    body = _register_body("typescript", "ts dev: PUT sync (out-of-band) with deployId")
    reg = parse_register(body)
    assert reg.app_name == "demo-ts"
    assert reg.deploy_id == "dep-123"
    assert reg.url == "http://127.0.0.1:8921/api/inngest"
    fns = {f.id: f for f in reg.functions}
    assert fns["demo-ts-two-steps-sleep"].url == (
        "http://127.0.0.1:8921/api/inngest?fnId=demo-ts-two-steps-sleep&stepId=step"
    )
    configured = fns["demo-ts-configured"]
    assert configured.triggers == (
        TriggerConfig(event="demo/cfg", expression="event.data.ok == true"),
        TriggerConfig(cron="*/5 * * * *"),
    )
    # TS sends concurrency as a bare object; the raw form stays in config.
    assert configured.concurrency == ({"limit": 2, "key": "event.data.user"},)
    assert configured.config["concurrency"] == {"limit": 2, "key": "event.data.user"}
    failure = fns["demo-ts-configured-failure"]
    assert failure.retries == 1
    assert failure.name == "Configured Fn (failure)"


def test_every_recorded_register_body_parses() -> None:
    count = 0
    for name in ("python", "typescript"):
        for e in load_transcript(name):
            for c in e["sdk_calls_to_server"]:
                if c["path"].startswith("/fn/register"):
                    assert parse_register(c["body"]).functions
                    count += 1
    assert count >= 3


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://h/api?deployId=d&fnId=a&stepId=step", "http://h/api?fnId=a&stepId=step"),
        ("http://h/api?fnId=a%20b&probe=trust", "http://h/api?fnId=a%20b"),
        ("http://127.0.0.1:1/api?deployId=x", "http://127.0.0.1:1/api"),
        ("http://h/api", "http://h/api"),
        ("http://h/api?a=1&&b=2", "http://h/api?a=1&&b=2"),
    ],
)
def test_strip_url_params(url: str, expected: str) -> None:
    assert strip_url_params(url) == expected


def test_concurrency_as_number_and_list_and_retries_cap() -> None:
    body = copy.deepcopy(_register_body("python", "dev: PUT sync (out-of-band) with deployId"))
    fn = body["functions"][0]
    fn["concurrency"] = 3
    fn["steps"]["step"]["retries"] = {"attempts": 99}
    reg = parse_register(body)
    assert reg.functions[0].concurrency == ({"limit": 3},)
    assert reg.functions[0].retries == 20


def _minimal() -> dict[str, Any]:
    return {
        "appName": "a",
        "url": "http://h/api",
        "functions": [
            {
                "id": "a-f",
                "triggers": [{"event": "e"}],
                "steps": {"step": {"runtime": {"type": "http", "url": "http://h/api?fnId=a-f"}}},
            }
        ],
    }


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b.clear(), "url"),
        (lambda b: b.pop("url"), "url"),
        (lambda b: b.__setitem__("url", 5), "url"),
        (lambda b: b.pop("appName"), "appName"),
        (lambda b: b.__setitem__("functions", {}), "functions must be a list"),
        (lambda b: b["functions"][0].pop("id"), "has no id"),
        (lambda b: b["functions"][0].__setitem__("triggers", [{}]), "neither an event nor"),
        (lambda b: b["functions"][0].__setitem__("triggers", []), "triggers"),
        (
            lambda b: b["functions"][0].__setitem__("triggers", [{"event": "e", "cron": "* *"}]),
            "both",
        ),
        (lambda b: b["functions"][0].pop("steps"), "steps.step"),
        (lambda b: b["functions"].append(b["functions"][0]), "twice"),
        (lambda b: b["functions"][0].__setitem__("concurrency", "x"), "concurrency"),
    ],
)
def test_rejects_with_specific_message(mutate: Any, message: str) -> None:
    body = _minimal()
    mutate(body)
    with pytest.raises(ProtocolError, match=message):
        parse_register(body)


def test_rejects_non_object() -> None:
    with pytest.raises(ProtocolError, match="object"):
        parse_register([1])


def test_minimal_defaults() -> None:
    reg = parse_register(_minimal())
    assert reg.functions[0].name == "a-f"
    assert reg.functions[0].retries == DEFAULT_RETRIES
    assert reg.sdk is None
