from __future__ import annotations

import random

import httpx
import pytest

from replicate_widgets._client.http import ClientConfig, is_loopback
from replicate_widgets._client.retry import RetryPolicy


def resp(status: int, body: object = None, **headers: str) -> httpx.Response:
    r = httpx.Response(status, json=body, headers=headers)
    r.read()
    return r


def policy(**kw: object) -> RetryPolicy:
    # Seeded so the jitter assertions are repeatable; not used for security.
    seeded = random.Random(7)  # noqa: S311
    return RetryPolicy(_random=seeded, **kw)  # type: ignore[arg-type]


def test_backoff_grows_is_jittered_and_bounded():
    p = policy(backoff_base=1.0, backoff_max=8.0, jitter=0.25, max_retries=10)
    waits = [p.backoff(n) for n in range(8)]
    for n, wait in enumerate(waits):
        base = min(8.0, 2.0**n)
        assert base * 0.75 <= wait <= base * 1.25
    assert max(waits) <= 10.0
    assert len({round(w, 6) for w in waits}) == len(waits)  # jitter varies


def test_429_retried_for_every_method_with_retry_after_capped():
    p = policy(backoff_max=30.0)
    assert p.delay("POST", 0, response=resp(429, {}, **{"Retry-After": "3"})) == 3.0
    assert p.delay("GET", 0, response=resp(429, {"retry_after": 5})) == 5.0
    assert p.delay("POST", 0, response=resp(429, {}, **{"Retry-After": "999"})) == 30.0
    without_hint = p.delay("POST", 1, response=resp(429, {"detail": "slow"}))
    assert without_hint is not None
    assert without_hint > 0


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_only_retried_when_idempotent(status):
    p = policy()
    for method in ("GET", "DELETE", "PUT", "HEAD"):
        assert p.delay(method, 0, response=resp(status, {})) is not None
    assert p.delay("POST", 0, response=resp(status, {})) is None
    assert p.delay("QUERY", 0, response=resp(status, {})) is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 500])
def test_other_errors_are_not_retried(status):
    assert policy().delay("GET", 0, response=resp(status, {})) is None


def test_transport_errors():
    p = policy()
    assert p.delay("GET", 0, error=httpx.ReadError("x")) is not None
    assert p.delay("POST", 0, error=httpx.ReadError("x")) is None
    assert p.delay("POST", 0, error=httpx.ReadTimeout("x")) is None
    # A refused connection never reached the server, so a create can be repeated.
    assert p.delay("POST", 0, error=httpx.ConnectError("refused")) is not None


def test_gives_up_after_max_retries():
    p = policy(max_retries=2)
    throttled = resp(429, {}, **{"Retry-After": "0"})
    assert p.delay("GET", 1, response=throttled) == 0.0
    assert p.delay("GET", 2, response=throttled) is None
    assert policy(max_retries=0).delay("GET", 0, response=throttled) is None


@pytest.mark.parametrize(
    "kwargs", [{"max_retries": -1}, {"backoff_base": -1.0}, {"jitter": 2.0}]
)
def test_policy_arguments_checked(kwargs):
    with pytest.raises(ValueError, match="must"):
        RetryPolicy(**kwargs)


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8000/v1", True),
        ("http://127.5.5.5/v1", True),
        ("http://localhost/v1", True),
        ("http://[::1]:9/v1", True),
        ("https://api.replicate.com/v1", False),
        ("http://10.0.0.2/v1", False),
        ("http://127.0.0.1.evil.test/v1", False),
        ("http://app.localhost:8000/v1", True),
        ("http://LOCALHOST./v1", True),
        ("http://localhost.evil.test/v1", False),
    ],
)
def test_loopback_detection(url, local):
    assert is_loopback(url) is local


def test_token_goes_only_to_api_and_replicate_file_hosts():
    cfg = ClientConfig("r8_secret", None, 30.0, 0, None)
    assert cfg.auth_headers("https://api.replicate.com/v1/x")
    assert cfg.auth_headers("https://replicate.delivery/pbxt/a.png")
    assert cfg.auth_headers("https://xezq.replicate.delivery/a.png")
    assert cfg.auth_headers("https://streaming-api.svc.us.c.replicate.net/v1/s")
    assert cfg.auth_headers("https://example.com/a.png") == {}
    assert cfg.auth_headers("https://notreplicate.delivery/a.png") == {}
    assert "r8_secret" not in repr(cfg)
    assert "r8_secret" not in repr(vars(cfg))


def test_local_config_sends_its_token_only_to_itself():
    cfg = ClientConfig("r8_secret", "http://127.0.0.1:5000/v1", 30.0, 0, None)
    assert cfg.is_local
    assert cfg.auth_headers("http://127.0.0.1:5000/v1/files/a")
    # Another service on the same machine is not the backend.
    assert cfg.auth_headers("http://127.0.0.1:6000/other") == {}
