"""Cog's Go schema rules that the golden files do not show."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("coglet")

import replicate_widgets.server._cog.cogschema as _cogschema
import replicate_widgets.server._cog.cogschema_fields as _cogschema_fields

_counter = itertools.count()


def write(tmp_path: Path, source: str) -> str:
    # A unique module name per predictor: the generator imports it in-process.
    path = tmp_path / f"cogschema_case_{next(_counter)}.py"
    path.write_text(textwrap.dedent(source))
    return str(path)


def build(
    tmp_path: Path, source: str, name: str = "Predictor", **kw: Any
) -> tuple[dict, dict]:
    return _cogschema.build_document(f"{write(tmp_path, source)}:{name}", **kw)


def test_title_case_keeps_inner_capitals() -> None:
    assert _cogschema_fields.title_case("max_new_tokens") == "Max New Tokens"
    assert _cogschema_fields.title_case("use_GPU") == "Use GPU"


def test_optional_secret_and_none_defaults(tmp_path: Path) -> None:
    document, _ = build(
        tmp_path,
        """
        from typing import Optional
        from cog import BaseRunner, Input, Path, Secret

        class Predictor(BaseRunner):
            def run(
                self,
                seed: int = Input(default=None),
                maybe: Optional[int] = Input(default=None),
                note: Optional[str] = Input(description="no default"),
                api_key: Secret = Input(default=None, description="key"),
                token: Secret = Input(default=Secret("bar")),
                image: Path = Input(accept="image/*", description="picture"),
                either: int | str = Input(default=None),
            ) -> str:
                return ""
        """,
    )
    inputs = document["components"]["schemas"]["Input"]
    props = inputs["properties"]
    # Go drops default=None on a non-nullable type: the field becomes required.
    assert props["seed"] == {"x-order": 0, "title": "Seed", "type": "integer"}
    assert props["maybe"]["nullable"] is True
    assert props["maybe"]["default"] is None
    assert props["note"]["nullable"] is True
    assert "default" not in props["note"]
    assert props["api_key"] == {
        "x-order": 3,
        "title": "Api Key",
        "type": "string",
        "format": "password",
        "writeOnly": True,
        "x-cog-secret": True,
        "default": None,
        "nullable": True,
        "description": "key",
    }
    assert props["token"]["default"] == "**********"
    assert props["image"]["x-cog-accept"] == "image/*"
    assert props["image"]["format"] == "uri"
    assert props["either"]["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    assert inputs["required"] == ["seed", "image", "either"]


def test_streaming_concurrency_and_async_facts(tmp_path: Path) -> None:
    document, facts = build(
        tmp_path,
        """
        from typing import AsyncIterator
        import cog
        from cog import BaseRunner

        class Predictor(BaseRunner):
            @cog.streaming
            @cog.concurrent(max=3)
            async def run(self, prompt: str) -> AsyncIterator[str]:
                yield prompt
        """,
    )
    assert document["paths"]["/predictions"]["post"]["x-cog-streaming"] is True
    assert facts == {
        "streaming": True,
        "concurrency": 3,
        "is_async": True,
        "async_generator": True,
        "method": "run",
    }
    assert document["components"]["schemas"]["Output"] == {
        "type": "array",
        "items": {"type": "string"},
        "x-cog-array-type": "iterator",
        "title": "Output",
    }


def test_without_streaming_decorator_no_streaming_flag(tmp_path: Path) -> None:
    document, facts = build(
        tmp_path,
        """
        from cog import BaseRunner

        class Predictor(BaseRunner):
            def run(self, x: int) -> int:
                return x
        """,
    )
    assert "x-cog-streaming" not in document["paths"]["/predictions"]["post"]
    assert facts == {
        "streaming": False,
        "concurrency": 1,
        "is_async": False,
        "async_generator": False,
        "method": "run",
    }


def test_object_and_dict_outputs(tmp_path: Path) -> None:
    document, _ = build(
        tmp_path,
        """
        from typing import Dict, List, Optional
        from cog import BaseModel, BaseRunner

        class Out(BaseModel):
            scores: Dict[str, float]
            label: str
            note: Optional[str] = None
            count: int = 0

        class Predictor(BaseRunner):
            def run(self, x: int) -> Out:
                return Out(scores={}, label="")
        """,
    )
    assert document["components"]["schemas"]["Output"] == {
        "type": "object",
        "properties": {
            "scores": {
                "type": "object",
                "additionalProperties": {"type": "number"},
                "title": "Scores",
            },
            "label": {"type": "string", "title": "Label"},
            "note": {"type": "string", "title": "Note", "nullable": True},
            "count": {"type": "integer", "title": "Count"},
        },
        "required": ["scores", "label"],
        "title": "Output",
    }


def test_optional_output_is_rejected(tmp_path: Path) -> None:
    source = """
        from typing import Optional
        from cog import BaseRunner

        class Predictor(BaseRunner):
            def run(self, x: int) -> Optional[str]:
                return None
        """
    with pytest.raises(ValueError, match=r"(?i)optional|union"):
        build(tmp_path, source)


TRAINABLE = """
    from cog import BaseRunner, Input, Path

    class Predictor(BaseRunner):
        def run(self, prompt: str, steps: int = 1) -> str:
            return prompt

        def train(
            self,
            data: Path = Input(description="training data"),
            steps: int = Input(default=10, ge=1),
            mode: str = Input(default="fast", choices=["fast", "slow"]),
        ) -> Path:
            return data
    """


def test_training_document_and_merge(tmp_path: Path) -> None:
    ref = f"{write(tmp_path, TRAINABLE)}:Predictor"
    assert _cogschema.defines_train(ref)
    predict, _ = _cogschema.build_document(ref)
    train, _ = _cogschema.build_document(ref, train=True)
    schemas = train["components"]["schemas"]
    assert set(schemas["TrainingInput"]["properties"]) == {"data", "steps", "mode"}
    assert schemas["TrainingInput"]["title"] == "TrainingInput"
    assert schemas["TrainingInput"]["required"] == ["data"]
    # Go titles the training output "Output" too.
    assert schemas["TrainingOutput"] == {
        "type": "string",
        "format": "uri",
        "title": "Output",
    }
    assert schemas["mode"]["enum"] == ["fast", "slow"]
    assert train["paths"]["/trainings"]["post"]["operationId"] == "train_trainings_post"
    assert "/trainings/{training_id}/cancel" in train["paths"]

    merged = _cogschema.merge_documents(predict, train)
    merged_schemas = merged["components"]["schemas"]
    assert merged_schemas["Input"] == predict["components"]["schemas"]["Input"]
    assert "TrainingInput" in merged_schemas
    assert {"/predictions", "/trainings"} <= set(merged["paths"])
    assert "TrainingInput" not in predict["components"]["schemas"]  # not mutated

    runtime, _ = _cogschema.build_document(ref, train=True, as_predictions=True)
    assert (
        runtime["components"]["schemas"]["Input"]["properties"]
        == schemas["TrainingInput"]["properties"]
    )


def test_class_without_train(tmp_path: Path) -> None:
    ref = write(
        tmp_path,
        """
        from cog import BaseRunner

        class Predictor(BaseRunner):
            def run(self, x: int) -> int:
                return x
        """,
    )
    assert not _cogschema.defines_train(f"{ref}:Predictor")


def test_bad_reference_says_what_to_write(tmp_path: Path) -> None:
    with pytest.raises(_cogschema_fields.SchemaError, match=r"predict\.py:Predictor"):
        _cogschema.build_document("predict.py")
    path = write(tmp_path, "X = 1\n")
    with pytest.raises(_cogschema_fields.SchemaError, match=r"defines no 'Predictor'"):
        _cogschema.build_document(f"{path}:Predictor")
