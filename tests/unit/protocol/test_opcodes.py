from __future__ import annotations

import datetime as dt

import pytest

from headrace.protocol import MAX_SLEEP, Op, Opcode, ProtocolError, parse_opcodes, sleep_until

from ._recorded import entry, load_transcript

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_parse_recorded_python_step_run() -> None:
    e = entry(load_transcript("python"), "two-steps-sleep round 1 (no memo)")
    [op] = parse_opcodes(e["response"]["body"])
    assert op.op == Op.STEP_RUN
    assert op.id == "e0996a37c13d44c3b06074939d43fa3759bd32c1"
    assert op.name == "first"
    assert op.display_name == "first"
    assert op.data == {"a": 1}
    assert op.userland == {"id": "first", "index": None}
    assert op.to_json() == e["response"]["body"][0]


def test_parse_every_recorded_206_body() -> None:
    for name in ("python", "typescript"):
        for e in load_transcript(name):
            if e["response"]["status"] == 206:
                ops = parse_opcodes(e["response"]["body"])
                assert ops and all(isinstance(o, Opcode) for o in ops), e["label"]


def test_lenient_extra_fields_kept_in_raw() -> None:
    obj = {
        "op": "StepRun",
        "id": "abc",
        "name": "first",
        "data": 1,
        "mode": "sync",
        "rawArgs": ["first", None],
        "timing": {"a": 1, "b": 2},
    }
    op = Opcode.from_json(obj)
    assert op.data == 1
    assert op.raw["rawArgs"] == ["first", None]
    assert "mode" not in op.to_json()


def test_single_object_is_one_opcode() -> None:
    assert [o.op for o in parse_opcodes({"op": "Sleep", "id": "x", "name": "1s"})] == ["Sleep"]


@pytest.mark.parametrize(
    "payload", [[1], [{"id": "x"}], [{"op": ""}], "StepRun", None, [{"op": "X", "opts": []}]]
)
def test_rejects(payload: object) -> None:
    with pytest.raises(ProtocolError):
        parse_opcodes(payload)


def test_step_error_keeps_error_in_json() -> None:
    e = entry(load_transcript("python"), "errors: step raises (attempt 0 of 3) -> StepError")
    [op] = parse_opcodes(e["response"]["body"])
    assert op.error is not None and op.error["message"] == "step exploded"
    assert op.to_json() == e["response"]["body"][0]


def test_sleep_python_absolute_name() -> None:
    op = Opcode(op=Op.SLEEP, id="x", name="2026-01-01T00:00:02.500Z")
    assert sleep_until(op, NOW) == NOW + dt.timedelta(seconds=2.5)


def test_sleep_ts_duration_name_and_opts_duration() -> None:
    assert sleep_until(Opcode(op=Op.SLEEP, name="2s"), NOW) == NOW + dt.timedelta(seconds=2)
    op = Opcode(op=Op.SLEEP, name="ignored", opts={"duration": "1m"})
    assert sleep_until(op, NOW) == NOW + dt.timedelta(minutes=1)


def test_sleep_capped_at_one_year() -> None:
    assert sleep_until(Opcode(op=Op.SLEEP, name="10w"), NOW) == NOW + dt.timedelta(weeks=10)
    assert sleep_until(Opcode(op=Op.SLEEP, name="3000-01-01T00:00:00Z"), NOW) == NOW + MAX_SLEEP
    assert sleep_until(Opcode(op=Op.SLEEP, name="1000w"), NOW) == NOW + MAX_SLEEP


@pytest.mark.parametrize("name", ["", "soon", "2026-99-99T00:00:00Z"])
def test_sleep_garbage(name: str) -> None:
    with pytest.raises(ProtocolError):
        sleep_until(Opcode(op=Op.SLEEP, name=name), NOW)
