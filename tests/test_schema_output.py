"""`ModelSchema.output`: how each kind of Cog output is classified."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from replicate_widgets.schema import OutputSpec, parse

FIXTURES = Path(__file__).parent / "fixtures"


def output_of(name: str) -> OutputSpec:
    with (FIXTURES / f"{name}.json").open(encoding="utf-8") as fh:
        return parse(json.load(fh)).output


def output_for(schema: Any, **components: Any) -> OutputSpec:
    schemas = {"Input": {"properties": {}}, **components}
    if schema is not None:
        schemas["Output"] = schema
    return parse({"components": {"schemas": schemas}}).output


def test_streamed_text_is_concatenated() -> None:
    spec = output_of("schemas/meta__meta-llama-3-8b-instruct")
    assert spec.kind == "text-stream"
    assert spec.iterator
    assert spec.items is not None
    assert spec.items.kind == "text"


def test_iterator_of_files_is_a_file_stream() -> None:
    spec = output_of("schemas/nightmareai__disco-diffusion")
    assert (spec.kind, spec.iterator) == ("file-stream", True)


def test_iterator_of_batches_of_files_is_a_file_stream() -> None:
    spec = output_of("schemas/laion-ai__erlich")
    assert spec.kind == "file-stream"
    assert spec.items is not None
    assert spec.items.kind == "files"


def test_list_of_files_and_single_file() -> None:
    assert output_of("schemas/black-forest-labs__flux-schnell").kind == "files"
    assert output_of("schemas/stability-ai__sdxl").iterator is False
    assert output_of("schemas/meta__musicgen").kind == "file"


def test_inline_object_keeps_its_properties() -> None:
    spec = output_of("schemas/chigozienri__image-urls-to-video")
    assert spec.kind == "object"
    assert spec.properties is not None
    assert {k: v.kind for k, v in spec.properties.items()} == {
        "zip": "file",
        "video": "file",
    }


def test_list_of_referenced_objects_resolves_the_reference() -> None:
    spec = output_of("schemas/borisdayma__dalle-mini")
    assert spec.kind == "json"
    assert spec.items is not None
    assert spec.items.kind == "object"
    assert spec.items.properties is not None
    assert spec.items.properties["image"].kind == "file"


def test_embeddings_are_lists_of_numbers() -> None:
    spec = output_of("schemas/andreasjansson__llama-2-13b-embeddings")
    assert spec.kind == "embedding"
    assert output_of("cog-golden/output_list1").kind == "embedding"


@pytest.mark.parametrize(
    ("fixture", "kind"),
    [
        ("cog-golden/output_str", "text"),
        ("cog-golden/output_int", "number"),
        ("cog-golden/output_bool", "boolean"),
        ("cog-golden/output_path", "file"),
        ("cog-golden/output_secret", "text"),
        ("cog-golden/output_any", "json"),
        ("cog-golden/output_object", "object"),
        ("cog-golden/custom_output", "json"),
        ("cog-golden/output_iterator", "json"),
    ],
)
def test_cog_golden_outputs(fixture: str, kind: str) -> None:
    assert output_of(fixture).kind == kind


@pytest.mark.parametrize(
    "schema",
    [
        None,
        {},
        {"title": "Output"},
        {"$ref": "#/components/schemas/Nowhere"},
        {"$ref": "#/components/schemas/Output"},
        {"type": "array"},
        {"type": "object"},
        {"type": ["string", "integer"]},
        "not a schema",
        {"type": "array", "items": {"type": "array", "items": "x"}},
    ],
)
def test_unknown_or_broken_outputs_are_json(schema: Any) -> None:
    assert output_for(schema).kind == "json"


def test_nullable_string_output_is_text() -> None:
    assert output_for({"type": ["string", "null"]}).kind == "text"


def test_referenced_object_output() -> None:
    spec = output_for(
        {"$ref": "#/components/schemas/ModelOutput", "title": "Output"},
        ModelOutput={
            "type": "object",
            "properties": {"text": {"type": "string"}, "score": {"type": "number"}},
        },
    )
    assert spec.kind == "object"
    assert spec.properties is not None
    assert {k: v.kind for k, v in spec.properties.items()} == {
        "text": "text",
        "score": "number",
    }
