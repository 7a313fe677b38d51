"""InputForm: the kernel side of the form, driven the way the browser drives it.

The browser talks to the widget through trait updates and custom messages; these
tests send the same messages (``_handle_custom_msg`` is what ipywidgets calls for a
message from the front end) and read the same traits, on real model schemas.
"""

from __future__ import annotations

import io
import json
import pathlib
from typing import Any

import pytest

from replicate_widgets._schema.model_schema import parse
from replicate_widgets._schema.types import SchemaError
from replicate_widgets._widgets.form import InputForm

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


def load(name: str) -> dict[str, Any]:
    for folder in ("schemas", "cog-golden"):
        path = FIXTURES / folder / f"{name}.json"
        if path.exists():
            return json.loads(path.read_text())
    raise FileNotFoundError(name)


def from_browser(
    form: InputForm, content: dict[str, Any], buffers: list[bytes] | None = None
):
    form._handle_custom_msg(content, [memoryview(b) for b in buffers or []])


def browser_sets(form: InputForm, **changes: Any) -> None:
    """What a debounced save from the browser does: replace `values` wholesale."""
    form.values = {**form.values, **changes}


@pytest.fixture
def sdxl() -> InputForm:
    return InputForm(load("stability-ai__sdxl"))


def test_fields_follow_x_order_and_defaults_fill_values(sdxl):
    names = [f["name"] for f in sdxl.fields]
    assert names[:4] == ["prompt", "negative_prompt", "image", "mask"]
    orders = [f["x_order"] for f in sdxl.fields]
    assert orders == sorted(orders)
    assert sdxl.values["width"] == 1024
    assert sdxl.values["guidance_scale"] == 7.5
    assert "seed" not in sdxl.values  # optional, no default: not set, not sent
    assert sdxl.valid
    assert sdxl.errors == {}
    json.dumps(sdxl.fields)  # the trait must be plain JSON for the browser


def test_accepts_a_parsed_schema_and_the_largest_fixtures():
    schema = parse(load("cjwbw__vq-diffusion"), component="Input")
    form = InputForm(schema)
    assert form.schema is schema
    big = [f for f in form.fields if f["choices"] and len(f["choices"]) == 1001]
    assert len(big) == 1
    assert len(InputForm(load("nightmareai__disco-diffusion")).fields) == 43


def test_rejects_what_is_not_a_schema():
    with pytest.raises(TypeError, match="openapi_schema"):
        InputForm("stability-ai/sdxl")  # type: ignore[arg-type]


def test_values_validate_on_every_change(sdxl):
    browser_sets(sdxl, num_outputs=9)
    assert set(sdxl.errors) == {"num_outputs"}
    assert not sdxl.valid
    browser_sets(sdxl, num_outputs=2)
    assert sdxl.errors == {}


def test_set_checks_names_and_none_unsets(sdxl):
    sdxl.set(prompt="an owl", seed=7)
    assert sdxl.values["prompt"] == "an owl"
    assert sdxl.values["seed"] == 7
    sdxl.set(seed=None)
    assert "seed" not in sdxl.values
    with pytest.raises(KeyError, match="guidance_scale"):
        sdxl.set(guidance=3)


def test_to_input_sends_only_set_values(sdxl):
    sdxl.set(prompt="an owl")
    inputs = sdxl.to_input()
    assert inputs["prompt"] == "an owl"
    assert "seed" not in inputs
    assert inputs["num_inference_steps"] == 50


def test_to_input_refuses_invalid_values_with_every_problem(sdxl):
    sdxl.set(num_outputs=9, prompt_strength=3.0)
    with pytest.raises(SchemaError) as err:
        sdxl.to_input()
    assert "num_outputs" in str(err.value)
    assert "prompt_strength" in str(err.value)


def test_browser_file_upload_reaches_the_kernel_as_bytes(sdxl):
    marker = {
        "__file__": "rw-file-1",
        "name": "cat.png",
        "size": len(PNG),
        "type": "image/png",
    }
    from_browser(sdxl, {"kind": "file", "field": "image", **marker}, [PNG])
    browser_sets(sdxl, image=marker)
    assert sdxl.errors == {}
    sent = sdxl.to_input()["image"]
    assert isinstance(sent, io.BytesIO)
    assert sent.read() == PNG
    assert sent.name == "cat.png"
    # The trait (what a saved notebook keeps) holds the marker only.
    assert "PNG" not in json.dumps(sdxl.get_state()["values"])


def test_a_marker_without_bytes_asks_to_choose_the_file_again(sdxl):
    # E.g. a notebook reopened with its saved widget state: the bytes are gone.
    browser_sets(
        sdxl,
        image={"__file__": "gone", "name": "cat.png", "size": 3, "type": "image/png"},
    )
    assert "Choose the file again" in sdxl.errors["image"]


def test_uploads_nothing_refers_to_are_dropped(sdxl):
    marker = {"__file__": "f1", "name": "a.png", "size": len(PNG), "type": "image/png"}
    from_browser(sdxl, {"kind": "file", "field": "image", **marker}, [PNG])
    browser_sets(sdxl, image=marker)
    browser_sets(sdxl, image="https://example.com/b.png")
    assert sdxl._store.uploads == {}
    assert sdxl.to_input()["image"] == "https://example.com/b.png"


def test_set_takes_paths_bytes_and_file_objects(sdxl, tmp_path):
    path = tmp_path / "mask.png"
    path.write_bytes(PNG)
    sdxl.set(image=PNG, mask=path)
    assert sdxl.values["mask"]["name"] == "mask.png"
    assert sdxl.values["mask"]["type"] == "image/png"
    inputs = sdxl.to_input()
    assert inputs["image"].read() == PNG
    assert inputs["mask"].read() == PNG
    with path.open("rb") as fh:
        sdxl.set(image=fh)
    assert sdxl.values["image"]["name"] == "mask.png"
    with pytest.raises(TypeError, match=r"pathlib\.Path"):
        sdxl.set(image=3.5)


def test_secrets_never_enter_a_trait():
    form = InputForm(load("output_secret"))
    assert "x" in form.errors  # required, not given yet
    from_browser(
        form, {"kind": "secret", "field": "x", "key": "k1", "value": "r8_hush"}
    )
    browser_sets(form, x={"__secret__": "k1"})
    assert form.errors == {}
    assert "r8_hush" not in json.dumps(form.get_state())
    assert "r8_hush" not in repr(form)
    assert form.to_input() == {"x": "r8_hush"}
    # Emptying the box forgets it.
    from_browser(form, {"kind": "secret", "field": "x", "key": "k1", "value": ""})
    form.values = {}
    assert form._store.secrets == {}
    form.set(x="r8_from_python")
    assert "r8_from_python" not in json.dumps(form.get_state())
    assert form.to_input() == {"x": "r8_from_python"}


def test_a_stale_secret_marker_asks_for_the_secret_again():
    form = InputForm(load("output_secret"))
    form.values = {"x": {"__secret__": "from-a-saved-notebook"}}
    assert "Enter the secret again" in form.errors["x"]


def test_submit_runs_callbacks_only_when_valid(sdxl):
    seen: list[dict[str, Any]] = []
    sdxl.on_submit(seen.append)
    browser_sets(sdxl, num_outputs=9)
    from_browser(sdxl, {"kind": "submit"})
    assert seen == []
    assert "fix" in sdxl.message.lower()
    browser_sets(sdxl, num_outputs=1, prompt="a fox")
    from_browser(sdxl, {"kind": "submit"})
    assert len(seen) == 1
    assert seen[0]["prompt"] == "a fox"
    assert sdxl.message == ""
    sdxl.busy = True
    assert sdxl.submit() is False
    sdxl.busy = False
    sdxl.on_submit(seen.append, remove=True)
    assert sdxl.submit() is True
    assert len(seen) == 1


def test_submit_runs_the_values_it_carries_before_the_late_save(sdxl):
    """marimo can deliver the view's value save after its submit message: the
    submit carries the values the person saw, and those are the ones run."""
    seen: list[dict[str, Any]] = []
    sdxl.on_submit(seen.append)
    browser_sets(sdxl, prompt="an old prompt")
    shown = {**sdxl.values, "prompt": "what was typed", "num_outputs": 2}
    from_browser(sdxl, {"kind": "submit", "values": shown})
    assert [s["prompt"] for s in seen] == ["what was typed"]
    assert seen[0]["num_outputs"] == 2
    assert sdxl.values == shown  # the kernel now holds what the view shows
    browser_sets(sdxl, **shown)  # the late save changes nothing
    assert sdxl.values == shown


def test_carried_values_are_checked_like_a_save(sdxl):
    seen: list[dict[str, Any]] = []
    sdxl.on_submit(seen.append)
    bad = {**sdxl.values, "num_outputs": 9, "promt": "typo"}
    from_browser(sdxl, {"kind": "submit", "values": bad})
    assert seen == []
    assert set(sdxl.errors) == {"num_outputs", "promt"}
    assert "fix" in sdxl.message.lower()
    # Anything but a dict of values is ignored: the run takes what the kernel has.
    browser_sets(sdxl, num_outputs=1, prompt="a fox")
    sdxl.values = {k: v for k, v in sdxl.values.items() if k != "promt"}
    from_browser(sdxl, {"kind": "submit", "values": ["not", "a", "dict"]})
    assert [s["prompt"] for s in seen] == ["a fox"]


def test_a_failing_callback_is_reported_in_the_form(sdxl):
    def boom(_inputs: dict[str, Any]) -> None:
        raise RuntimeError("no backend")

    sdxl.on_submit(boom)
    assert sdxl.submit() is True
    assert "RuntimeError: no backend" in sdxl.message


def test_reset_restores_defaults_and_forgets_uploads(sdxl):
    sdxl.set(prompt="changed", image=PNG, seed=3)
    from_browser(sdxl, {"kind": "reset"})
    assert (
        sdxl.values == parse(load("stability-ai__sdxl"), component="Input").defaults()
    )
    assert sdxl._store.uploads == {}


def test_hostile_messages_are_ignored(sdxl):
    before = dict(sdxl.values)
    for content in (
        {"kind": "file", "__file__": 3, "name": "x"},
        {"kind": "file", "__file__": "a", "name": "x"},  # no buffer
        {"kind": "secret", "key": None, "value": "v"},
        {"kind": "nonsense"},
    ):
        from_browser(sdxl, content)
    from_browser(sdxl, "not a dict")  # type: ignore[arg-type]
    assert sdxl.values == before
    assert sdxl._store.uploads == {}
    assert sdxl._store.secrets == {}


def test_unknown_value_keys_are_reported(sdxl):
    browser_sets(sdxl, promt="typo")
    assert "Did you mean prompt" in sdxl.errors["promt"]


def test_constructor_values_and_labels():
    form = InputForm(load("stability-ai__sdxl"), submit_label="Generate", prompt="hi")
    assert form.values["prompt"] == "hi"
    assert form.submit_label == "Generate"
    assert repr(form) == "InputForm(19 inputs, valid)" or repr(form).startswith(
        "InputForm("
    )


def test_arrays_of_files_take_a_list():
    form = InputForm(load("paths"))
    form.set(p1="https://example.com/a.txt", ps=[PNG, "https://example.com/b.txt"])
    first = form.values["ps"][0]
    assert first["__file__"].startswith("py-")
    sent = form.to_input()["ps"]
    assert sent[0].read() == PNG
    assert sent[1] == "https://example.com/b.txt"
    with pytest.raises(TypeError, match="list of files"):
        form.set(ps="https://example.com/a.txt")


def test_training_inputs_and_broken_documents():
    form = InputForm(load("stability-ai__sdxl"), component="TrainingInput")
    assert "input_images" in [f["name"] for f in form.fields]
    with pytest.raises(SchemaError):
        InputForm({"components": {"schemas": {}}})


def test_the_synced_state_is_plain_json_for_every_fixture():
    for path in sorted((FIXTURES / "schemas").glob("*.json")):
        form = InputForm(json.loads(path.read_text()))
        state = form.get_state()
        json.dumps(
            {k: state[k] for k in ("fields", "values", "errors")}, allow_nan=False
        )
        # Defaults are valid: the only problems at the start are required, empty inputs.
        needed = {
            f["name"] for f in form.fields if f["required"] and not f["has_default"]
        }
        assert set(form.errors) <= needed, (path.name, form.errors)


def test_lists_of_secrets_set_from_python_stay_out_of_traits():
    doc = {
        "components": {
            "schemas": {
                "Input": {
                    "type": "object",
                    "properties": {
                        "keys": {
                            "type": "array",
                            "items": {
                                "type": "string",
                                "format": "password",
                                "x-cog-secret": True,
                            },
                            "title": "Keys",
                            "x-order": 0,
                        }
                    },
                }
            }
        }
    }
    form = InputForm(doc)
    form.set(keys=["r8_one", "r8_two"])
    assert "r8_" not in json.dumps(form.get_state())
    assert form.to_input() == {"keys": ["r8_one", "r8_two"]}
