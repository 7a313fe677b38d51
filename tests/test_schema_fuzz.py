"""Property-style tests: hostile and mutated documents never cause an unexplained error.

A small seeded mutator (hypothesis is not a dependency) damages real fixture documents
in the ways broken or hand-edited schemas are damaged: wrong types, dangling and cyclic
references, missing keys, huge or non-finite numbers, garbage values. Every outcome must
be either a `ModelSchema` whose methods all work, or a `SchemaError` with a message.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from replicate_widgets._schema.model_schema import UNREADABLE
from replicate_widgets.schema import SECRET_MASK, ModelSchema, SchemaError, parse

FIXTURES = Path(__file__).parent / "fixtures"
DOCS = sorted([*FIXTURES.glob("schemas/*.json"), *FIXTURES.glob("cog-golden/*.json")])
ROUNDS = 25
OUTPUT_KINDS = {
    "text",
    "text-stream",
    "file",
    "files",
    "file-stream",
    "object",
    "number",
    "boolean",
    "embedding",
    "json",
}

KEYWORDS = [
    "type",
    "enum",
    "default",
    "allOf",
    "anyOf",
    "oneOf",
    "$ref",
    "items",
    "properties",
    "required",
    "nullable",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "minLength",
    "maxLength",
    "minItems",
    "multipleOf",
    "pattern",
    "format",
    "x-order",
    "title",
    "description",
    "x-cog-secret",
    "x-cog-array-type",
    "x-cog-array-display",
    "x-cog-accept",
    "deprecated",
    "ge",
    "le",
]


def garbage(rng: random.Random) -> Any:
    choices: list[Any] = [
        None,
        True,
        False,
        0,
        -1,
        2.5,
        10**400,
        float("nan"),
        float("inf"),
        -float("inf"),
        "",
        "x",
        "(",
        "[a-",
        SECRET_MASK,
        "#/components/schemas/Input",
        "uri",
        "password",
        "iterator",
        "concatenate",
        "string",
        "integer",
        "number",
        "array",
        "object",
        "null",
        ["string", "null"],
        ["a", 1, None],
        [],
        [None],
        {},
        {"type": "nope"},
        {"$ref": "#"},
        {"$ref": "#/components/schemas/Input"},
        {"$ref": "#/components/schemas/Output"},
        {"$ref": "#/nowhere/at/all"},
        {"$ref": "https://example.com/s.json"},
        {"$ref": 5},
        {"allOf": [{"$ref": "#/components/schemas/Input/properties"}]},
        {"allOf": [None, 3]},
        {"anyOf": []},
        {"anyOf": [{"type": "null"}]},
        {"anyOf": [{"type": "string"}, {"type": "null"}], "maxLength": 3},
        {"type": "array", "items": {"$ref": "#/components/schemas/Input"}},
        {"enum": [], "type": "string"},
        {"type": "string", "format": "uri", "default": 5},
        {"type": "integer", "minimum": "zero", "maximum": None},
        {"type": "number", "multipleOf": 0},
        {"type": "number", "multipleOf": 1e-300, "default": 1e300},
        {"type": "string", "pattern": "(", "default": "a"},
        {"type": "string", "minLength": -3, "maxLength": 2.5},
    ]
    return copy.deepcopy(rng.choice(choices))


def containers(node: Any, out: list[Any]) -> list[Any]:
    if isinstance(node, dict):
        out.append(node)
        for value in node.values():
            containers(value, out)
    elif isinstance(node, list):
        out.append(node)
        for value in node:
            containers(value, out)
    return out


def mutate(doc: dict[str, Any], rng: random.Random) -> None:
    # bias towards the parts the schema layer reads
    components = doc.get("components")
    schemas = components.get("schemas") if isinstance(components, dict) else None
    roots: list[Any] = [doc]
    if isinstance(schemas, dict):
        roots += [schemas, schemas.get("Input"), schemas.get("Output")]
    root = rng.choice([r for r in roots if isinstance(r, (dict, list))])
    nodes = containers(root, [])
    node = rng.choice(nodes)
    if isinstance(node, list):
        if node and rng.random() < 0.5:
            node[rng.randrange(len(node))] = garbage(rng)
        else:
            node.append(garbage(rng))
        return
    action = rng.random()
    if node and action < 0.3:
        del node[rng.choice(list(node))]
    elif node and action < 0.6:
        node[rng.choice(list(node))] = garbage(rng)
    else:
        node[rng.choice(KEYWORDS)] = garbage(rng)


def random_value(rng: random.Random, schema: ModelSchema) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in schema.inputs:
        if rng.random() < 0.5:
            values[f.name] = garbage(rng)
        elif f.choices:
            values[f.name] = rng.choice(f.choices)
    return values


def exercise(schema: ModelSchema, rng: random.Random) -> None:
    for f in schema.inputs:
        text = json.dumps(f.to_json(), allow_nan=False)
        assert SECRET_MASK not in text or f.kind not in ("secret",)
        assert not (f.problem or "").startswith(UNREADABLE), f.problem
    json.dumps(schema.to_json(), allow_nan=False)
    assert schema.output.kind in OUTPUT_KINDS
    defaults = schema.defaults()
    errors = schema.validate(defaults)
    # a schema's own defaults are never held against the person
    assert set(errors.values()) <= {"is required"}
    for name in errors:
        assert schema.field(name).required
    body = schema.to_input(defaults)
    assert set(body) <= {f.name for f in schema.inputs}
    values = random_value(rng, schema)
    for name, message in schema.validate(values).items():
        assert isinstance(name, str)
        assert isinstance(message, str)
        assert message
    schema.to_input(values)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_mutated_documents_never_raise_unexplained_errors(path: Path) -> None:
    original = json.loads(path.read_text("utf-8"))
    rng = random.Random(f"{path.stem}-fuzz")  # noqa: S311 - reproducible, not secret
    outcomes = {"parsed": 0, "refused": 0}
    for _ in range(ROUNDS):
        doc = copy.deepcopy(original)
        for _ in range(rng.randint(1, 6)):
            mutate(doc, rng)
        for component in ("Input", "TrainingInput"):
            try:
                schema = parse(doc, component)
            except SchemaError as exc:
                refusal = str(exc)
                outcomes["refused"] += 1
                assert refusal
                continue
            outcomes["parsed"] += 1
            exercise(schema, rng)
    # the mutator must leave most documents readable, or it tests nothing
    assert outcomes["parsed"] >= ROUNDS // 2


def test_self_containing_documents_terminate() -> None:
    prop: dict[str, Any] = {"type": "array"}
    prop["items"] = prop
    loop: dict[str, Any] = {}
    loop["allOf"] = [loop]
    doc = {"components": {"schemas": {"Input": {"properties": {"a": prop, "b": loop}}}}}
    schema = parse(doc)
    assert [f.name for f in schema.inputs] == ["a", "b"]
    assert schema.field("b").kind == "json"
    json.dumps(schema.to_json())
    assert schema.validate({"a": [[[]]], "b": 1}) == {}
    assert schema.validate({"a": [["x"]]}) == {"a": "item 1: item 1: must be a list"}


def test_python_objects_in_a_document_are_made_json_safe() -> None:
    doc = {
        "components": {
            "schemas": {
                "Input": {
                    "properties": {
                        1: {"type": "string", "default": object()},
                        "when": {"enum": [{1, 2}, (3, 4)], "default": float("nan")},
                    }
                }
            }
        }
    }
    schema = parse(doc)  # type: ignore[arg-type]
    assert [f.name for f in schema.inputs] == ["1", "when"]
    for f in schema.inputs:
        json.dumps(f.to_json(), allow_nan=False)


@pytest.mark.parametrize("seed", range(40))
def test_random_garbage_documents(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible, not secret

    def build(depth: int) -> Any:
        if depth > 3 or rng.random() < 0.3:
            return garbage(rng)
        return {
            rng.choice(KEYWORDS): build(depth + 1) for _ in range(rng.randint(0, 4))
        }

    props = {f"p{i}": build(0) for i in range(rng.randint(0, 8))}
    doc = {
        "components": {"schemas": {"Input": {"properties": props}, "Output": build(0)}}
    }
    schema = parse(doc)
    assert len(schema.inputs) == len(props)
    exercise(schema, rng)
