from __future__ import annotations

import headrace
import headrace.protocol
from headrace.errors import Interrupt, NestedStepInterrupt, SkipInterrupt, StepInterrupt


def test_all_is_pinned() -> None:
    assert sorted(headrace.__all__) == sorted(
        [
            "Client",
            "ConfigError",
            "Context",
            "Event",
            "Function",
            "HeadraceError",
            "NonRetriableError",
            "RetryAfterError",
            "SendEventError",
            "Step",
            "StepError",
            "SyncStep",
            "TriggerCron",
            "TriggerEvent",
            "__version__",
            "asgi",
            "protocol",
        ]
    )
    for name in headrace.__all__:
        assert hasattr(headrace, name), name


def test_protocol_exports_what_the_server_imports() -> None:
    for name in [
        "canonicalize",
        "signing_key_hex",
        "sign",
        "verify_signature",
        "bearer_hash",
        "bearer_matches",
        "step_hash",
        "parse_duration",
        "format_duration",
        "Opcode",
        "parse_opcodes",
        "sleep_until",
        "build_call_request",
        "parse_call_request",
        "CallRequest",
        "parse_register",
        "RegisterRequest",
        "FunctionConfig",
        "TriggerConfig",
        "ProtocolError",
        "parse_retry_after",
        "SIGNATURE",
        "SDK",
        "NO_RETRY",
        "RETRY_AFTER",
        "REQ_VERSION",
        "SERVER_KIND",
        "SDK_HANDLED",
    ]:
        assert name in headrace.protocol.__all__, name
        assert hasattr(headrace.protocol, name), name
    assert issubclass(headrace.protocol.ProtocolError, ValueError)


def test_control_flow_cannot_be_caught_by_except_exception() -> None:
    for cls in (Interrupt, StepInterrupt, SkipInterrupt, NestedStepInterrupt):
        assert issubclass(cls, BaseException) and not issubclass(cls, Exception)
    for err in (headrace.NonRetriableError, headrace.RetryAfterError, headrace.StepError):
        assert issubclass(err, headrace.HeadraceError)
