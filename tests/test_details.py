"""Details of issue #13 against the real local backend: the "Kept in" note."""

from __future__ import annotations

import time

import pytest

import replicate_widgets as rw
from replicate_widgets._loop import submit


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
    note = pg._note.value
    assert f"Kept in replicate-outputs/{first.id}" in note
    assert str(tmp_path) not in note  # no absolute server path


def test_the_kept_note_goes_when_another_run_starts(url, tmp_path):
    pg = rw.Playground("demo/echo", backend=url, keep=tmp_path / "kept")
    first = pg.run(text="one")
    assert first.id in pg._note.value
    job = submit(pg.arun(text="two", delay=1.0))
    _wait(lambda: pg.panel.prediction_id not in ("", first.id))
    assert pg._note.value == ""  # the old run's note does not sit under the new one
    second = job.result(60)
    assert second.id in pg._note.value
    assert first.id not in pg._note.value


def test_no_kept_note_in_voila_or_when_asked(url, tmp_path, monkeypatch):
    asked = rw.Playground(
        "replicate/hello-world", backend=url, keep=tmp_path / "a", kept_note=False
    )
    done = asked.run(text="quiet")
    assert asked._note.value == ""
    assert (tmp_path / "a" / done.id / "record.json").is_file()  # still kept

    monkeypatch.setenv("VOILA_KERNEL_ID", "0f3e")
    in_voila = rw.Playground("replicate/hello-world", backend=url, keep=tmp_path / "b")
    done = in_voila.run(text="page")
    assert in_voila._note.value == ""
    assert (tmp_path / "b" / done.id / "record.json").is_file()
    shown = rw.Playground(
        "replicate/hello-world", backend=url, keep=tmp_path / "c", kept_note=True
    )
    shown.run(text="asked for in Voila")
    assert "Kept in" in shown._note.value


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
