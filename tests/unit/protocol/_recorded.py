from __future__ import annotations

import json
import pathlib
from typing import Any

# Exchanges recorded between a scripted executor and the official SDKs (Python 0.5.19,
# TypeScript 4.24.0): each entry has a label, the request, the response and the calls the SDK
# made to the server while answering.
TRANSCRIPTS = pathlib.Path(__file__).resolve().parent / "transcripts"

# The cloud-mode recordings used this key (its bearer hash is in the recordings).
RECORDED_SIGNING_KEY = "signkey-test-" + "12345678" * 8


def load_transcript(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((TRANSCRIPTS / f"{name}.json").read_text())
    return data


def entry(entries: list[dict[str, Any]], label: str) -> dict[str, Any]:
    for e in entries:
        if e["label"] == label:
            return e
    raise KeyError(label)
