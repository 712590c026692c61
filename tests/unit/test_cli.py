from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from headrace.cli import main


@pytest.fixture(autouse=True)
def keep_root_logging() -> Iterator[None]:
    """The CLI configures logging for the process; put the test runner's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_bad_setting_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEADRACE_PORT", "eighty")
    assert main(["run", "api"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "headrace: HEADRACE_PORT='eighty' is not a valid int"


def test_an_unreachable_database_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEADRACE_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nowhere")
    assert main(["run", "matcher"]) == 1
    err = capsys.readouterr().err
    assert (
        "headrace: cannot connect to Postgres at postgresql://postgres@127.0.0.1:1/nowhere" in err
    )
    assert "refused" in err


def test_unknown_service_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["run", "dashboard"])
    assert exc.value.code == 2
    assert "invalid choice: 'dashboard'" in capsys.readouterr().err
