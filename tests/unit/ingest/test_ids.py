from __future__ import annotations

import base64
import json

from ulid import ULID

from services.ingest.ids import seeded_ids
from tests.unit.ingest.test_ingest import make

SEED = "1700000000000," + base64.b64encode(bytes(range(10))).decode()


def test_a_seed_gives_the_same_ids_every_time() -> None:
    first = seeded_ids(SEED)
    again = seeded_ids(SEED)
    ids = [first() for _ in range(3)]
    assert ids == [again() for _ in range(3)]
    assert len(set(ids)) == 3
    assert all(ULID.from_str(i).milliseconds == 1700000000000 for i in ids)
    assert sorted(ids) == ids  # consecutive entropy keeps them ordered


def test_entropy_wraps_instead_of_overflowing() -> None:
    top = "5," + base64.b64encode(b"\xff" * 10).decode()
    gen = seeded_ids(top)
    assert ULID.from_str(gen()).bytes[6:] == b"\xff" * 10
    assert ULID.from_str(gen()).bytes[6:] == b"\x00" * 10


def test_malformed_seeds_fall_back_to_fresh_ids() -> None:
    for bad in [
        "",
        "abc",
        "123",
        "1,not-base64!",
        "1," + base64.b64encode(b"short").decode(),
        "-5," + base64.b64encode(bytes(10)).decode(),
    ]:
        gen = seeded_ids(bad)
        assert gen() != gen()


async def test_a_retried_request_gets_the_same_ids() -> None:
    client, _, _ = make()
    body = json.dumps([{"name": "a/b"}, {"name": "a/c"}]).encode()
    async with client:
        first = await client.post("/e/k", content=body, headers={"x-inngest-event-id-seed": SEED})
        again = await client.post("/e/k", content=body, headers={"x-inngest-event-id-seed": SEED})
        other = await client.post("/e/k", content=body)
    assert first.status_code == again.status_code == 200
    assert first.json()["ids"] == again.json()["ids"]
    assert set(other.json()["ids"]).isdisjoint(first.json()["ids"])
