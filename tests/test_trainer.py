"""Trainer driven through its Python API against the real local backend.

The bundled ``demo/text-stream`` trains a Markov chain in a moment; a slow trainer
(``tests/integration/models/slow-trainer``, an ordinary Cog predictor with
``train()``) gives cancel, close and interrupts something to stop.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _widgets import open_widgets, opened_since

from replicate_widgets._client.client import Client
from replicate_widgets._schema.types import SchemaError
from replicate_widgets._widgets.catalog.create_model import CreateModel
from replicate_widgets._widgets.catalog.trainer import Trainer
from replicate_widgets._widgets.catalog.training_source import TrainingSource
from replicate_widgets.server import LocalServer, serve
from tests._stopping_support import interrupt_after, interrupt_when_busy

BUNDLED = Path(__file__).parents[1] / "replicate_widgets" / "server" / "models"
TEXT = (
    "the cat sat on the mat and the dog sat on the log and the cat saw the dog "
    "and the dog saw the cat on the mat by the log "
) * 10

SLOW = Path(__file__).parent / "integration" / "models" / "slow-trainer"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    data = tmp_path_factory.mktemp("trainer")
    models = [BUNDLED / "hello-world", BUNDLED / "text-stream", SLOW]
    with serve(port=0, models=models, bundled=False, data_dir=data) as s:
        yield s


@pytest.fixture
def client(server: LocalServer) -> Iterator[Client]:
    with Client(base_url=server.url) as c:
        yield c


def new_model(client: Client) -> str:
    name = f"chain-{uuid.uuid4().hex[:8]}"
    client.models.create("local", name, visibility="private", hardware="cpu")
    return f"local/{name}"


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_builds_the_training_form_from_training_input(client: Client) -> None:
    trainer = Trainer("demo/text-stream", client=client)
    trainer.ready.result(60)
    assert trainer.error is None
    assert trainer.form is not None
    assert [f["name"] for f in trainer.form.fields] == ["training_text", "order"]
    assert trainer.form.submit_label == "Train"
    assert trainer.version_ref
    assert trainer.version_ref.startswith("demo/text-stream:")


def test_offers_the_models_you_own_as_destinations(client: Client) -> None:
    dest = new_model(client)
    trainer = Trainer("demo/text-stream", client=client)
    trainer.ready.result(60)
    assert dest in trainer.destinations
    assert "demo/text-stream" not in trainer.destinations  # not yours


def test_trains_a_new_version_and_opens_it_in_a_playground(client: Client) -> None:
    dest = new_model(client)
    trainer = Trainer("demo/text-stream", client=client, destination=dest)
    trainer.ready.result(60)
    training = trainer.train(training_text=TEXT, order=1)
    assert training.status == "succeeded", training.error
    version = trainer.result_version
    assert version
    assert version.startswith(f"{dest}:")
    assert trainer.panel.status == "succeeded"
    assert "learned" in trainer.panel.full_logs
    assert version in trainer.note
    assert trainer.can_open  # "Open in Playground" is offered
    assert training.id in [t.id for t in trainer.trainings]
    assert client.models.get(dest).latest_version["id"] == version.split(":")[1]

    playground = trainer.open_playground().result(120)
    assert trainer.parts["playground"] is playground
    assert trainer.stage == ""  # the "Opening…" line is gone
    result = playground.run(prompt="the", max_tokens=8, seed=3, delay=0)
    words = set(TEXT.split())
    assert set(playground.output.split()) <= words, playground.output
    assert result.status == "succeeded"


def test_destination_is_checked_before_any_request(client: Client) -> None:
    trainer = Trainer("demo/text-stream", client=client)
    trainer.ready.result(60)
    before = len(client.trainings.list().results)
    with pytest.raises(ValueError, match="Choose a destination"):
        trainer.start(training_text=TEXT).result(10)
    trainer.destination = "local/Bad Name"
    with pytest.raises(ValueError, match="lowercase"):
        trainer.start(training_text=TEXT).result(10)
    assert "lowercase" in trainer.message
    assert len(client.trainings.list().results) == before


def test_a_missing_destination_says_create_it(client: Client) -> None:
    trainer = Trainer("demo/text-stream", client=client, destination="local/not-made")
    trainer.ready.result(60)
    with pytest.raises(ValueError, match="must exist before training"):
        trainer.start(training_text=TEXT).result(60)
    assert "New model" in trainer.message
    assert not trainer.form.busy


def test_invalid_training_input_is_refused_by_the_form(client: Client) -> None:
    trainer = Trainer("demo/text-stream", client=client, destination=new_model(client))
    trainer.ready.result(60)
    with pytest.raises(SchemaError):
        trainer.start(order=9)  # training_text missing, order above 4


def test_a_model_without_train_is_explained(client: Client) -> None:
    trainer = Trainer("replicate/hello-world", client=client)
    trainer.ready.result(60)
    assert trainer.form is None
    assert "cannot be trained" in (trainer.error or "")
    assert "demo/text-stream is trainable" in trainer.message


def test_bad_references_are_explained(client: Client) -> None:
    for ref, needle in [("not a ref", "not a model reference"), ("x/y", "x/y")]:
        trainer = Trainer(ref, client=client)
        trainer.ready.result(60)
        assert needle in (trainer.error or ""), trainer.error


def test_cancel_stops_a_running_training_and_logs_stream(client: Client) -> None:
    dest = new_model(client)
    trainer = Trainer("test/slow-trainer", client=client, destination=dest)
    trainer.ready.result(60)
    job = trainer.start(steps=300)
    wait_for(lambda: "step 3" in trainer.panel.full_logs)  # logs arrive while running
    assert trainer.panel.status == "processing"  # the panel offers its Cancel
    trainer.cancel().result(30)
    final = job.result(60)
    assert final.status == "canceled"
    assert trainer.result_version is None
    assert "canceled" in trainer.note
    assert trainer.panel.status == "canceled"


def test_follows_a_training_picked_from_the_list(client: Client) -> None:
    dest = new_model(client)
    version = client.models.get("demo/text-stream").latest_version["id"]
    made = client.trainings.create(
        f"demo/text-stream:{version}", destination=dest, input={"training_text": TEXT}
    )
    trainer = Trainer("demo/text-stream", client=client)
    trainer.ready.result(60)
    trainings = trainer.refresh_trainings().result(30)
    assert made.id in [t.id for t in trainings]
    final = trainer.follow(made.id).result(60)
    assert final.status == "succeeded"
    assert trainer.result_version
    assert trainer.result_version.startswith(dest)


def test_new_model_button_creates_the_destination(client: Client) -> None:
    trainer = Trainer("demo/text-stream", client=client)
    trainer.ready.result(60)
    assert not trainer.create_open
    trainer._actions["new_model"](None)  # the view's "New model…" button
    assert trainer.create_open
    form = trainer.parts["create"]
    assert isinstance(form, CreateModel)
    assert form is trainer.create_form
    form.ready.result(30)
    name = f"made-{uuid.uuid4().hex[:6]}"
    form.create(name=name)
    assert trainer.destination == f"local/{name}"
    assert f"local/{name}" in trainer.destinations
    assert not trainer.create_open  # the form folds away once done
    assert f"Created local/{name}" in trainer.message
    # Opened again, it is empty for the next model (owner and hardware stay).
    trainer._actions["new_model"](None)
    assert trainer.create_open
    assert form.values["name"] == ""
    assert form.values["owner"] == "local"
    assert form.message == ""
    assert form.summary == ""
    assert form.notes["name"] == ""  # not shouted at before typing


def test_training_source_never_downloads_weights(client: Client) -> None:
    source = TrainingSource(client)
    with pytest.raises(RuntimeError, match="not downloaded"):
        source.read("http://127.0.0.1:1/weights.tar")


def test_accepts_a_model_object_and_a_pinned_version(client: Client) -> None:
    model = client.models.get("demo/text-stream")
    by_model = Trainer(model, client=client)
    by_model.ready.result(60)
    assert by_model.form is not None
    pinned = f"demo/text-stream:{model.latest_version['id']}"
    by_ref = Trainer(pinned, client=client)
    by_ref.ready.result(60)
    assert by_ref.version_ref == pinned


def test_every_part_is_an_anywidget(client: Client) -> None:
    """Nothing in a Trainer is an ipywidgets core widget (marimo shows only
    anywidgets): its parts, and theirs, all the way down."""
    import anywidget

    from replicate_widgets._widgets.composite import Composite

    dest = new_model(client)
    trainer = Trainer("demo/text-stream", client=client, destination=dest)
    trainer.ready.result(60)
    trainer.train(training_text=TEXT, order=1)
    trainer.open_playground().result(120)
    assert set(trainer.parts) == {"form", "panel", "create", "playground"}
    seen, stack = [], [trainer]
    while stack:
        widget = stack.pop()
        assert isinstance(widget, anywidget.AnyWidget), type(widget)
        seen.append(type(widget).__name__)
        if isinstance(widget, Composite):
            stack.extend(widget.own_parts())
    assert {"Trainer", "CreateModel", "InputForm", "PredictionPanel"} <= set(seen)
    assert "Playground" in seen
    trainer.close()


def test_what_the_view_sends_is_checked(client: Client) -> None:
    import traitlets

    trainer = Trainer("demo/text-stream", client=client, destination="local/x")
    trainer.ready.result(60)
    with pytest.raises(traitlets.TraitError):
        trainer.destination_text = "a" * 10_000
    with pytest.raises(traitlets.TraitError):
        trainer.destination_text = 5  # type: ignore[assignment]
    assert trainer.destination == "local/x"
    trainer.destination_text = "  local/typed  "  # as typed, spaces and all
    assert trainer.destination == "local/typed"
    # Only ids from the list are followed.
    trainer._actions["follow"]("../../etc")
    trainer._actions["follow"]({"id": 1})
    assert trainer.training is None


def test_an_interrupted_train_cancels_the_training(client: Client) -> None:
    import signal
    import threading

    from replicate_widgets._client.errors import is_run_interrupted

    dest = new_model(client)
    trainer = Trainer("test/slow-trainer", client=client, destination=dest)
    trainer.ready.result(60)

    def interrupt_once_running() -> None:
        wait_for(lambda: "step 2" in trainer.panel.full_logs)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    watcher = threading.Thread(target=interrupt_once_running, daemon=True)
    watcher.start()
    with pytest.raises(KeyboardInterrupt) as info:
        trainer.train(steps=300)
    watcher.join()
    error = info.value
    assert type(error) is KeyboardInterrupt
    assert is_run_interrupted(error)
    (tid,) = error.prediction_ids
    assert str(error) == f"Interrupted: canceled training {tid}."
    assert error.__cause__ is None
    assert error.__suppress_context__
    assert client.trainings.get(tid).status == "canceled"
    assert trainer.panel.status == "canceled"
    assert not trainer.form.busy


def test_an_interrupt_right_after_the_training_was_handed_over_cancels_it(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl-C can land on any line of train(): here just after the training went
    # to the widgets' loop and before train() waits for it.
    from replicate_widgets._client.errors import is_run_interrupted

    trainer = Trainer("test/slow-trainer", client=client, destination=new_model(client))
    trainer.ready.result(60)
    interrupt_after(monkeypatch, trainer, "_begin")
    with pytest.raises(KeyboardInterrupt) as info:
        trainer.train(steps=300)
    assert is_run_interrupted(info.value)
    (tid,) = info.value.prediction_ids
    assert final_status(client, tid) == "canceled"


def test_an_interrupt_before_the_training_was_handed_over_frees_the_form(
    client: Client,
) -> None:
    # Ctrl-C just after the form went busy, before the loop had the training:
    # nothing was started, and the form must not stay busy (its button off).
    from replicate_widgets._client.errors import is_run_interrupted

    dest = new_model(client)
    trainer = Trainer("test/slow-trainer", client=client, destination=dest)
    trainer.ready.result(60)
    with interrupt_when_busy(trainer.form), pytest.raises(KeyboardInterrupt) as info:
        trainer.train(steps=300)
    assert not is_run_interrupted(info.value)  # nothing to cancel
    assert trainer.form.busy is False
    made = [t for t in client.trainings.list().results if t.destination == dest]
    assert made == []


def test_close_leaves_no_widget_open(client: Client) -> None:
    """A Trainer that trained and opened a Playground closes all of it."""
    dest = new_model(client)
    before = open_widgets()
    trainer = Trainer("demo/text-stream", client=client, destination=dest)
    trainer.ready.result(60)
    trainer.train(training_text=TEXT, order=1)
    trainer.open_playground().result(120)
    assert opened_since(before)
    trainer.close()
    assert opened_since(before) == {}


def running_training(trainer: Trainer, client: Client) -> str:
    """Press Train for a long training; its id once it logs (it runs then)."""
    trainer.start(steps=300)
    wait_for(lambda: "step 2" in trainer.panel.full_logs)
    tid = trainer.followed
    assert client.trainings.get(tid).status == "processing"
    return tid


def final_status(client: Client, tid: str, timeout: float = 60.0) -> str:
    terminal = {"succeeded", "failed", "canceled"}
    wait_for(lambda: client.trainings.get(tid).status in terminal, timeout)
    return client.trainings.get(tid).status


def test_closing_a_trainer_cancels_its_running_training(client: Client) -> None:
    """A closed Trainer cannot show or stop its training any more: it stops it
    (on Replicate a training nobody watches is still billed)."""
    trainer = Trainer("test/slow-trainer", client=client, destination=new_model(client))
    trainer.ready.result(60)
    tid = running_training(trainer, client)
    trainer.close()
    assert final_status(client, tid) == "canceled"


def test_closing_a_keep_running_trainer_leaves_it_running(client: Client) -> None:
    dest = new_model(client)
    trainer = Trainer(
        "test/slow-trainer", client=client, destination=dest, keep_running=True
    )
    trainer.ready.result(60)
    tid = running_training(trainer, client)
    trainer.close()
    time.sleep(1.0)  # what close() would have sent has arrived by now
    assert client.trainings.get(tid).status == "processing"
    client.trainings.cancel(tid)
    assert final_status(client, tid) == "canceled"


def test_a_trainer_whose_views_left_the_page_cancels_its_training(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import replicate_widgets._widgets.panel.panel as _panel

    monkeypatch.setattr(_panel, "VIEWS_GONE_AFTER", 0.2)
    trainer = Trainer("test/slow-trainer", client=client, destination=new_model(client))
    trainer.ready.result(60)
    panel = trainer.panel
    # What the panel's views send (js/src/shared/connection.ts).
    panel._on_message(panel, {"kind": "view", "view": "a", "open": True}, [])
    tid = running_training(trainer, client)
    panel._on_message(panel, {"kind": "view", "view": "a", "open": False}, [])
    assert final_status(client, tid) == "canceled"
    # Once the widget has seen the end, it still says why it stopped it (it
    # used to say only "The training ended: canceled.").
    wait_for(lambda: "Canceled the training: its output was cleared." in trainer.note)
    assert trainer.training is not None
    assert trainer.training.status == "canceled"


def test_an_interrupted_keep_running_train_leaves_it_running(client: Client) -> None:
    import signal
    import threading

    dest = new_model(client)
    trainer = Trainer(
        "test/slow-trainer", client=client, destination=dest, keep_running=True
    )
    trainer.ready.result(60)

    def interrupt_once_running() -> None:
        wait_for(lambda: "step 2" in trainer.panel.full_logs)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    watcher = threading.Thread(target=interrupt_once_running, daemon=True)
    watcher.start()
    with pytest.raises(KeyboardInterrupt, match="keeps running") as info:
        trainer.train(steps=300)
    watcher.join()
    (tid,) = info.value.prediction_ids
    assert client.trainings.get(tid).status == "processing"
    trainer.cancel().result(30)
    assert final_status(client, tid) == "canceled"
