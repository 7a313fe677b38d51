from __future__ import annotations

import datetime

import pytest

import replicate_widgets._client.checks as _checks
from replicate_widgets._client.endpoints import predictions_list

VERSION = "39ed52f2a78e934b3ba6e2a89f5b1c712de7dfea535525255b1aa35c5565e08b"


@pytest.mark.parametrize(
    ("ref", "owner", "name", "version"),
    [
        ("stability-ai/sdxl", "stability-ai", "sdxl", None),
        (f"stability-ai/sdxl:{VERSION}", "stability-ai", "sdxl", VERSION),
        (VERSION, None, None, VERSION),
        ("  meta/llama-3.1_x  ", "meta", "llama-3.1_x", None),
        ("demo/echo:local-7", "demo", "echo", "local-7"),
    ],
)
def test_parse_ref(ref, owner, name, version):
    parsed = _checks.parse_ref(ref)
    assert (parsed.owner, parsed.name, parsed.version) == (owner, name, version)


@pytest.mark.parametrize(
    "bad", ["sdxl", "/sdxl", "a/", "a/b/c", "a b/c", "a/b:", "a/b:v:w", VERSION[:-1]]
)
def test_parse_ref_rejects_with_examples(bad):
    with pytest.raises(ValueError, match="owner/name"):
        _checks.parse_ref(bad)


@pytest.mark.parametrize(
    ("value", "header"),
    [
        (5, "5s"),
        (90.7, "90s"),
        ("30", "30"),
        ("30s", "30s"),
        ("5m", "5m"),
        ("1h30m45s", "1h30m45s"),
        ("2h", "2h"),
    ],
)
def test_cancel_after(value, header):
    assert _checks.cancel_after_header(value) == {"Cancel-After": header}


@pytest.mark.parametrize(
    ("value", "exc"),
    [
        ("4s", ValueError),
        (1, ValueError),
        ("m5", ValueError),
        ("", ValueError),
        ("5 m", ValueError),
        (True, TypeError),
        ([5], TypeError),
    ],
)
def test_cancel_after_rejects(value, exc):
    with pytest.raises(exc):
        _checks.cancel_after_header(value)


def test_prefer_header_and_timeout():
    assert _checks.prefer_header(False) == ({}, None)
    headers, timeout = _checks.prefer_header(1)
    assert headers == {"Prefer": "wait=1"}
    assert timeout is not None
    assert timeout.read is not None
    assert timeout.read > 1
    headers, timeout = _checks.prefer_header(True)
    assert headers == {"Prefer": "wait"}
    assert timeout is not None
    assert timeout.read is not None
    assert timeout.read > 60


def test_datetimes_accepted_for_list_filters():
    when = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    call = predictions_list(when, None, None)
    assert call.params == {"created_after": "2025-01-02T03:04:05+00:00"}


def test_ids_cannot_escape_their_path():
    for bad in ("", "  ", "a/b", "../x"):
        with pytest.raises(ValueError, match="id"):
            _checks.check_id(bad, "prediction id")
    assert _checks.check_id("abc?x=1", "prediction id") == "abc%3Fx%3D1"
