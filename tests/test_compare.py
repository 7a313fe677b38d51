"""Compare and Sweep against the real local backend (127.0.0.1), incl. rate limits."""

from __future__ import annotations

import re
import time

import anywidget
import httpx
import ipywidgets
import pytest
from _widgets import open_widgets, opened_since

from replicate_widgets._client.client import Client
from replicate_widgets._schema.types import SchemaError
from replicate_widgets._widgets.compare.compare import Compare, Sweep
from replicate_widgets._widgets.history.entries import recorded
from replicate_widgets._widgets.panel.panel import PredictionPanel
from replicate_widgets.server import serve

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(local_client: Client) -> Client:
    """The session's local backend (all bundled models), as this module names it."""
    return local_client


def ids_on_server(client: Client) -> set[str]:
    return {p.id for p in client.predictions.list()}


def test_invalid_grid_values_stop_everything_before_anything_starts(client):
    before = ids_on_server(client)
    with pytest.raises(SchemaError) as err:
        Sweep(
            "demo/fractal",
            base={"width": 256, "height": 256},
            grid={"seed": [1, 2], "steps": [3, 99]},
            client=client,
        )
    message = str(err.value)
    assert "Nothing was started" in message
    # both cells with the bad value are named, the good ones are not
    assert "seed=1 · steps=99: steps:" in message
    assert "seed=2 · steps=99: steps:" in message
    assert "steps=3" not in message
    assert ids_on_server(client) == before


def test_unknown_grid_input_suggests_the_close_name(client):
    with pytest.raises(SchemaError, match="did you mean steps"):
        Sweep("demo/fractal", grid={"stepz": [1, 2]}, client=client)
    with pytest.raises(SchemaError, match="colormap"):
        Sweep("demo/fractal", grid={"colormap": ["twilight", "rainbow"]}, client=client)


@pytest.mark.parametrize(
    ("grid", "needle"),
    [
        (None, "grid="),
        ({}, "grid="),
        ({"seed": 3}, "must be a list"),
        ({"seed": "123"}, "must be a list"),
        ({"seed": []}, "is empty"),
    ],
)
def test_malformed_grids_say_what_to_write(client, grid, needle):
    with pytest.raises(ValueError, match=needle):
        Sweep("demo/fractal", grid=grid, client=client)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_max_concurrency_must_be_a_positive_whole_number(client, bad):
    with pytest.raises(ValueError, match="max_concurrency"):
        Sweep("demo/fractal", grid={"seed": [1]}, client=client, max_concurrency=bad)


def test_unknown_model_names_the_backend(client):
    with pytest.raises(ValueError, match=r"not on the backend at http://127\.0\.0\.1"):
        Sweep("nobody/nothing", grid={"seed": [1]}, client=client)
    with pytest.raises(ValueError, match=re.escape("Did you mean demo/fractal")):
        Sweep("demo/fractl", grid={"seed": [1]}, client=client)
    with pytest.raises(ValueError, match="is not a model reference"):
        Compare(["not a ref"], input={}, client=client)


def test_a_2x2_sweep_fills_all_four_panels(client):
    sweep = Sweep(
        "demo/fractal",
        base={"width": 256, "height": 256},
        grid={"seed": [1, 2], "steps": [2, 4]},
        client=client,
        max_concurrency=4,
    )
    assert [c.label for c in sweep.cells] == [
        "seed=1 · steps=2",
        "seed=1 · steps=4",
        "seed=2 · steps=2",
        "seed=2 · steps=4",
    ]
    assert all(isinstance(p, PredictionPanel) for p in sweep.panels)
    results = sweep.run(timeout=180)
    assert [p.status for p in results] == ["succeeded"] * 4
    assert [(p.input["seed"], p.input["steps"]) for p in results] == [
        (1, 2),
        (1, 4),
        (2, 2),
        (2, 4),
    ]
    assert len({p.id for p in results}) == 4
    for panel, prediction in zip(sweep.panels, results, strict=True):
        panel.wait(60)  # its last flush
        assert panel.prediction_id == prediction.id
        assert panel.status == "succeeded"
        assert panel.media
        assert all(m["kind"] == "image" for m in panel.media)
    # the grid is two columns wide (second input across) and every header names
    # the varied values
    assert sweep.columns == 2
    assert "seed=2 · steps=4" in sweep.cell_headers[3]
    assert sweep.parts == {"panels": sweep.panels}
    # results land in History's registry, in their final state
    mine = {p.id: p for p in recorded()}
    assert all(mine[p.id].status == "succeeded" for p in results)


def test_compare_runs_the_same_input_on_several_models(client):
    cmp = Compare(
        ["replicate/hello-world", "demo/echo"], input={"text": "Ada"}, client=client
    )
    results = cmp.run(timeout=120)
    assert [p.status for p in results] == ["succeeded", "succeeded"]
    assert results[0].output == "hello Ada"
    assert results[1].output == "Ada"
    assert [c.label for c in cmp.cells] == ["replicate/hello-world", "demo/echo"]


def all_parts(widget: ipywidgets.Widget) -> list[ipywidgets.Widget]:
    """``widget``'s parts, their parts and so on, and the children of any box."""
    found, stack = [], [widget]
    while stack:
        w = stack.pop()
        found.append(w)
        own = w.own_parts() if hasattr(w, "own_parts") else []
        stack.extend(own + list(getattr(w, "children", ())))
    return found


def test_compare_and_sweep_are_made_of_anywidgets_only(client):
    # marimo and the other anywidget hosts draw anywidgets only: no ipywidgets
    # core widget (Box, Button, HTML...) anywhere inside, at any depth.
    cmp = Compare(
        ["replicate/hello-world", "demo/echo"], input={"text": "x"}, client=client
    )
    sweep = Sweep("demo/fractal", grid={"seed": [1, 2], "steps": [2, 4]}, client=client)
    for widget in (cmp, sweep):
        parts = all_parts(widget)
        assert len(parts) == 1 + len(widget.panels)
        assert all(isinstance(w, anywidget.AnyWidget) for w in parts), parts
        assert all(p in parts for p in widget.panels)
    # the view's Run all and Cancel all arrive as actions
    assert set(sweep._actions) == {"run", "cancel"}
    assert sweep.cell_headers[0].startswith('<div class="rw-grid-header"')
    assert cmp.cell_headers == ["", ""]  # the panels name their models
    assert "Compare 2 models" in cmp.header
    assert "demo/fractal: seed (2) \N{MULTIPLICATION SIGN} steps (2)" in sweep.header
    for widget in (cmp, sweep):
        widget.close()
        assert all(p.comm is None for p in widget.panels)


def test_the_view_runs_and_cancels_the_grid(client):
    sweep = Sweep(
        "demo/echo", base={"delay": 30}, grid={"text": ["a", "b"]}, client=client
    )
    assert sweep.busy is False
    # what the view's Run all sends (js/src/compare.ts)
    sweep._on_composite_message(sweep, {"kind": "action", "name": "run"}, [])
    deadline = time.monotonic() + 30
    while not (sweep.busy and all(c.prediction for c in sweep.cells)):
        assert time.monotonic() < deadline, "Run all started nothing"
        time.sleep(0.05)
    assert sweep.running
    # Run all again while running says so instead of starting twice
    sweep._actions["run"](None)
    deadline = time.monotonic() + 5
    while "already running" not in sweep.message:
        assert time.monotonic() < deadline, sweep.message
        time.sleep(0.05)
    sweep._on_composite_message(sweep, {"kind": "action", "name": "cancel"}, [])
    results = sweep._job.result(60)
    assert [p.status for p in results] == ["canceled", "canceled"]
    deadline = time.monotonic() + 5
    while sweep.busy:
        assert time.monotonic() < deadline, "Run all stayed disabled"
        time.sleep(0.05)
    assert sweep.message == "0 of 2 succeeded; 2 canceled."
    sweep.close()


def test_compare_checks_the_input_against_every_model_first(client):
    before = ids_on_server(client)
    with pytest.raises(SchemaError) as err:
        Compare(
            ["replicate/hello-world", "demo/echo"],
            input={"text": "x", "delay": 0.1},
            client=client,
        )
    assert "replicate/hello-world: delay:" in str(err.value)
    assert "demo/echo" not in str(err.value)
    assert ids_on_server(client) == before


def test_cancel_all_stops_running_and_pending_cells(client):
    sweep = Sweep(
        "demo/echo",
        base={"delay": 30},
        grid={"text": ["a", "b", "c", "d"]},
        client=client,
        max_concurrency=2,
    )
    job = sweep.start()
    deadline = time.monotonic() + 30
    while sum(c.prediction is not None for c in sweep.cells) < 2:
        assert time.monotonic() < deadline, "the first two never started"
        time.sleep(0.05)
    sweep.cancel_all().result(30)
    results = job.result(60)
    started = [p for p in results if p is not None]
    assert len(started) == 2
    assert {p.status for p in started} == {"canceled"}
    assert [c.error for c in sweep.cells[2:]] == ["not started: canceled"] * 2
    assert sweep.message == "0 of 4 succeeded; 2 canceled, 2 not started."
    assert "not started: canceled" in sweep.cell_headers[3]
    for p in started:
        assert client.predictions.get(p.id).status == "canceled"
    busy = Sweep("demo/echo", grid={"text": ["x"]}, base={"delay": 5}, client=client)
    job = busy.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            busy.start()
    finally:
        busy.cancel_all().result(30)
    job.result(60)


@pytest.mark.parametrize("retries", [4, 0], ids=["client-retries", "sweep-waits"])
def test_twenty_predictions_under_a_rate_limit_all_succeed(tmp_path, retries):
    # 5 creations per second, 429 with Retry-After beyond; 20 cells all at once.
    # With max_retries=0 every 429 reaches the sweep itself, which must wait too.
    transport = CountingTransport()
    with (
        serve(port=0, data_dir=tmp_path, rate_limit=5) as server,
        Client(base_url=server.url, max_retries=retries, transport=transport) as c,
    ):
        sweep = Sweep(
            "replicate/hello-world",
            grid={"text": [f"n{i}" for i in range(20)]},
            client=c,
            max_concurrency=20,
        )
        results = sweep.run(timeout=240)
        assert [c.error for c in sweep.cells] == [""] * 20
        assert [p.status for p in results] == ["succeeded"] * 20
        assert [p.output for p in results] == [f"hello n{i}" for i in range(20)]
        on_server = list(c.predictions.list())
        # none lost and none created twice
        assert sorted(p.id for p in on_server) == sorted(p.id for p in results)
    # the limit was really hit, so the waiting above was really exercised
    assert transport.throttled > 0


class CountingTransport(httpx.HTTPTransport):
    """The real HTTP transport, counting the 429s the server sends."""

    def __init__(self) -> None:
        super().__init__()
        self.throttled = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if response.status_code == 429:
            self.throttled += 1
        return response


def test_close_leaves_no_widget_open(client):
    """A Sweep that ran and a Compare close every model they made: panels, their
    media, and the Layout model ipywidgets gives every widget."""
    Compare(["demo/echo", "demo/text-stream"], client=client).close()  # warm
    before = open_widgets()
    sweep = Sweep(
        "demo/fractal",
        base={"width": 256, "height": 256},
        grid={"seed": [1, 2], "steps": [3, 4]},
        client=client,
    )
    sweep.run()
    cmp = Compare(["demo/echo", "demo/text-stream"], client=client)
    assert opened_since(before)
    sweep.close()
    cmp.close()
    assert opened_since(before) == {}
