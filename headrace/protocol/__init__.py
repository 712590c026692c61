"""Wire shapes of the Inngest SDK protocol, shared by the Headrace SDK and server.

Depends only on the standard library and ``jcs``. Section numbers (§) in docstrings refer to
the protocol notes the implementation follows.
"""

from __future__ import annotations

from . import headers
from .call_request import CallRequest, build_call_request, parse_call_request
from .durations import format_duration, parse_duration
from .errors import ProtocolError
from .headers import (
    AUTHORIZATION,
    CONTENT_TYPE,
    ENV,
    EVENT_ID_SEED,
    EXPECTED_SERVER_KIND,
    FRAMEWORK,
    GENERATION_ID,
    JOB_ID,
    NO_RETRY,
    REQ_VERSION,
    REQUEST_ID,
    REQUEST_VERSION,
    RETRY_AFTER,
    RUN_ID,
    SDK,
    SDK_HANDLED,
    SERVER_KIND,
    SERVER_KIND_CLOUD,
    SERVER_KIND_DEV,
    SIGNATURE,
    STEP_ID,
    SYNC_KIND,
    parse_retry_after,
)
from .jcs_signing import (
    bearer_hash,
    bearer_matches,
    canonicalize,
    sign,
    signing_key_hex,
    verify_signature,
)
from .opcodes import MAX_SLEEP, Op, Opcode, parse_opcodes, sleep_until
from .register import (
    DEFAULT_RETRIES,
    MAX_RETRIES,
    FunctionConfig,
    RegisterRequest,
    TriggerConfig,
    parse_register,
    strip_url_params,
)
from .step_ids import step_hash

__all__ = [
    "AUTHORIZATION",
    "CONTENT_TYPE",
    "DEFAULT_RETRIES",
    "ENV",
    "EVENT_ID_SEED",
    "EXPECTED_SERVER_KIND",
    "FRAMEWORK",
    "GENERATION_ID",
    "JOB_ID",
    "MAX_RETRIES",
    "MAX_SLEEP",
    "NO_RETRY",
    "REQUEST_ID",
    "REQUEST_VERSION",
    "REQ_VERSION",
    "RETRY_AFTER",
    "RUN_ID",
    "SDK",
    "SDK_HANDLED",
    "SERVER_KIND",
    "SERVER_KIND_CLOUD",
    "SERVER_KIND_DEV",
    "SIGNATURE",
    "STEP_ID",
    "SYNC_KIND",
    "CallRequest",
    "FunctionConfig",
    "Op",
    "Opcode",
    "ProtocolError",
    "RegisterRequest",
    "TriggerConfig",
    "bearer_hash",
    "bearer_matches",
    "build_call_request",
    "canonicalize",
    "format_duration",
    "headers",
    "parse_call_request",
    "parse_duration",
    "parse_opcodes",
    "parse_register",
    "parse_retry_after",
    "sign",
    "signing_key_hex",
    "sleep_until",
    "step_hash",
    "strip_url_params",
    "verify_signature",
]
