from __future__ import annotations

import struct

import fastavro.schema
import pytest

from services.core.codec import CodecError, decode_event, decode_job, encode_event, encode_job
from services.core.codec.avro import load_codec
from services.core.model import Event, Job


def _crc64_avro(data: bytes) -> int:
    """The Avro spec's reference Rabin fingerprint, written out independently of fastavro."""
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def test_event_round_trip_single_object_encoding() -> None:
    ev = Event(
        id="01JEVT",
        name="order/created",
        data={"n": 1, "s": "é"},
        ts=1700000000000,
        user={"id": "u"},
        v="2",
        idempotency_key="sender-1",
    )
    raw = encode_event(ev, received_at=5)
    assert raw[:2] == b"\xc3\x01"
    canonical = fastavro.schema.to_parsing_canonical_form(load_codec("event").parsed)
    # Single-object encoding: the fingerprint is written little-endian.
    assert raw[2:10] == struct.pack("<Q", _crc64_avro(canonical.encode()))
    assert decode_event(raw) == ev


def test_job_round_trip() -> None:
    assert decode_job(encode_job(Job("R1", 7))) == Job("R1", 7)


def test_a_job_is_not_an_event() -> None:
    with pytest.raises(CodecError, match="unknown schema fingerprint"):
        decode_event(encode_job(Job("R1", 1)))


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "missing the C3 01 marker"),
        (b'{"name": "x"}', "missing the C3 01 marker"),
    ],
)
def test_garbage_is_rejected_with_a_reason(payload: bytes, message: str) -> None:
    with pytest.raises(CodecError, match=message):
        decode_event(payload)


def test_truncated_body_is_rejected() -> None:
    raw = encode_event(Event(id="E", name="a/b", data={}, ts=1), 0)
    with pytest.raises(CodecError, match="corrupt Avro body"):
        decode_event(raw[:12])


def test_outside_producer_payload_must_be_json_objects() -> None:
    codec = load_codec("event")
    raw = codec.encode(
        {
            "id": "E",
            "name": "a/b",
            "data": "[1, 2]",
            "user": "{}",
            "ts": 1,
            "v": None,
            "idempotency_key": None,
            "received_at": 0,
        }
    )
    with pytest.raises(CodecError, match="data must be a JSON object"):
        decode_event(raw)
    raw = codec.encode(
        {
            "id": "E",
            "name": "a/b",
            "data": "{oops",
            "user": "{}",
            "ts": 1,
            "v": None,
            "idempotency_key": None,
            "received_at": 0,
        }
    )
    with pytest.raises(CodecError, match="not JSON"):
        decode_event(raw)
