from __future__ import annotations

import datetime as dt

import pytest

import headrace
from headrace.protocol import parse_register

client = headrace.Client("shop", is_dev=True)


def test_config_round_trips_through_the_register_parser() -> None:
    @client.create_function(
        fn_id="charge",
        name="Charge card",
        trigger=[
            headrace.TriggerEvent(event="order/created", expression="event.data.total > 0"),
            headrace.TriggerCron(cron="*/5 * * * *"),
        ],
        retries=7,
        concurrency=2,
        throttle={"limit": 10, "period": dt.timedelta(minutes=1)},
        rate_limit={"limit": 1, "period": "1h", "key": "event.data.user"},
        debounce={"period": dt.timedelta(seconds=30)},
        idempotency="event.data.id",
    )
    async def charge(ctx: headrace.Context, step: headrace.Step) -> None:
        return None

    assert charge.id == "shop-charge"
    cfg = charge.config("http://app:1/api/headrace")
    assert cfg["throttle"] == {"limit": 10, "period": "1m"}
    assert cfg["rateLimit"]["key"] == "event.data.user"
    assert cfg["debounce"] == {"period": "30s"}
    assert cfg["concurrency"] == [{"limit": 2}]
    body = {"appName": "shop", "url": "http://app:1/api/headrace", "functions": [cfg]}
    [fn] = parse_register(body).functions
    assert fn.name == "Charge card" and fn.retries == 7
    assert fn.url == "http://app:1/api/headrace?fnId=shop-charge&stepId=step"
    assert [t.cron for t in fn.triggers] == [None, "*/5 * * * *"]
    assert fn.concurrency == ({"limit": 2},)


def test_function_is_still_callable() -> None:
    @client.create_function(fn_id="f", trigger=headrace.TriggerEvent(event="e"))
    def f(ctx: object, step: object) -> str:
        return "called"

    assert f(None, None) == "called"
    assert not f.is_async


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fn_id": "", "trigger": headrace.TriggerEvent(event="e")},
        {"fn_id": "x", "trigger": []},
        {"fn_id": "x", "trigger": ["e"]},
        {"fn_id": "x", "trigger": headrace.TriggerEvent(event="e"), "retries": 21},
        {"fn_id": "x", "trigger": headrace.TriggerEvent(event="e"), "retries": -1},
        {"fn_id": "x", "trigger": headrace.TriggerEvent(event="e"), "bogus": 1},
    ],
)
def test_bad_declarations(kwargs: dict[str, object]) -> None:
    with pytest.raises(headrace.ConfigError):
        client.create_function(**kwargs)(lambda ctx, step: None)  # type: ignore[arg-type]
