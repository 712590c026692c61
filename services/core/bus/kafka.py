from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from services.core.errors import BusError

log = logging.getLogger(__name__)

# Kafka's default record limit (1 MB) is below the 3 MiB events ingest accepts; topics Headrace
# creates take records as large as its producer sends.
MAX_RECORD_BYTES = 16 * 1024 * 1024


async def ensure_topics(bootstrap: str, topics: Sequence[str], partitions: int) -> None:
    """Create the topics if they are missing (idempotent; safe to race with other replicas)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [
                        NewTopic(
                            t,
                            num_partitions=partitions,
                            replication_factor=1,
                            topic_configs={"max.message.bytes": str(MAX_RECORD_BYTES)},
                        )
                        for t in missing
                    ]
                )
            except TopicAlreadyExistsError:
                pass
    except KafkaError as exc:
        raise BusError(f"cannot create topics {list(topics)} on {bootstrap}: {exc}") from exc
    finally:
        await admin.close()


class Bus:
    """The producer side: every send waits for the broker's acknowledgement (acks=all)."""

    def __init__(self, bootstrap: str, *, idempotence: bool = False, linger_ms: int = 2) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            enable_idempotence=idempotence,
            linger_ms=linger_ms,
            max_request_size=MAX_RECORD_BYTES,
            request_timeout_ms=30000,
        )
        self.bootstrap = bootstrap

    async def start(self) -> None:
        try:
            await self._producer.start()
        except KafkaError as exc:
            raise BusError(f"cannot connect to Kafka at {self.bootstrap}: {exc}") from exc

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(self, topic: str, value: bytes, key: str | None) -> None:
        await self.send_many(topic, [(key, value)])

    async def send_many(self, topic: str, records: Sequence[tuple[str | None, bytes]]) -> None:
        """Send all records and return once every one is acknowledged; Kafka batches them."""
        try:
            futures = [
                await self._producer.send(
                    topic, value, key=key.encode() if key is not None else None
                )
                for key, value in records
            ]
            await asyncio.gather(*futures)
        except KafkaError as exc:
            raise BusError(
                f"Kafka did not accept {len(records)} record(s) for {topic}: {exc}"
            ) from exc


@dataclass(frozen=True, slots=True)
class ConsumedRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


class Consumer:
    """A consumer-group member. Offsets are committed by the caller after processing."""

    def __init__(
        self, bootstrap: str, topics: Sequence[str], group: str, *, fetch_wait_ms: int = 500
    ) -> None:
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=16 * 1024 * 1024,
            fetch_max_bytes=64 * 1024 * 1024,
            # The lowest session timeout brokers accept by default; it also bounds how long a
            # join takes on the dev broker, which waits about half of it before assigning.
            # Apache Kafka answers a waiting fetch as soon as a record arrives; the dev broker
            # holds it for part of this, so the dev server sets it low.
            fetch_max_wait_ms=fetch_wait_ms,
            session_timeout_ms=6000,
            heartbeat_interval_ms=2000,
        )
        self.bootstrap = bootstrap

    async def start(self) -> None:
        try:
            await self._consumer.start()
        except KafkaError as exc:
            raise BusError(f"cannot connect to Kafka at {self.bootstrap}: {exc}") from exc

    async def stop(self) -> None:
        await self._consumer.stop()

    async def fetch(self, timeout_ms: int = 1000, max_records: int = 500) -> list[ConsumedRecord]:
        """Block until records arrive (or the timeout); the broker does the waiting."""
        try:
            batches = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        except KafkaError as exc:
            raise BusError(f"fetch failed: {exc}") from exc
        out: list[ConsumedRecord] = []
        for tp, msgs in batches.items():
            for m in msgs:
                out.append(ConsumedRecord(tp.topic, tp.partition, m.offset, m.key, m.value or b""))
        return out

    async def batches(self, retry_seconds: float = 1.0) -> AsyncIterator[list[ConsumedRecord]]:
        """Non-empty batches, forever. A failed fetch (Kafka unreachable, a rebalance) is logged
        and tried again: the consumer reconnects by itself."""
        while True:
            try:
                records = await self.fetch(timeout_ms=5000)
            except BusError as exc:
                log.warning("fetch failed, retrying: %s", exc)
                await asyncio.sleep(retry_seconds)
                continue
            if records:
                yield records

    async def commit(self, records: Sequence[ConsumedRecord]) -> None:
        """Commit past the highest offset of each partition in ``records``."""
        offsets: dict[TopicPartition, int] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            offsets[tp] = max(offsets.get(tp, -1), r.offset + 1)
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except KafkaError as exc:
            log.warning("offset commit failed (records will be seen again): %s", exc)
