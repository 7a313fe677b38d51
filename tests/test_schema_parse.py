"""How `parse` reads documents: where the schema is, kinds, labels, defaults, quirks."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from replicate_widgets.schema import SECRET_MASK, SchemaError, parse

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict[str, Any]:
    with (FIXTURES / f"{name}.json").open(encoding="utf-8") as fh:
        return json.load(fh)  # type: ignore[no-any-return]


def doc_with(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A bare document holding one Input component (plus extra components)."""
    schemas: dict[str, Any] = {
        "Input": {"type": "object", "properties": properties, **extra.pop("input", {})}
    }
    schemas.update(extra)
    return {"components": {"schemas": schemas}}


# --- where the schema is ------------------------------------------------------------


def test_accepts_a_model_a_version_and_the_bare_document() -> None:
    doc = load("schemas/stability-ai__sdxl")
    expected = [f.name for f in parse(doc).inputs]
    version = {"id": "7762fd07", "openapi_schema": doc}
    model = {"owner": "stability-ai", "name": "sdxl", "latest_version": version}
    bare = {"components": {"schemas": doc["components"]["schemas"]}}
    for wrapped in (version, model, bare):
        assert [f.name for f in parse(wrapped).inputs] == expected


def test_an_input_schema_on_its_own_is_accepted() -> None:
    spec = load("cog-golden/primitives")["components"]["schemas"]["Input"]
    assert [f.name for f in parse(spec).inputs] == ["b", "f", "i", "s"]


def test_a_version_without_schema_says_what_to_do() -> None:
    with pytest.raises(SchemaError, match=r"no openapi_schema.*choose another version"):
        parse({"id": "abc", "openapi_schema": None})


def test_a_model_without_version_says_what_to_do() -> None:
    with pytest.raises(SchemaError, match="no published version"):
        parse({"owner": "me", "name": "empty", "latest_version": None})


@pytest.mark.parametrize("bad", [None, "Input", 42, ["components"]])
def test_not_a_dict_is_a_clear_error(bad: Any) -> None:
    with pytest.raises(SchemaError, match="expected the model's OpenAPI schema"):
        parse(bad)


def test_an_unrelated_dict_is_a_clear_error() -> None:
    with pytest.raises(SchemaError, match="does not look like a Cog/Replicate"):
        parse({"hello": "world"})


def test_a_missing_component_names_what_exists() -> None:
    with pytest.raises(SchemaError, match=r"no 'Inputs' component.*Input") as info:
        parse(load("cog-golden/primitives"), "Inputs")
    assert info.value.field is None


def test_broken_properties_are_a_clear_error() -> None:
    doc = {"components": {"schemas": {"Input": {"properties": ["a", "b"]}}}}
    with pytest.raises(SchemaError, match=r"Input\.properties must be an object"):
        parse(doc)


def test_missing_output_is_json() -> None:
    schema = parse(load("schemas/bytedance__seedance-1-pro"))
    assert schema.output.kind == "json"
    assert not schema.has_training


def test_training_form_comes_from_training_input() -> None:
    doc = load("schemas/stability-ai__sdxl")
    training = parse(doc, component="TrainingInput")
    assert parse(doc).has_training
    assert training.component == "TrainingInput"
    assert training.inputs[0].name == "input_images"
    assert training.field("lr_scheduler").choices is not None
    assert training.output.kind == "object"


# --- kinds and labels ----------------------------------------------------------------


def test_prompts_are_multiline_text_and_short_strings_are_not() -> None:
    doc = doc_with(
        {
            "prompt": {"type": "string"},
            "systemPrompt": {"type": "string"},
            "notes": {"type": "string", "maxLength": 500},
            "lines": {"type": "string", "description": "One per line."},
            "token_string": {"type": "string", "default": "TOK"},
            "prompt_strength": {"type": "number"},
        }
    )
    kinds = {f.name: f.kind for f in parse(doc).inputs}
    assert kinds == {
        "prompt": "text",
        "systemPrompt": "text",
        "notes": "text",
        "lines": "text",
        "token_string": "string",
        "prompt_strength": "number",
    }
    assert parse(doc).field("prompt").multiline


def test_titles_fall_back_to_cog_style_names() -> None:
    seedance = parse(load("schemas/bytedance__seedance-1-pro"))
    # replicate.com copies title inline enums with the raw name
    assert seedance.field("aspect_ratio").title == "Aspect Ratio"
    fusedream = parse(load("schemas/gnobitab__fusedream"))  # no titles at all
    assert fusedream.field("init_iterations").title == "Init Iterations"
    sdxl = parse(load("schemas/stability-ai__sdxl"))
    # the enum component's title is the raw name; the label must not be
    assert sdxl.field("scheduler").title == "Scheduler"


def test_allof_choices_merge_with_the_property_s_own_keys() -> None:
    schema = parse(load("schemas/stability-ai__sdxl"))
    refine = schema.field("refine")
    assert refine.kind == "choice"
    assert refine.choices == (
        "no_refiner",
        "expert_ensemble_refiner",
        "base_image_refiner",
    )
    assert refine.default == "no_refiner"
    assert refine.x_order == 12
    assert refine.description == "Which refine style to use"


def test_a_direct_ref_is_resolved_and_own_keys_win() -> None:
    doc = doc_with(
        {"size": {"$ref": "#/components/schemas/size", "default": 2, "x-order": 0}},
        size={"type": "integer", "enum": [1, 2, 3], "default": 1, "title": "size"},
    )
    size = parse(doc).field("size")
    assert (size.kind, size.choices, size.default, size.title) == (
        "choice",
        (1, 2, 3),
        2,
        "Size",
    )


def test_integer_choices_keep_their_type_and_strings_stay_strings() -> None:
    schema = parse(load("cog-golden/choices"))
    assert schema.field("i").choices == (0, 1, 2)
    assert schema.field("s").choices == ("foo", "bar")
    majesty = parse(load("schemas/nightmareai__majesty-diffusion"))
    assert all(isinstance(c, int) for c in majesty.field("width").choices or ())


def test_inline_enum_with_mismatched_type_is_coerced_exactly() -> None:
    field = parse(load("schemas/gnobitab__fusedream")).field("model_size")
    assert field.choices == (512, 256)
    assert field.default == 512


def test_the_string_none_is_a_real_choice() -> None:
    doc = doc_with(
        {
            "voice": {
                "allOf": [{"$ref": "#/components/schemas/voice"}],
                "default": "None",
            }
        },
        voice={"type": "string", "enum": ["None", "en_speaker_0"], "title": "voice"},
    )
    schema = parse(doc)
    assert schema.field("voice").choices == ("None", "en_speaker_0")
    assert schema.to_input(schema.defaults()) == {"voice": "None"}
    assert schema.validate({"voice": "None"}) == {}


def test_an_optional_choice_without_default_can_stay_unset() -> None:
    doc = doc_with(
        {"history": {"allOf": [{"$ref": "#/components/schemas/history"}]}},
        history={"type": "string", "enum": ["a", "b"]},
    )
    schema = parse(doc)
    field = schema.field("history")
    assert (field.required, field.has_default, field.optional) == (False, False, True)
    assert schema.defaults() == {}
    assert schema.to_input({"history": None}) == {}
    assert schema.validate({"history": None}) == {}


def test_a_default_outside_the_choices_is_offered() -> None:
    doc = doc_with({"mode": {"enum": ["a", "b"], "type": "string", "default": "c"}})
    schema = parse(doc)
    assert schema.field("mode").choices == ("c", "a", "b")
    assert schema.validate(schema.defaults()) == {}


def test_numbers_stay_faithful() -> None:
    rng = parse(load("cog-golden/range"))
    assert rng.field("float_ge_le_i_wd").default == 5.0
    assert isinstance(rng.field("float_ge_le_i_wd").default, float)
    assert rng.field("int_ge_le_wd").default == 5
    assert isinstance(rng.field("int_ge_le_wd").default, int)
    assert (rng.field("int_ge_le").minimum, rng.field("int_ge_le").maximum) == (0, 10)


def test_an_integer_with_a_fractional_default_does_not_crash() -> None:
    schema = parse(load("schemas/nightmareai__majesty-diffusion"))
    latent = schema.field("latent_scale")
    assert (latent.kind, latent.default) == ("integer", 13.5)
    assert schema.validate(schema.defaults()) == {}
    assert schema.validate({"latent_scale": 12}) == {}
    assert schema.validate({"latent_scale": 12.5}) == {
        "latent_scale": "must be a whole number"
    }
    # the model applies its own 13.5 when nothing is sent
    assert "latent_scale" not in schema.to_input(schema.defaults())


def test_default_null_means_unset_and_nullable() -> None:
    schema = parse(load("schemas/fofr__latent-consistency-model"))
    for name in ("seed", "image", "control_image"):
        field = schema.field(name)
        assert (field.has_default, field.nullable, field.default) == (False, True, None)
        assert name not in schema.defaults()


def test_pydantic_ge_le_leaked_into_the_document_are_bounds() -> None:
    schema = parse(load("schemas/fofr__latent-consistency-model"))
    assert (schema.field("num_images").minimum, schema.field("num_images").maximum) == (
        1,
        50,
    )
    assert schema.validate({"num_images": 51}) == {"num_images": "must be at most 50"}


def test_x_order_gaps_and_missing_orders() -> None:
    doc = doc_with(
        {
            "c": {"type": "string"},
            "b": {"type": "string", "x-order": 5},
            "a": {"type": "string", "x-order": 1},
            "d": {"type": "string"},
        }
    )
    assert [f.name for f in parse(doc).inputs] == ["a", "b", "c", "d"]


def test_files_secrets_arrays_deprecated_and_accept() -> None:
    doc = doc_with(
        {
            "image": {"type": "string", "format": "uri", "x-cog-accept": "image/*"},
            "token": {
                "type": "string",
                "format": "password",
                "writeOnly": True,
                "x-cog-secret": True,
            },
            "images": {"type": "array", "items": {"type": "string", "format": "uri"}},
            "boxes": {"type": "array", "items": {"type": "object"}},
            "old": {"type": "string", "deprecated": True},
        }
    )
    schema = parse(doc)
    assert schema.field("image").accept == "image/*"
    assert schema.field("token").kind == "secret"
    images = schema.field("images")
    assert images.kind == "array"
    assert images.items is not None
    assert images.items.kind == "file"
    assert images.items.title == "Images"
    assert schema.field("boxes").kind == "json"
    assert schema.field("old").deprecated


def test_nullable_and_anyof_null_are_optional_values() -> None:
    doc = doc_with(
        {
            "seed": {"type": "integer", "nullable": True},
            "ratio": {"anyOf": [{"type": "number", "maximum": 2}, {"type": "null"}]},
            "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "listed": {"type": ["string", "null"]},
        },
        input={"required": ["seed"]},
    )
    schema = parse(doc)
    ratio = schema.field("ratio")
    assert (ratio.kind, ratio.nullable, ratio.maximum) == ("number", True, 2)
    either = schema.field("either")
    assert either.kind == "json"
    assert either.problem is not None
    assert "several types" in either.problem
    assert schema.field("listed").kind == "string"
    assert schema.field("listed").nullable
    # required but nullable: null is a value the API accepts, and it is sent
    assert schema.validate({"seed": None}) == {}
    assert schema.to_input({"seed": None}) == {"seed": None}
    assert schema.validate({}) == {"seed": "is required"}


@pytest.mark.parametrize(
    ("prop", "needle"),
    [
        ({"$ref": "#/components/schemas/missing"}, "points at nothing"),
        ({"$ref": "https://example.com/schema.json"}, "only local references"),
        ({"$ref": "#/components/schemas/loop"}, "refers to itself"),
        ({"allOf": "nope"}, "'allOf' must be a list"),
        ({"enum": []}, "no allowed values"),
        ({"description": "no type"}, "no type"),
        ({"type": "tuple"}, "'tuple'"),
        (True, "not an object"),
    ],
)
def test_broken_inputs_become_json_fields_that_say_why(prop: Any, needle: str) -> None:
    doc = doc_with(
        {"bad": prop, "good": {"type": "integer", "default": 1}},
        loop={"$ref": "#/components/schemas/loop"},
    )
    schema = parse(doc)
    bad = schema.field("bad")
    assert bad.kind == "json"
    assert bad.problem is not None
    assert needle in bad.problem
    assert schema.field("good").kind == "integer"
    assert schema.validate({"good": 2}) == {}


def test_secrets_never_expose_their_mask() -> None:
    secret = {"type": "string", "format": "password", "writeOnly": True}
    secret["x-cog-secret"] = True
    doc = doc_with(
        {
            "s": {**secret, "x-order": 0},
            "ds": {**secret, "default": SECRET_MASK, "x-order": 1},
            "plain": {**secret, "default": "bar", "x-order": 2},
            "ls": {
                "type": "array",
                "items": secret,
                "default": [SECRET_MASK, SECRET_MASK],
                "x-order": 3,
            },
        },
        input={"required": ["s"]},
    )
    schema = parse(doc)
    assert schema.defaults() == {}
    for field in schema.inputs:
        assert field.to_json()["default"] is None
        assert SECRET_MASK not in json.dumps(field.to_json())
    values = {"s": "hunter2", "ds": SECRET_MASK, "ls": [SECRET_MASK, "real"]}
    assert schema.validate(values) == {}
    assert schema.to_input(values) == {"s": "hunter2", "ls": ["real"]}
    assert schema.validate({"s": SECRET_MASK}) == {"s": "is required"}


def test_field_lookup_suggests_close_names() -> None:
    schema = parse(load("schemas/stability-ai__sdxl"))
    with pytest.raises(KeyError, match="did you mean prompt"):
        schema.field("promt")


def test_parse_does_not_modify_the_document() -> None:
    doc = load("schemas/fofr__sdxl-multi-controlnet-lora")
    before = copy.deepcopy(doc)
    schema = parse(doc)
    schema.validate(schema.defaults())
    schema.to_input(schema.defaults())
    assert doc == before


def test_to_json_describes_the_whole_form() -> None:
    schema = parse(load("schemas/meta__meta-llama-3-8b-instruct"))
    data = schema.to_json()
    assert data["component"] == "Input"
    assert data["output"] == {"kind": "text-stream", "iterator": True}
    assert [f["name"] for f in data["fields"]] == [f.name for f in schema.inputs]
    assert data["fields"][0]["multiline"] is True


def test_a_string_default_of_an_integer_enum_is_coerced_too() -> None:
    doc = doc_with({"n": {"enum": ["1", "2"], "type": "integer", "default": "2"}})
    schema = parse(doc)
    assert schema.field("n").choices == (1, 2)
    assert schema.defaults() == {"n": 2}
    assert schema.validate(schema.defaults()) == {}
    assert schema.validate({"n": "1"}) == {}
