from __future__ import annotations

import pytest

from services.core.engine import TRANSITIONS, IllegalTransition, can_transition, transition
from services.core.model import RunStatus

ENDED = [RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED]


def test_every_status_has_a_row() -> None:
    assert set(TRANSITIONS) == set(RunStatus)


@pytest.mark.parametrize("new", list(RunStatus))
def test_running_may_move_anywhere(new: RunStatus) -> None:
    assert transition(RunStatus.RUNNING, new) is new


@pytest.mark.parametrize("old", ENDED)
@pytest.mark.parametrize("new", list(RunStatus))
def test_nothing_leaves_an_ended_state(old: RunStatus, new: RunStatus) -> None:
    assert not can_transition(old, new)
    with pytest.raises(IllegalTransition, match=f"{old.value} -> {new.value}"):
        transition(old, new)
