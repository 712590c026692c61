"""Servers that ``headrace dev`` and the tests run in-process: Postgres, a dev Kafka broker,
and a single-node Apache Kafka for integration tests.

Standard library only at import time; psycopg is imported when a database is created.
"""

from ._process import free_port
from .broker import BrokerError, EmbeddedBroker
from .kafka import ApacheKafka, KafkaError
from .postgres import EmbeddedPostgres, PostgresError

__all__ = [
    "ApacheKafka",
    "BrokerError",
    "EmbeddedBroker",
    "EmbeddedPostgres",
    "KafkaError",
    "PostgresError",
    "free_port",
]
