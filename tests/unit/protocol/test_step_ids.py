from __future__ import annotations

import pytest

from headrace.protocol import step_hash


@pytest.mark.parametrize(
    ("user_id", "index", "expected"),
    [
        ("first", 0, "e0996a37c13d44c3b06074939d43fa3759bd32c1"),
        ("second", 0, "352f7829a2384b001cc12b0c2613c756454a1f6a"),
        ("nap", 0, "c2640f79b4ed481b838ce4ad75330aa3f825d4d9"),
        ("same", 0, "ff3390557335ba88d37755e41514beb03bc499ec"),
        ("same", 1, "c1023fa587daa4753ff5868c7e4bdbd03defda7d"),
        ("p1", 0, "b78f576611ec06f96af3ca654c22172a5d746c40"),
    ],
)
def test_vectors(user_id: str, index: int, expected: str) -> None:
    assert step_hash(user_id, index) == expected


def test_index_suffix_is_colon_n() -> None:
    assert step_hash("same", 2) == step_hash("same:2")


def test_negative_index_rejected() -> None:
    with pytest.raises(ValueError):
        step_hash("x", -1)
