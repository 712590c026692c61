"""Kafka access (aiokafka). Kafka errors are mapped to ``BusError`` at this boundary."""

from services.core.bus.kafka import Bus, ConsumedRecord, Consumer, ensure_topics

__all__ = ["Bus", "ConsumedRecord", "Consumer", "ensure_topics"]
