from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from services.core.engine import DoneReply, ErrorReply, OpsReply, TransportFailure
from services.executor.call import step_url
from services.executor.response import classify

NOW = datetime(2030, 1, 1, tzinfo=UTC)
SDK = {"x-inngest-sdk": "inngest-py:v0.5.19", "x-inngest-req-version": "2"}


def test_done() -> None:
    reply = classify(200, SDK, b'{"ok": true}', NOW)
    assert reply == DoneReply(output={"ok": True}, request_version=2)


def test_done_with_empty_body_is_null() -> None:
    assert classify(200, SDK, b"", NOW) == DoneReply(output=None, request_version=2)


def test_ops_list_and_single_object() -> None:
    body = [{"op": "StepRun", "id": "h1", "name": "first", "data": {"a": 1}}]
    reply = classify(206, SDK, json.dumps(body).encode(), NOW)
    assert isinstance(reply, OpsReply)
    assert [(o.op, o.id, o.data) for o in reply.ops] == [("StepRun", "h1", {"a": 1})]
    single = classify(206, SDK, json.dumps(body[0]).encode(), NOW)
    assert isinstance(single, OpsReply) and len(single.ops) == 1


def test_no_retry_and_retry_after_on_a_206() -> None:
    headers = {**SDK, "x-inngest-no-retry": "true", "retry-after": "30"}
    reply = classify(206, headers, b'[{"op": "StepError", "id": "h"}]', NOW)
    assert isinstance(reply, OpsReply)
    assert reply.no_retry is True
    assert reply.retry_after == NOW + timedelta(seconds=30)


def test_function_error_keeps_the_body_as_received() -> None:
    body = {"code": "unknown", "message": "boom", "name": "ValueError", "stack": "tb"}
    reply = classify(500, SDK, json.dumps(body).encode(), NOW)
    assert reply == ErrorReply(
        status=500, body=body, no_retry=None, retry_after=None, message="invalid status code: 500"
    )


def test_explicit_no_retry_header_decides() -> None:
    reply = classify(500, {**SDK, "x-inngest-no-retry": "false"}, b"{}", NOW)
    assert isinstance(reply, ErrorReply) and reply.no_retry is False
    reply = classify(400, {**SDK, "x-inngest-no-retry": "true"}, b"{}", NOW)
    assert isinstance(reply, ErrorReply) and reply.no_retry is True


def test_success_without_sdk_headers_is_not_from_an_sdk() -> None:
    reply = classify(200, {"content-type": "text/html"}, b"<html>hi</html>", NOW)
    assert isinstance(reply, TransportFailure)
    assert "without Inngest SDK headers" in reply.message
    assert "<html>hi</html>" in reply.message


def test_garbage_bodies_say_what_was_wrong() -> None:
    reply = classify(200, SDK, b"not json", NOW)
    assert isinstance(reply, TransportFailure) and "200 body is not JSON" in reply.message
    reply = classify(206, SDK, b'{"no": "op"}', NOW)
    assert isinstance(reply, TransportFailure) and "not an opcode list" in reply.message
    reply = classify(502, {}, b"<html>bad gateway</html>", NOW)
    assert isinstance(reply, ErrorReply) and reply.body == "<html>bad gateway</html>"


def test_streamed_envelope_is_decoded_twice() -> None:
    inner = json.dumps([{"op": "StepRun", "id": "h", "data": 1}])
    envelope = json.dumps(
        {"body": inner, "headers": {"X-Inngest-No-Retry": "false"}, "status": 206}
    )
    reply = classify(201, {}, envelope.encode(), NOW)
    assert isinstance(reply, OpsReply) and reply.ops[0].data == 1
    broken = classify(201, {}, b"   {oops", NOW)
    assert isinstance(broken, TransportFailure) and "streamed reply is malformed" in broken.message


def test_step_url_keeps_the_registered_url_byte_for_byte() -> None:
    url = "http://127.0.0.1:8000/api/inngest?fnId=app%20x&stepId=step&z=1"
    assert step_url(url, "abc") == "http://127.0.0.1:8000/api/inngest?fnId=app%20x&stepId=abc&z=1"
    assert step_url("http://h/api?fnId=f", "step") == "http://h/api?fnId=f&stepId=step"
