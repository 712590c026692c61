"""The engine is sans-IO: importing every module of it pulls in no I/O library."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import services.core.engine as engine

FORBIDDEN = ("psycopg", "psycopg_pool", "aiokafka", "httpx", "httpcore", "starlette")
ROOT = Path(__file__).resolve().parents[3]


def test_engine_imports_no_io_library() -> None:
    modules = [f"services.core.engine.{m.name}" for m in pkgutil.iter_modules(engine.__path__)]
    assert "services.core.engine.machine" in modules
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = json.loads(out.stdout)
    bad = [m for m in loaded if m.split(".")[0] in FORBIDDEN]
    assert bad == []
    assert all(m in loaded for m in modules)


def test_public_names_exist() -> None:
    for name in engine.__all__:
        assert hasattr(engine, name), name
