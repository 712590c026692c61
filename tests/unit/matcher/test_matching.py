from __future__ import annotations

from services.core.model import Event, Function, Trigger
from services.matcher.matching import TriggerIndex


def fn(fid: str, *triggers: Trigger) -> Function:
    return Function(id=fid, app_id="app", name=fid, triggers=triggers, url="http://app/api")


def ev(name: str, **data: object) -> Event:
    return Event(id="E1", name=name, data=dict(data), ts=1)


def test_exact_name() -> None:
    index = TriggerIndex([fn("a", Trigger(event="order/created")), fn("b", Trigger(event="x"))])
    assert [f.id for f in index.match(ev("order/created"))] == ["a"]
    assert index.match(ev("order/created2")) == []


def test_wildcard_prefix() -> None:
    index = TriggerIndex([fn("all-orders", Trigger(event="order/*"))])
    assert [f.id for f in index.match(ev("order/created"))] == ["all-orders"]
    assert [f.id for f in index.match(ev("order/paid/late"))] == ["all-orders"]
    assert index.match(ev("orders/created")) == []


def test_expression_filters() -> None:
    index = TriggerIndex(
        [fn("big", Trigger(event="order/created", expression="event.data.amount > 100"))]
    )
    assert [f.id for f in index.match(ev("order/created", amount=120))] == ["big"]
    assert index.match(ev("order/created", amount=50)) == []
    # A missing field is "no match", never an error that stops the matcher.
    assert index.match(ev("order/created")) == []


def test_invalid_expression_disables_only_that_trigger() -> None:
    index = TriggerIndex(
        [
            fn("broken", Trigger(event="a/b", expression="event.data.")),
            fn("fine", Trigger(event="a/b")),
        ]
    )
    assert [f.id for f in index.match(ev("a/b"))] == ["fine"]


def test_a_function_with_two_matching_triggers_runs_once() -> None:
    index = TriggerIndex([fn("f", Trigger(event="a/b"), Trigger(event="a/*"))])
    assert [f.id for f in index.match(ev("a/b"))] == ["f"]


def test_scheduled_timer_goes_to_the_named_cron_function_only() -> None:
    index = TriggerIndex(
        [
            fn("nightly", Trigger(cron="0 0 * * *")),
            fn("other-cron", Trigger(cron="* * * * *")),
            fn("listener", Trigger(event="inngest/*")),
        ]
    )
    timer = ev("inngest/scheduled.timer", function_id="nightly", cron="0 0 * * *")
    assert [f.id for f in index.match(timer)] == ["nightly"]
    assert index.match(ev("inngest/scheduled.timer", function_id="listener")) == []


def test_failure_handlers_match_on_function_id() -> None:
    handler = fn(
        "app-f-failure",
        Trigger(event="inngest/function.failed", expression="event.data.function_id == 'app-f'"),
    )
    index = TriggerIndex([handler])
    assert index.match(ev("inngest/function.failed", function_id="app-f")) == [handler]
    assert index.match(ev("inngest/function.failed", function_id="app-g")) == []
