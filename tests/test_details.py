"""Model details against the real local backend: the "Kept in" note."""

from __future__ import annotations

import re
import time
import uuid

import pytest

import replicate_widgets as rw
from replicate_widgets._client.errors import APIError
from replicate_widgets._widgets.catalog.model_html import runs_text
from replicate_widgets._widgets.loop import submit


@pytest.fixture
def url(local_backend) -> str:
    return local_backend.url


def _wait(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


# ------------------------------------------------------------- the kept note
def test_the_kept_note_is_short_and_names_its_run(url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REPLICATE_WIDGETS_OUTPUTS")  # the default folder, here
    pg = rw.Playground("replicate/hello-world", backend=url)
    first = pg.run(text="one")
    note = pg.note
    assert f"Kept in replicate-outputs/{first.id}" in note
    assert str(tmp_path) not in note  # no absolute server path


def test_the_kept_note_goes_when_another_run_starts(url, tmp_path):
    pg = rw.Playground("demo/echo", backend=url, keep=tmp_path / "kept")
    first = pg.run(text="one")
    assert first.id in pg.note
    job = submit(pg.arun(text="two", delay=1.0))
    _wait(lambda: pg.panel.prediction_id not in ("", first.id))
    assert pg.note == ""  # the old run's note does not sit under the new one
    second = job.result(60)
    assert second.id in pg.note
    assert first.id not in pg.note


def test_no_kept_note_in_voila_or_when_asked(url, tmp_path, monkeypatch):
    asked = rw.Playground(
        "replicate/hello-world", backend=url, keep=tmp_path / "a", kept_note=False
    )
    done = asked.run(text="quiet")
    assert asked.note == ""
    assert (tmp_path / "a" / done.id / "record.json").is_file()  # still kept

    monkeypatch.setenv("VOILA_KERNEL_ID", "0f3e")
    in_voila = rw.Playground("replicate/hello-world", backend=url, keep=tmp_path / "b")
    done = in_voila.run(text="page")
    assert in_voila.note == ""
    assert (tmp_path / "b" / done.id / "record.json").is_file()
    shown = rw.Playground(
        "replicate/hello-world", backend=url, keep=tmp_path / "c", kept_note=True
    )
    shown.run(text="asked for in Voila")
    assert "Kept in" in shown.note


# ----------------------------------------------------- the prediction's JSON
def test_the_panel_holds_the_finished_predictions_json_with_secrets_masked(
    url, tmp_path
):
    pg = rw.Playground("demo/text-stats", backend=url, keep=False)
    done = pg.run(text="One two. Three!", signing_key="sk-very-secret")
    raw = pg.panel.raw
    assert raw["id"] == done.id
    assert raw["status"] == "succeeded"
    assert raw["output"] == done.output
    assert raw["input"]["text"] == "One two. Three!"
    assert "sk-very-secret" not in str(raw)
    assert raw["input"]["signing_key"] == "**********"


def test_the_json_of_a_failed_run_and_a_long_data_uri(url):
    pg = rw.Playground("demo/echo", backend=url, keep=False)
    with pytest.raises(rw.ModelError):
        pg.run(text="x" * 10, fail=True)
    assert pg.panel.raw["status"] == "failed"
    assert "on purpose" in pg.panel.raw["error"]
    job = submit(pg.arun(text="data:text/plain," + "a" * 5000, delay=0.5, fail=False))
    _wait(lambda: pg.panel.status == "processing")
    assert pg.panel.raw == {}  # only a finished run's JSON is shown
    job.result(60)
    shown = pg.panel.raw["output"]
    assert shown.startswith("data:text/plain,… (")
    assert len(shown) < 100


# ----------------------------------------------------- the secondary widgets
TEXT = (
    "the cat sat on the mat and the dog sat on the log and the cat saw the dog "
) * 12


def test_short_ref_keeps_eight_digits_of_every_version_id():
    from replicate_widgets._client.checks import short_ref

    vid = "4a122accef1c4158bf39bd3e84374b70692d82c861c545dbc74c1970df72a8b6"
    assert short_ref(f"local/owl:{vid}") == "local/owl:4a122acc"
    assert short_ref(f"New version local/owl:{vid} is ready.") == (
        "New version local/owl:4a122acc is ready."
    )
    assert short_ref(vid) == "4a122acc"
    assert short_ref("abc" + vid) == "abc" + vid  # not a version id on its own
    assert short_ref("demo/echo") == "demo/echo"


def test_widgets_say_what_the_server_said_without_http_prefixes():
    from replicate_widgets._client.errors import NotFoundError
    from replicate_widgets._widgets.notices import plain_message

    exc = NotFoundError(
        404, "Not found", "Model a/b does not exist.", hint="Check the spelling"
    )
    assert str(exc).startswith("HTTP 404")  # tracebacks keep the status
    assert plain_message(exc) == "Model a/b does not exist. Check the spelling."


def test_a_successful_training_reads_as_a_success(local_backend, local_client):
    from replicate_widgets._widgets.catalog.trainer import Trainer

    name = f"owl-{uuid.uuid4().hex[:6]}"
    local_client.models.create("local", name, visibility="private", hardware="cpu")
    trainer = Trainer(
        "demo/text-stream", client=local_client, destination=f"local/{name}"
    )
    trainer.ready.result(60)
    header = trainer.header
    assert re.search(r"Train demo/text-stream:[0-9a-f]{8}<", header)
    assert "local backend" in header
    training = trainer.train(training_text=TEXT)
    assert training.status == "succeeded"
    version = trainer.result_version
    # No entry of the panel reads like a failure: the weights stay on the backend.
    kinds = [entry["kind"] for entry in trainer.panel.media]
    assert "missing" not in kinds
    assert kinds == ["remote"]
    assert trainer.panel.media[0]["inline"]  # shown as its URL in the output only
    assert trainer.panel.error == ""
    result = trainer.note
    assert f"New version local/{name}:{version.split(':')[1][:8]} is ready." in result
    assert f'title="{version}"' in result  # the whole id on hover
    # One Cancel per training: the panel's own (the Trainer's view has none).
    assert "cancel" not in trainer._actions


def test_a_missing_destination_is_explained_without_http_codes(local_client):
    from replicate_widgets._widgets.catalog.trainer import Trainer

    trainer = Trainer(
        "demo/text-stream", client=local_client, destination="local/not-there-at-all"
    )
    trainer.ready.result(60)
    with pytest.raises(ValueError, match="must exist before training"):
        trainer.train(training_text=TEXT)
    assert "HTTP" not in (trainer.error or "")
    assert "not-there-at-all" in (trainer.error or "")


def test_create_model_conflict_is_explained_without_http_codes(local_client):
    from replicate_widgets._widgets.catalog.create_model import CreateModel

    name = f"twice-{uuid.uuid4().hex[:6]}"
    form = CreateModel(client=local_client, name=name)
    form.ready.result(30)
    form.create()
    with pytest.raises(APIError) as raised:
        form.create()
    assert raised.value.status == 409
    message = form.message
    assert "HTTP" not in message
    assert "Pick another name" in message


def test_compare_shows_one_run_or_cancel_button_at_a_time(url, local_client):
    from replicate_widgets._widgets.compare.compare import Compare

    vid = local_client.models.get("demo/echo").latest_version["id"]
    cmp = Compare(
        ["demo/echo", f"demo/echo:{vid}"],
        input={"text": "hi", "delay": 1.0},
        client=local_client,
    )
    assert [c.label for c in cmp.cells] == ["demo/echo", f"demo/echo:{vid[:8]}"]
    assert "local backend" in cmp.header
    # busy disables Run all and enables Cancel all in the view (js/src/compare.ts)
    assert cmp.busy is False
    job = cmp.start()
    _wait(lambda: cmp.busy)
    job.result(60)
    _wait(lambda: not cmp.busy)

    plain = Compare(
        ["replicate/hello-world", "demo/echo"], input={"text": "x"}, client=local_client
    )
    # The panels name their models: no header above them says it again.
    assert plain.cell_headers == ["", ""]


# ---------------------------------------------------------- kept file names
def test_kept_outputs_keep_the_models_file_names(url, tmp_path):
    from PIL import Image

    Image.new("RGB", (16, 12), "teal").save(tmp_path / "in.png")
    flt = rw.Playground("demo/image-filter", backend=url, keep=tmp_path / "kept")
    done = flt.run(image=tmp_path / "in.png")
    assert done.output.endswith("/filtered.png")
    assert flt.panel.files[0].name == "filtered.png"  # the panel's download name
    assert (tmp_path / "kept" / done.id / "filtered.png").is_file()

    chip = rw.Playground("demo/chiptune", backend=url, keep=tmp_path / "kept")
    done = chip.run(notes=["C4", "E4"])
    assert chip.panel.files[0].name == "tune.wav"
    kept = (tmp_path / "kept" / done.id / "tune.wav").read_bytes()
    assert kept.startswith(b"RIFF")


def test_a_run_count_reads_as_english():
    assert runs_text(None) == ""
    assert runs_text(0) == "0 runs"
    assert runs_text(1) == "1 run"
    assert runs_text(1234) == "1,234 runs"
