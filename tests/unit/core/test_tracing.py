from __future__ import annotations

from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from ulid import ULID

from services.core.tracing import Tracing, run_span_context, run_trace_id

RUN = "01M815B2155P74ZXM3W8VND4X3"


def recording() -> tuple[Tracing, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    return Tracing.with_processor(SimpleSpanProcessor(exporter), "headrace-test"), exporter


def test_a_run_is_one_trace_named_by_its_ulid() -> None:
    assert run_trace_id(RUN) == int.from_bytes(ULID.from_str(RUN).bytes, "big")
    assert run_trace_id("not-a-ulid") == run_trace_id("not-a-ulid") != 0
    assert run_span_context(RUN).trace_id == run_trace_id(RUN)


def test_call_spans_share_the_run_trace_and_go_to_the_app() -> None:
    tracing, exporter = recording()
    sent: list[dict[str, str]] = []
    for step in ("step", "abc123"):
        headers: dict[str, str] = {}
        with tracing.call_span(RUN, "call app-f", {"headrace.step_id": step}, headers):
            pass
        sent.append(headers)
    spans = exporter.get_finished_spans()
    assert [s.attributes["headrace.step_id"] for s in spans] == ["step", "abc123"]
    assert {s.context.trace_id for s in spans} == {run_trace_id(RUN)}
    assert all(s.kind is SpanKind.CLIENT for s in spans)
    assert all(
        s.parent is not None and s.parent.span_id == run_span_context(RUN).span_id for s in spans
    )
    for headers, span in zip(sent, spans, strict=True):
        version, trace_id, span_id, flags = headers["traceparent"].split("-")
        assert (version, flags) == ("00", "01")
        assert int(trace_id, 16) == run_trace_id(RUN)
        assert int(span_id, 16) == span.context.span_id


def test_disabled_tracing_records_nothing_but_keeps_apps_in_the_run_trace() -> None:
    headers: dict[str, str] = {}
    with Tracing.disabled().call_span(RUN, "call", {}, headers) as span:
        assert not span.is_recording()
    assert int(headers["traceparent"].split("-")[1], 16) == run_trace_id(RUN)


def test_spans_are_exported_to_an_otlp_collector() -> None:
    """A real OTLP/HTTP export to a collector stand-in on loopback."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    received: list[tuple[str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append((self.path, body))
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        tracing = Tracing.to_collector(f"http://127.0.0.1:{server.server_port}", "headrace")
        with tracing.call_span(RUN, "call app-f", {"headrace.step_id": "step"}, {}):
            pass
        tracing.shutdown()  # flushes the batch
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert [path for path, _ in received] == ["/v1/traces"]
    request = ExportTraceServiceRequest.FromString(received[0][1])
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert span.name == "call app-f"
    assert int.from_bytes(span.trace_id, "big") == run_trace_id(RUN)
