"""login(): the token reaches the kernel by message, lives in memory, is checked."""

from __future__ import annotations

import json
import time

import pytest

import replicate_widgets as rw
import replicate_widgets._client.auth as _auth
from replicate_widgets.server import serve


@pytest.fixture(autouse=True)
def _forget_token():
    _auth.set_token(None)
    yield
    _auth.set_token(None)


def _wait_for(widget, states, timeout=30.0):
    deadline = time.monotonic() + timeout
    while widget.state not in states:
        assert time.monotonic() < deadline, f"still {widget.state}: {widget.status}"
        time.sleep(0.02)


def _state_json(widget) -> str:
    return json.dumps(widget.get_state(), default=str)


def test_token_message_sets_the_token_without_entering_any_trait():
    widget = rw.login(verify=False)
    widget._on_message(widget, {"kind": "token", "token": "r8_sekrit_value"}, [])
    assert _auth.get_token() == "r8_sekrit_value"
    assert widget.state == "ok"
    assert "r8_sekrit_value" not in _state_json(widget)
    assert "r8_sekrit_value" not in widget.status


@pytest.mark.parametrize(
    ("token", "advice"),
    [
        ("", "empty"),
        ("r8_abc def", "spaces"),
        (" r8_abc", "spaces"),
        ("r8_\u00e9", "characters"),
    ],
)
def test_malformed_tokens_are_refused_with_advice(token, advice):
    widget = rw.login(verify=False)
    widget.submit(token)
    assert widget.state == "error"
    assert advice in widget.status
    assert _auth.get_token() is None


def test_forget_clears_the_token():
    widget = rw.login(verify=False)
    widget.submit("r8_x")
    assert rw.has_token()
    widget._on_message(widget, {"kind": "forget"}, [])
    assert _auth.get_token() is None
    assert not rw.has_token()
    assert widget.state == "empty"


def test_token_is_checked_against_the_backend(tmp_path, monkeypatch):
    with serve(port=0, data_dir=tmp_path, token="r8_right", bundled=False) as server:
        monkeypatch.setenv("REPLICATE_BASE_URL", server.url)
        widget = rw.login()
        widget.submit("r8_wrong")
        _wait_for(widget, {"error"})
        assert "rejected" in widget.status
        assert _auth.get_token() is None
        widget.submit("r8_right")
        _wait_for(widget, {"ok"})
        assert widget.status.startswith("Signed in")
        assert _auth.get_token() == "r8_right"
        assert "r8_right" not in _state_json(widget) + widget.status


def test_unreachable_replicate_keeps_the_token_unverified(monkeypatch):
    monkeypatch.setenv("REPLICATE_BASE_URL", "http://127.0.0.1:9/v1")
    widget = rw.login()
    widget.submit("r8_offline")
    _wait_for(widget, {"unverified"})
    assert _auth.get_token() == "r8_offline"
    assert "r8_offline" not in widget.status
    # Not silently the default for every new widget: it says where they will go,
    # and how to get the local models back.
    assert "could not be checked" in widget.status
    assert "New widgets use http://127.0.0.1:9/v1 (REPLICATE_BASE_URL)" in widget.status
    assert 'backend="local"' in widget.status


def test_login_says_which_backend_new_widgets_use():
    widget = rw.login(verify=False)
    widget.submit("r8_cloud")
    assert "New widgets use Replicate's cloud" in widget.status
    assert 'backend="local"' in widget.status
    widget._on_message(widget, {"kind": "forget"}, [])
    assert widget.status.endswith("New widgets use the local backend.")


def test_a_token_switches_the_default_backend_to_the_cloud():
    from replicate_widgets._widgets.backend import resolve_base_url

    _auth.set_token("r8_cloud")
    assert resolve_base_url() == "https://api.replicate.com/v1"
    assert resolve_base_url("local").startswith("http://127.0.0.1")
