"""The schema generator against Cog's own golden schemas (tests/fixtures/cog-golden).

Each golden file came from a tiny predictor in Cog's test suite; we wrote the
matching predictor (``golden_predictors/``) and compare the parts Cog's rules
define: every ``Input`` property, ``required``, the enum components and ``Output``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("coglet")

import replicate_widgets.server._cog.cogschema as _cogschema

GOLDEN = Path(__file__).parents[1] / "fixtures" / "cog-golden"
PREDICTORS = Path(__file__).parent / "golden_predictors"
ENVELOPE = {
    "Input",
    "Output",
    "PredictionRequest",
    "PredictionResponse",
    "Status",
    "HTTPValidationError",
    "ValidationError",
    "WebhookEvent",
}
# Where the golden files (Cog's older Python generator) and Go's rules disagree,
# we follow Go, which is what `cog build` runs today.
OUTPUT_DIFFERS = {
    # golden writes "string" for a float return: a bug in the old generator.
    "output_float": {"type": "number", "title": "Output"},
    # Go: Any is an object; the golden omits the type entirely.
    "output_any": {"type": "object", "title": "Output"},
}
# These return lists of models, which cog 0.23.1's runtime rejects ("unsupported
# Cog type"), so no predictor that coglet can run produces them.
UNSUPPORTED_BY_COG_0_23 = {"custom_output", "output_complex_types"}

CASES = sorted(p.stem.removeprefix("golden_") for p in PREDICTORS.glob("golden_*.py"))


def generate(name: str) -> dict[str, Any]:
    document, _ = _cogschema.build_document(
        f"{PREDICTORS / f'golden_{name}.py'}:Predictor"
    )
    return document


def test_every_golden_file_has_a_predictor() -> None:
    golden = {p.stem for p in GOLDEN.glob("*.json")}
    assert golden - set(CASES) == UNSUPPORTED_BY_COG_0_23


@pytest.mark.parametrize("name", CASES)
def test_input_matches_golden(name: str) -> None:
    expected = json.loads((GOLDEN / f"{name}.json").read_text())["components"][
        "schemas"
    ]
    actual = generate(name)["components"]["schemas"]
    assert actual["Input"]["properties"] == expected["Input"]["properties"]
    assert list(actual["Input"]["properties"]) == list(expected["Input"]["properties"])
    assert set(actual["Input"].get("required", [])) == set(
        expected["Input"].get("required", [])
    )
    enums = {k: v for k, v in expected.items() if k not in ENVELOPE}
    assert {
        k: v for k, v in actual.items() if k not in ENVELOPE and k in enums
    } == enums
    assert {k for k in actual if k not in ENVELOPE} == set(enums)


@pytest.mark.parametrize("name", CASES)
def test_output_matches_golden(name: str) -> None:
    expected = json.loads((GOLDEN / f"{name}.json").read_text())["components"][
        "schemas"
    ]
    actual = generate(name)["components"]["schemas"]["Output"]
    assert actual == OUTPUT_DIFFERS.get(name, expected["Output"])


def test_document_skeleton_matches_cog() -> None:
    document = generate("primitives")
    assert document["openapi"] == "3.0.2"
    assert document["info"]["title"] == "Cog"
    post = document["paths"]["/predictions"]["post"]
    assert post["operationId"] == "predict_predictions_post"
    assert "x-cog-streaming" not in post
    response = document["components"]["schemas"]["PredictionResponse"]["properties"]
    assert response["output"] == {"$ref": "#/components/schemas/Output"}
    assert document["components"]["schemas"]["Status"]["enum"] == [
        "starting",
        "processing",
        "succeeded",
        "canceled",
        "failed",
    ]
