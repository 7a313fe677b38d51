"""`ModelSchema.validate` messages and `ModelSchema.to_input` bodies."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from replicate_widgets.schema import ModelSchema, SchemaError, parse

FIXTURES = Path(__file__).parent / "fixtures"
FILE_MESSAGE = "must be a URL, a data: URI or an existing file"


def load(name: str) -> ModelSchema:
    with (FIXTURES / f"{name}.json").open(encoding="utf-8") as fh:
        return parse(json.load(fh))


@pytest.fixture(scope="module")
def sdxl() -> ModelSchema:
    return load("schemas/stability-ai__sdxl")


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({"num_outputs": 5}, {"num_outputs": "must be at most 4"}),
        ({"num_outputs": 0}, {"num_outputs": "must be at least 1"}),
        ({"guidance_scale": 50.5}, {"guidance_scale": "must be at most 50"}),
        ({"lora_scale": -0.1}, {"lora_scale": "must be at least 0"}),
        ({"width": 1.5}, {"width": "must be a whole number"}),
        ({"width": True}, {"width": "must be a whole number"}),
        ({"width": "1024"}, {"width": "must be a whole number"}),
        ({"guidance_scale": "7"}, {"guidance_scale": "must be a number"}),
        ({"apply_watermark": 1}, {"apply_watermark": "must be true or false"}),
        ({"prompt": 3}, {"prompt": "must be text"}),
        (
            {"refine": "best"},
            {
                "refine": 'choose one of "no_refiner", "expert_ensemble_refiner", '
                '"base_image_refiner"'
            },
        ),
        ({"image": "picture.png"}, {"image": FILE_MESSAGE}),
        ({"image": "ftp://example.com/a.png"}, {"image": FILE_MESSAGE}),
    ],
)
def test_messages_are_human(
    sdxl: ModelSchema, values: dict[str, Any], errors: dict[str, str]
) -> None:
    assert sdxl.validate(values) == errors


@pytest.mark.parametrize(
    "value",
    [
        1024,
        1024.0,  # JSON does not tell 1024 from 1024.0
    ],
)
def test_integers_accept_integral_floats(sdxl: ModelSchema, value: Any) -> None:
    assert sdxl.validate({"width": value}) == {}
    assert sdxl.to_input({"width": value}) == {"width": 1024}
    assert type(sdxl.to_input({"width": value})["width"]) is int


def test_numbers_are_sent_as_given(sdxl: ModelSchema) -> None:
    assert sdxl.validate({"guidance_scale": 7}) == {}
    body = sdxl.to_input({"guidance_scale": 7})
    assert body == {"guidance_scale": 7}
    assert type(body["guidance_scale"]) is int


@pytest.mark.parametrize(
    "value",
    [
        "https://example.com/cat.png",
        "http://127.0.0.1:5000/files/abc",
        "data:image/png;base64,iVBORw0KGgo=",
        "data:,hello",
        b"\x89PNG\r\n",
        bytearray(b"abc"),
        io.BytesIO(b"abc"),
    ],
)
def test_file_inputs_take_urls_data_uris_bytes_and_open_files(
    sdxl: ModelSchema, value: Any
) -> None:
    assert sdxl.validate({"image": value}) == {}
    # the client converts files; the schema layer passes them through untouched
    assert sdxl.to_input({"image": value})["image"] is value


def test_file_inputs_take_existing_local_paths(
    sdxl: ModelSchema, tmp_path: Path
) -> None:
    picture = tmp_path / "cat.png"
    picture.write_bytes(b"\x89PNG\r\n")
    assert sdxl.validate({"image": picture}) == {}
    assert sdxl.validate({"image": str(picture)}) == {}
    assert sdxl.to_input({"image": picture}) == {"image": picture}
    assert sdxl.validate({"image": tmp_path / "dog.png"}) == {"image": FILE_MESSAGE}
    assert sdxl.validate({"image": tmp_path}) == {"image": FILE_MESSAGE}


def test_lists_of_files_are_checked_item_by_item(tmp_path: Path) -> None:
    schema = load("cog-golden/paths")
    local = tmp_path / "a.txt"
    local.write_text("a")
    values = {"p1": local, "ps": ["https://example.com/a", local, b"raw"]}
    assert schema.validate(values) == {}
    assert schema.validate({"p1": local, "ps": ["data:,a", "missing.txt"]}) == {
        "ps": f"item 2: {FILE_MESSAGE}"
    }


def test_list_items_are_typed() -> None:
    schema = load("cog-golden/lists")
    base = {"f1": [1.5], "f2": [2], "i1": [1], "i2": [2]}
    assert schema.validate(base) == {}
    assert schema.validate({**base, "i1": [1, "x"]}) == {
        "i1": "item 2: must be a whole number"
    }
    assert schema.validate({**base, "f1": 1.5}) == {"f1": "must be a list"}
    # a required list left empty is not set
    assert schema.validate({**base, "i2": []}) == {"i2": "is required"}


def test_lengths_and_patterns() -> None:
    length = load("cog-golden/length")
    ok = {"s_min": "hello", "s_max": "x", "s_min_max": "hello"}
    assert length.validate(ok) == {}
    assert length.validate({**ok, "s_min": "hey"}) == {
        "s_min": "must be at least 5 characters long"
    }
    assert length.validate({**ok, "s_max": "x" * 11}) == {
        "s_max": "must be at most 10 characters long"
    }
    regex = load("cog-golden/regex")
    assert regex.validate({"r": "https://replicate.com"}) == {}
    assert regex.validate({"r": "http://replicate.com"}) == {
        "r": "must match the pattern https://.*"
    }


def test_required_text_left_empty_is_required() -> None:
    schema = load("cog-golden/input_function_test")
    assert schema.validate({"message": "", "suffix": "!"}) == {"message": "is required"}
    assert schema.validate({"message": "hi", "suffix": "!"}) == {}


def test_empty_text_is_a_value_only_where_it_overrides_a_default(
    sdxl: ModelSchema,
) -> None:
    # negative_prompt defaults to "" and prompt to a sentence: clearing is meaningful
    assert sdxl.to_input({"negative_prompt": "", "prompt": ""}) == {
        "prompt": "",
        "negative_prompt": "",
    }
    # replicate_weights has no default: an empty box means "not set"
    assert sdxl.to_input({"replicate_weights": "", "image": "", "seed": ""}) == {}
    assert sdxl.validate({"replicate_weights": "", "image": "", "seed": ""}) == {}


def test_long_choice_lists_are_cut_short() -> None:
    schema = load("schemas/cjwbw__vq-diffusion")
    message = schema.validate({"image_class": "unicorn"})["image_class"]
    assert message.startswith('choose one of "0) tench, Tinca tinca"')
    assert message.endswith("… (1001 choices)")
    assert len(message) < 400


def test_mismatched_enum_types_are_accepted_either_way() -> None:
    schema = load("schemas/gnobitab__fusedream")
    assert schema.validate({"model_size": 256}) == {}
    assert schema.validate({"model_size": "256"}) == {}
    assert schema.validate({"model_size": 300}) == {
        "model_size": "choose one of 512, 256"
    }


def test_unknown_inputs_are_named_with_a_suggestion(sdxl: ModelSchema) -> None:
    errors = sdxl.validate({"promt": "a cat", "zzz": 1})
    assert (
        errors["promt"] == "'promt' is not an input of this model; did you mean prompt?"
    )
    assert errors["zzz"].startswith("'zzz' is not an input of this model (its inputs: ")
    with pytest.raises(SchemaError, match="did you mean prompt") as info:
        sdxl.to_input({"promt": "a cat"})
    assert info.value.field == "promt"


def test_values_must_be_a_mapping(sdxl: ModelSchema) -> None:
    assert sdxl.validate(["prompt"]) == {  # type: ignore[arg-type]
        "": "values must be a dict of input name to value"
    }


def test_to_input_omits_unset_and_keeps_order(sdxl: ModelSchema) -> None:
    values = {"seed": None, "num_outputs": 2, "prompt": "a cat", "mask": None}
    body = sdxl.to_input(values)
    assert list(body) == ["prompt", "num_outputs"]


def test_defaults_are_the_initial_values(sdxl: ModelSchema) -> None:
    defaults = sdxl.defaults()
    assert defaults["prompt"] == "An astronaut riding a rainbow unicorn"
    assert defaults["guidance_scale"] == 7.5
    assert "seed" not in defaults
    assert "image" not in defaults
    assert sdxl.to_input(defaults) == defaults


def test_validation_is_compiled_once_and_reused(sdxl: ModelSchema) -> None:
    first = sdxl.validate({"num_outputs": 9})
    second = sdxl.validate({"num_outputs": 9})
    assert first == second == {"num_outputs": "must be at most 4"}


def test_messages_never_quote_the_value() -> None:
    secret = {"type": "string", "format": "password", "x-cog-secret": True}
    doc = {
        "components": {
            "schemas": {
                "Input": {
                    "properties": {
                        "key": {**secret, "maxLength": 3, "pattern": "^sk-"},
                        "either": {"anyOf": [{"type": "integer"}, {"type": "boolean"}]},
                        "options": {"type": "object", "required": ["mode"]},
                        "odd": {"type": "string", "not": {"type": "string"}},
                    }
                }
            }
        }
    }
    schema = parse(doc)
    errors = schema.validate(
        {
            "key": "hunter2",
            "either": "hunter2",
            "options": {"hunter2": 1},
            "odd": "hunter2",
        }
    )
    assert errors == {
        "key": "must be at most 3 characters long",
        "either": "does not match any of the forms this input accepts",
        "options": "needs the key mode",
        "odd": "does not satisfy the schema's 'not' rule",
    }
    assert schema.validate({"key": "sk-"}) == {}
