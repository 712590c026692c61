from __future__ import annotations

import functools
import io
import json
import struct
from pathlib import Path
from typing import Any

import fastavro
import fastavro.schema

from services.core.errors import BadInput
from services.core.model import Event, Job

MAGIC = b"\xc3\x01"
SCHEMA_DIR = Path(__file__).resolve().parents[3] / "schemas"


class CodecError(BadInput):
    """A record on Kafka that cannot be decoded."""


class Codec:
    """Encodes and decodes one named schema; knows every fingerprint it can read."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.parsed = fastavro.parse_schema(schema)
        canonical = fastavro.schema.to_parsing_canonical_form(self.parsed)
        self.fingerprint = bytes.fromhex(fastavro.schema.fingerprint(canonical, "CRC-64-AVRO"))
        self.header = MAGIC + self.fingerprint

    def encode(self, record: dict[str, Any]) -> bytes:
        buf = io.BytesIO()
        buf.write(self.header)
        fastavro.schemaless_writer(buf, self.parsed, record)
        return buf.getvalue()

    def decode(self, payload: bytes) -> dict[str, Any]:
        if len(payload) < 10 or payload[:2] != MAGIC:
            raise CodecError("not an Avro single-object record (missing the C3 01 marker)")
        if payload[2:10] != self.fingerprint:
            fp = struct.unpack("<Q", payload[2:10])[0]
            raise CodecError(f"unknown schema fingerprint {fp:016x}")
        try:
            record = fastavro.schemaless_reader(io.BytesIO(payload[10:]), self.parsed, None)
        except Exception as exc:  # fastavro raises many types on corrupt bytes
            raise CodecError(f"corrupt Avro body: {exc}") from exc
        if not isinstance(record, dict):
            raise CodecError("Avro body is not a record")
        return record


@functools.cache
def load_codec(name: str) -> Codec:
    """The codec of ``schemas/<name>.avsc``, parsed once per process."""
    with open(SCHEMA_DIR / f"{name}.avsc", encoding="utf-8") as fh:
        return Codec(json.load(fh))


def encode_event(event: Event, received_at: int) -> bytes:
    return load_codec("event").encode(
        {
            "id": event.id,
            "name": event.name,
            "data": json.dumps(event.data, separators=(",", ":")),
            "user": json.dumps(event.user, separators=(",", ":")),
            "ts": event.ts,
            "v": event.v,
            "idempotency_key": event.idempotency_key,
            "received_at": received_at,
        }
    )


def decode_event(payload: bytes) -> Event:
    """Decode and validate an event record (outside producers write these too)."""
    rec = load_codec("event").decode(payload)
    try:
        data = json.loads(rec["data"]) if rec["data"] else {}
        user = json.loads(rec["user"]) if rec["user"] else {}
    except json.JSONDecodeError as exc:
        raise CodecError(f"event {rec.get('id')!r}: data/user is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CodecError(f"event {rec['id']!r}: data must be a JSON object")
    if not isinstance(user, dict):
        raise CodecError(f"event {rec['id']!r}: user must be a JSON object")
    if not rec["name"]:
        raise CodecError(f"event {rec['id']!r}: name is empty")
    return Event(
        id=rec["id"],
        name=rec["name"],
        data=data,
        user=user,
        ts=rec["ts"],
        v=rec["v"],
        idempotency_key=rec["idempotency_key"],
    )


def encode_job(job: Job) -> bytes:
    return load_codec("job").encode({"run_id": job.run_id, "generation": job.generation})


def decode_job(payload: bytes) -> Job:
    rec = load_codec("job").decode(payload)
    return Job(run_id=rec["run_id"], generation=rec["generation"])
