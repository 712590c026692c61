"""OpenTelemetry tracing. Off unless ``HEADRACE_OTEL_ENDPOINT`` names an OTLP/HTTP collector.

A run is one trace: its trace id is the run's ULID (128 bits), so every app call of the run,
whichever executor made it and however long the run slept in between, lands in the same
trace. Each call is a CLIENT span, and its context goes to the app in the W3C ``traceparent``
header, so spans the app records join the run's trace.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from ulid import ULID

_PROPAGATOR = TraceContextTextMapPropagator()


class Tracing:
    """What services use: ``with tracing.call_span(run_id, name, attrs, headers) as span``."""

    def __init__(self, tracer: trace.Tracer, provider: TracerProvider | None = None) -> None:
        self.tracer = tracer
        self.provider = provider

    @classmethod
    def disabled(cls) -> Tracing:
        return cls(trace.NoOpTracer())

    @classmethod
    def to_collector(cls, endpoint: str, service: str) -> Tracing:
        """Batch spans to an OTLP/HTTP collector at ``endpoint`` (e.g. http://otel:4318)."""
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
        return cls.with_processor(BatchSpanProcessor(exporter), service)

    @classmethod
    def with_processor(cls, processor: SpanProcessor, service: str) -> Tracing:
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(processor)
        return cls(provider.get_tracer("headrace"), provider)

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()

    @contextmanager
    def call_span(
        self,
        run_id: str,
        name: str,
        attributes: dict[str, Any],
        headers: MutableMapping[str, str],
    ) -> Iterator[trace.Span]:
        """A CLIENT span in the run's trace; its ``traceparent`` is added to ``headers``."""
        parent = trace.set_span_in_context(NonRecordingSpan(run_span_context(run_id)))
        with self.tracer.start_as_current_span(
            name, context=parent, kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            if span.get_span_context().is_valid:
                _PROPAGATOR.inject(headers, context=trace.set_span_in_context(span))
            yield span


def run_trace_id(run_id: str) -> int:
    """The trace id of a run: its ULID's 128 bits (any other id is hashed)."""
    try:
        return int.from_bytes(ULID.from_str(run_id).bytes, "big")
    except ValueError:
        return int.from_bytes(hashlib.sha256(run_id.encode()).digest()[:16], "big")


def run_span_context(run_id: str) -> SpanContext:
    """The run's (never exported) root: every call span of the run is its child."""
    span_id = int.from_bytes(hashlib.sha256(b"run:" + run_id.encode()).digest()[:8], "big") or 1
    return SpanContext(
        trace_id=run_trace_id(run_id),
        span_id=span_id,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
