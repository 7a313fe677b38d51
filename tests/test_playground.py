"""Playground against the real local backend: load, run, stream, fail, cancel."""

from __future__ import annotations

import asyncio
import json
import time

import ipywidgets
import pytest
from _widgets import open_widgets, opened_since
from PIL import Image

import replicate_widgets as rw
from replicate_widgets import ModelError, SchemaError
from replicate_widgets._widgets.playground.load import example_values

HELLO_VERSION = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"


@pytest.fixture
def url(local_backend) -> str:
    return local_backend.url


def test_hello_world_runs_and_the_form_shows_the_inputs(url):
    pg = rw.Playground("replicate/hello-world", backend=url)
    assert pg.error is None
    assert [f.name for f in pg.schema.inputs] == ["text"]
    prediction = pg.run(text="Alice")
    assert prediction.status == "succeeded"
    assert pg.output == "hello Alice"
    assert pg.prediction.id == prediction.id
    assert pg.form.values["text"] == "Alice"
    assert pg.panel.status == "succeeded"
    assert "local backend" in pg.header


def test_pinned_version_reference_and_version_object(url):
    pg = rw.Playground(f"replicate/hello-world:{HELLO_VERSION}", backend=url)
    assert pg.run(text="Bob").output == "hello Bob"
    with rw.Client(base_url=url) as client:
        version = client.versions.get("replicate/hello-world", HELLO_VERSION)
    by_object = rw.Playground(version, backend=url)
    assert by_object.run(text="Cy").output == "hello Cy"
    by_json = rw.Playground(version.raw, backend=url)
    assert by_json.run(text="Di").output == "hello Di"


def test_streamed_text_equals_the_predictions_output(url):
    pg = rw.Playground("demo/text-stream", backend=url)
    assert pg.schema.output.kind == "text-stream"
    prediction = pg.run(prompt="Alice was", max_tokens=30, seed=5)
    assert isinstance(prediction.output, list)
    assert len(prediction.output) > 1
    assert pg.output == "".join(prediction.output)
    assert pg.panel.text == pg.output


def test_iterator_images_become_pil_images(url):
    pg = rw.Playground("demo/fractal", backend=url)
    pg.run(steps=3, width=256, height=256)
    images = pg.output
    assert len(images) == len(pg.prediction.output) >= 2
    assert all(isinstance(im, Image.Image) for im in images)
    assert images[-1].size == (256, 256)
    assert pg.panel.progress.get("fraction") == pytest.approx(1.0)


def test_the_form_starts_with_the_models_default_example(url):
    # As on replicate.com: a new Playground can run at once.
    chip = rw.Playground("demo/chiptune", backend=url)
    assert chip.form.values["notes"] == ["C4", "E4", "G4", "C5", "G4", "E4", "C4"]
    assert chip.form.values["tempo"] == 200
    assert chip.run().status == "succeeded"
    # Given inputs win over the example's; the rest of the example stays.
    hello = rw.Playground("replicate/hello-world", backend=url)
    assert hello.run().output == "hello world"
    assert hello.run(text="Eve").output == "hello Eve"
    # Opted out, or pinned to a version (the example may be another version's).
    assert (
        "text"
        not in rw.Playground(
            "replicate/hello-world", backend=url, example=False
        ).form.values
    )
    pinned = rw.Playground(f"replicate/hello-world:{HELLO_VERSION}", backend=url)
    assert "text" not in pinned.form.values


def test_example_inputs_the_version_cannot_take_are_left_out():
    schema = rw.parse(
        {
            "components": {
                "schemas": {
                    "Input": {
                        "type": "object",
                        "required": ["prompt"],
                        "properties": {
                            "prompt": {"type": "string", "x-order": 0},
                            "steps": {"type": "integer", "maximum": 50, "x-order": 1},
                            "key": {
                                "type": "string",
                                "format": "password",
                                "x-cog-secret": True,
                                "x-order": 2,
                            },
                        },
                    }
                }
            }
        }
    )
    example = {"prompt": "a cat", "steps": 500, "key": "**********", "old": 1}
    assert example_values(example, schema) == {"prompt": "a cat"}
    assert example_values(None, schema) == {}


def test_a_failing_model_raises_model_error_with_its_logs(url):
    pg = rw.Playground("demo/echo", backend=url)
    with pytest.raises(ModelError) as info:
        pg.run(text="x", fail=True)
    assert info.value.prediction.status == "failed"
    assert "failed on purpose" in (info.value.prediction.error or "")
    assert "failing on purpose" in pg.panel.full_logs
    assert "failed on purpose" in pg.panel.error


def test_invalid_input_is_refused_before_any_request_and_not_kept(url):
    pg = rw.Playground("demo/echo", backend=url)
    before = [p.id for p in pg.client.predictions.list().results]
    shown = dict(pg.form.values)
    with pytest.raises(SchemaError, match="delay"):
        pg.run(delay=1000)
    assert [p.id for p in pg.client.predictions.list().results] == before
    # The failed call's values are not kept: the form is as it was before it...
    assert pg.form.values == shown
    assert pg.form.errors == {}
    # ...so the next call is judged on its own arguments only.
    assert pg.run(text="next").output == "next"


def test_a_mistyped_model_name_gets_the_closest_local_name(url):
    pg = rw.Playground("replicate/helo-world", backend=url)
    assert "Did you mean replicate/hello-world?" in pg.error
    assert "Did you mean" not in rw.Playground("stability-ai/sdxl", backend=url).error


def test_unknown_model_lists_the_local_ones_and_how_to_use_the_cloud(url):
    pg = rw.Playground("stability-ai/sdxl", backend=url)
    assert pg.form is None
    assert "replicate/hello-world" in pg.error
    assert "REPLICATE_API_TOKEN" in pg.error
    with pytest.raises(RuntimeError, match="not on the local backend"):
        pg.run(prompt="x")


@pytest.mark.parametrize("ref", ["", "hello-world", "a/b/c", "owner/name:notahash"])
def test_malformed_references_say_what_a_reference_looks_like(url, ref):
    pg = rw.Playground(ref, backend=url)
    assert pg.error is not None
    assert "owner/name" in pg.error


def test_unreachable_backend_is_explained_in_the_widget():
    pg = rw.Playground("replicate/hello-world", backend="http://127.0.0.1:9/v1")
    assert pg.form is None
    assert "127.0.0.1:9" in pg.error


def test_arun_and_cancel_stop_the_running_prediction(url):
    pg = rw.Playground("demo/echo", backend=url)

    async def scenario() -> ModelError:
        task = asyncio.ensure_future(pg.arun(text="slow", delay=30))
        deadline = time.monotonic() + 30
        while (pg.prediction is None or pg.prediction.status != "processing") and (
            time.monotonic() < deadline
        ):
            await asyncio.sleep(0.05)
        pg.cancel()
        with pytest.raises(ModelError) as info:
            await task
        return info.value

    error = asyncio.run(scenario())
    assert error.prediction.status == "canceled"
    assert pg.panel.status == "canceled"
    # The model's slot is free again: the next run does not wait for the old one.
    assert pg.run(text="next", delay=0).output == "next"


def test_finished_runs_are_kept_with_their_files(url, tmp_path):
    pg = rw.Playground("demo/fractal", backend=url, keep=tmp_path / "kept")
    prediction = pg.run(steps=2, width=256, height=256)
    folder = tmp_path / "kept" / prediction.id
    record = json.loads((folder / "record.json").read_text())
    assert record["id"] == prediction.id
    assert record["status"] == "succeeded"
    images = [f for f in record["files"] if f["mime"] == "image/png"]
    assert len(images) == len(prediction.output)
    assert all((folder / f["name"]).is_file() for f in images)
    assert str(folder) in pg.note


def test_keep_false_saves_nothing(url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pg = rw.Playground("replicate/hello-world", backend=url, keep=False)
    pg.run(text="nothing kept")
    assert pg.keeper is None
    assert not (tmp_path / "replicate-outputs").exists()


def test_copied_python_code_runs_and_gives_the_same_output(url):
    pg = rw.Playground("replicate/hello-world", backend=url, keep=False)
    pg.form.set(text='quotes " and \\ and\nnewlines')
    code = pg.code("python")
    assert url in code
    scope: dict[str, object] = {}
    exec(compile(code, "<copied>", "exec"), scope)  # noqa: S102 - the feature under test
    assert scope["output"] == 'hello quotes " and \\ and\nnewlines'
    pg.code_open = True
    assert set(pg.code_view.snippets) == {"python", "replicate", "javascript", "curl"}
    with pytest.raises(ValueError, match="not one of"):
        pg.code("cobol")


def test_secrets_never_appear_in_copied_code(url):
    pg = rw.Playground("demo/text-stats", backend=url, keep=False)
    secret = next(f.name for f in pg.schema.inputs if f.kind == "secret")
    pg.form.set(text="count these words", **{secret: "very-secret-value"})
    pg.code_open = True
    for snippet in pg.code_view.snippets.values():
        assert "very-secret-value" not in snippet
        assert secret.upper() in snippet


def test_share_embeds_the_finished_run(url):
    pg = rw.Playground("replicate/hello-world", backend=url, keep=False)
    with pytest.raises(RuntimeError, match="Nothing to share"):
        pg.share()
    pg.run(text="<script>alert(1)</script>")
    html = pg.share()._repr_html_()
    assert "hello &lt;script&gt;" in html
    assert "<script>" not in html


def test_playgrounds_in_a_row_share_it_equally_unless_told_otherwise(url):
    pg = rw.Playground("replicate/hello-world", backend=url)
    # A 0 % basis: in an HBox the shares do not depend on what each one shows.
    assert pg.layout.flex == "1 1 0%"
    mine = rw.Playground(
        "replicate/hello-world", backend=url, layout=ipywidgets.Layout(flex="2 1 0%")
    )
    assert mine.layout.flex == "2 1 0%"


def test_close_leaves_no_widget_open(url):
    """Every model a Playground made is closed by close(): its parts, their Layout
    models (ipywidgets makes one per widget), and the panel made before the schema
    was known; also when the model could not be loaded."""
    pg = rw.Playground("replicate/hello-world", backend=url)  # warm: imports, caches
    pg.close()
    before = open_widgets()
    pg = rw.Playground("demo/fractal", backend=url)
    pg.run(steps=3, width=256, height=256)
    assert opened_since(before)  # it did open widgets
    pg.close()
    assert opened_since(before) == {}
    failed = rw.Playground("nobody/nothing", backend=url)
    assert failed.error
    failed.close()
    assert opened_since(before) == {}
