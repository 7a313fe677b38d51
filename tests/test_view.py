"""``View``: a widget's opening message carries a small loader, not its bundle.

Only the first widget of a class in a kernel carries the bundle too.

The bundle is asked for by the page (``{"kind": "view-code", "key"}``) and sent as a
binary buffer in answer; what the browser side does with it is in
``js/test/loader.test.ts`` and ``tests/e2e/test_view_code_e2e.py``.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import comm
import pytest

from replicate_widgets._widgets.form import InputForm
from replicate_widgets._widgets.panel.panel import PredictionPanel
from replicate_widgets._widgets.playground.codeview import CodeView
from replicate_widgets._widgets.view import View, bundle_key

STATIC = Path(__file__).parents[1] / "replicate_widgets" / "static"
SCHEMAS = Path(__file__).parent / "fixtures" / "schemas"


class Channel:
    """Stands in for the kernel's comm: keeps the opening message and what follows."""

    kernel = "recording"

    def __init__(self, **kwargs: Any) -> None:
        self.comm_id = uuid.uuid4().hex
        self.opened = kwargs.get("data") or {}
        self.messages: list[tuple[dict[str, Any], list[Any]]] = []

    def send(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        self.messages.append((data, list(buffers or [])))

    def on_msg(self, callback: Any) -> None:
        pass

    def close(self, *args: Any, **kwargs: Any) -> None:
        pass


@pytest.fixture
def channels(monkeypatch: pytest.MonkeyPatch) -> list[Channel]:
    made: list[Channel] = []
    # As in a new kernel: no widget has carried its bundle yet.
    monkeypatch.setattr(View, "_view_sent", set())

    def create_comm(**kwargs: Any) -> Channel:
        made.append(Channel(**kwargs))
        return made[-1]

    monkeypatch.setattr(comm, "create_comm", create_comm)
    return made


def ask(widget: View, key: str) -> None:
    """Deliver the page's request as ipywidgets delivers a custom comm message."""
    widget._handle_msg(
        {
            "content": {
                "data": {
                    "method": "custom",
                    "content": {"kind": "view-code", "key": key},
                }
            },
            "buffers": [],
        }
    )


def opened(channels: list[Channel], widget: View) -> Channel:
    """The channel of ``widget`` (ipywidgets opens its ``Layout`` model first)."""
    return next(c for c in channels if c.comm_id == widget.comm.comm_id)


def customs(channel: Channel) -> list[tuple[dict[str, Any], list[Any]]]:
    return [
        (d["content"], b) for d, b in channel.messages if d.get("method") == "custom"
    ]


@pytest.mark.parametrize(
    ("cls", "bundle"), [(PredictionPanel, "panel"), (CodeView, "code")]
)
def test_the_opening_message_carries_the_loader_and_a_key_not_the_bundle(
    channels: list[Channel], cls: type[View], bundle: str
) -> None:
    code = (STATIC / f"{bundle}.js").read_bytes()
    # The kernel's first widget of the class carries its bundle, once.
    first = cls()
    assert opened(channels, first).opened["state"]["_view_code"] == code.decode()
    widget = cls()
    channel = opened(channels, widget)
    state = channel.opened["state"]
    assert state["_esm"] == (STATIC / "loader.js").read_text(encoding="utf-8")
    assert state["_view_key"] == bundle_key(code, bundle)
    assert state["_view_code"] == ""
    # The whole opening message: the loader and a little state, no bundle.
    message = json.dumps(channel.opened)
    assert len(message) < len(state["_esm"]) + 3_000
    first.close()
    widget.close()


def test_a_request_for_the_key_is_answered_with_the_bundle_as_a_buffer(
    channels: list[Channel],
) -> None:
    panel = PredictionPanel()
    key = panel._view_key
    ask(panel, key)
    ask(panel, "panel:0000000000000000")  # a page that has an older build's key
    answers = customs(opened(channels, panel))
    assert answers[0] == (
        {"kind": "view-code", "key": key},
        [(STATIC / "panel.js").read_bytes()],
    )
    assert answers[1] == (
        {"kind": "view-code", "key": "panel:0000000000000000", "missing": True},
        [],
    )
    assert len(answers) == 2
    panel.close()


def test_other_messages_are_left_to_the_widget(channels: list[Channel]) -> None:
    panel = PredictionPanel()
    panel._handle_msg(
        {
            "content": {"data": {"method": "custom", "content": {"kind": "cancel"}}},
            "buffers": [],
        }
    )
    assert customs(opened(channels, panel)) == []
    panel.close()


def test_the_form_names_its_markdown_part_and_answers_for_it(
    channels: list[Channel],
) -> None:
    part = (STATIC / "parts" / "markdown.js").read_bytes()
    form = InputForm(json.loads((SCHEMAS / "stability-ai__sdxl.json").read_text()))
    state = opened(channels, form).opened["state"]
    assert state["_view_parts"] == {"markdown": bundle_key(part, "markdown")}
    assert b"DOMPurify" not in json.dumps(state).encode()  # nor marked
    ask(form, state["_view_parts"]["markdown"])
    assert customs(opened(channels, form)) == [
        ({"kind": "view-code", "key": state["_view_parts"]["markdown"]}, [part])
    ]
    form.close()
