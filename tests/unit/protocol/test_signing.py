from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from headrace.protocol import (
    ProtocolError,
    bearer_hash,
    bearer_matches,
    canonicalize,
    sign,
    signing_key_hex,
    verify_signature,
)

from ._recorded import RECORDED_SIGNING_KEY, entry, load_transcript

KEY = RECORDED_SIGNING_KEY
KEY_HEX = "12345678" * 8
OTHER = "signkey-prod-" + "ab" * 32


def test_canonicalize_sorts_keys_and_strips_whitespace() -> None:
    assert canonicalize({"b": 1, "a": [1, 2, {"d": None, "c": "x"}]}) == (
        b'{"a":[1,2,{"c":"x","d":null}],"b":1}'
    )


def test_canonicalize_numbers_like_javascript() -> None:
    assert canonicalize([1.0, 1e21, 0.5, -0.0]) == b"[1,1e+21,0.5,0]"


def test_signing_key_hex_strips_prefix_only() -> None:
    assert signing_key_hex(KEY) == KEY_HEX
    assert signing_key_hex("signkey-branch_1-abcd") == "abcd"
    assert signing_key_hex("abcd") == "abcd"


def test_sign_uses_hex_text_as_key_and_seconds() -> None:
    body = b'{"a":1}'
    expected = hmac.new(KEY_HEX.encode(), body + b"1700000000", hashlib.sha256).hexdigest()
    assert sign(body, KEY, now=1_700_000_000) == f"t=1700000000&s={expected}"


def test_verify_round_trip_canonical() -> None:
    body = canonicalize({"x": 1, "y": [1, 2]})
    header = sign(body, KEY, now=1000)
    assert verify_signature(body, header, [KEY], now=1010)
    # A pretty-printed body with the same meaning verifies in canonical mode only.
    pretty = json.dumps({"y": [1, 2], "x": 1}, indent=2).encode()
    assert verify_signature(pretty, header, [KEY], now=1010)
    assert not verify_signature(pretty, header, [KEY], canonical=False, now=1010)


def test_verify_raw_bytes_mode() -> None:
    body = b'[ {"op": "StepRun"} ]'
    header = sign(body, KEY, now=5)
    assert verify_signature(body, header, [KEY], canonical=False, now=5)
    assert not verify_signature(body + b" ", header, [KEY], canonical=False, now=5)


def test_verify_empty_body_signs_as_empty_bytes() -> None:
    header = sign(b"", KEY, now=7)
    assert verify_signature(b"", header, [KEY], now=7)


def test_verify_fallback_key_and_wrong_key() -> None:
    body = b"{}"
    header = sign(body, OTHER, now=1)
    assert verify_signature(body, header, [KEY, OTHER], now=1)
    assert not verify_signature(body, header, [KEY], now=1)


def test_verify_timestamp_window() -> None:
    header = sign(b"{}", KEY, now=1000)
    assert not verify_signature(b"{}", header, [KEY], now=1000 + 301)
    assert verify_signature(b"{}", header, [KEY], now=1000 + 300)
    assert verify_signature(b"{}", header, [KEY], now=1000 + 3600, max_age_seconds=None)


@pytest.mark.parametrize("header", [None, "", "garbage", "t=abc&s=00", "s=00", "t=5"])
def test_verify_rejects_malformed_headers(header: str | None) -> None:
    assert not verify_signature(b"{}", header, [KEY], now=5)


def test_verify_rejects_unparseable_body_in_canonical_mode() -> None:
    header = sign(b"not json", KEY, now=1)
    assert not verify_signature(b"not json", header, [KEY], now=1)


def test_recorded_python_request_signature_verifies() -> None:
    e = entry(load_transcript("python"), "cloud: POST signed (JCS body)")
    header = e["request"]["headers"]["x-inngest-signature"]
    body = canonicalize(e["request"]["body"])
    assert verify_signature(body, header, [KEY], max_age_seconds=None)
    bad = entry(load_transcript("python"), "cloud: POST bad signature")
    bad_header = bad["request"]["headers"]["x-inngest-signature"]
    assert not verify_signature(body, bad_header, [KEY], max_age_seconds=None)


def test_recorded_python_response_signature_verifies_over_json_dumps() -> None:
    e = entry(load_transcript("python"), "cloud: POST signed (JCS body)")
    header = e["response"]["headers"]["x-inngest-signature"]
    # The SDK signed json.dumps(body) (default separators), i.e. the raw bytes it sent.
    raw = json.dumps(e["response"]["body"]).encode()
    assert verify_signature(raw, header, [KEY], canonical=False, max_age_seconds=None)


def test_bearer_hash_matches_recordings() -> None:
    assert bearer_hash(KEY) == ("1c5663dffbfe59fa348d7f741e97f0416bd9de62c48cb05f02fcbc9b7c810c56")
    assert bearer_hash(KEY) == hashlib.sha256(bytes.fromhex(KEY_HEX)).hexdigest()


def test_bearer_hash_rejects_non_hex_key() -> None:
    with pytest.raises(ProtocolError):
        bearer_hash("signkey-test-nothex")


def test_bearer_matches_both_sdk_forms() -> None:
    py = load_transcript("python")
    ts = load_transcript("typescript")
    py_auth = next(
        c["headers"]["authorization"]
        for e in py
        for c in e["sdk_calls_to_server"]
        if "authorization" in c["headers"]
    )
    ts_auth = next(
        c["headers"]["Authorization"]
        for e in ts
        for c in e["sdk_calls_to_server"]
        if c["headers"].get("Authorization", "").startswith("Bearer signkey")
    )
    assert bearer_matches(py_auth, [KEY])
    assert bearer_matches(ts_auth, [KEY])
    assert bearer_matches(py_auth, [OTHER, KEY])
    assert not bearer_matches(py_auth, [OTHER])


@pytest.mark.parametrize("value", [None, "", "Bearer", "Bearer undefined", "Basic abc"])
def test_bearer_matches_rejects(value: str | None) -> None:
    assert not bearer_matches(value, [KEY])
