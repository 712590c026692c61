"""The event gateway: validate, assign ids, write to Kafka, answer after the broker acknowledged."""

from services.ingest.service import IngestService

__all__ = ["IngestService"]
