"""Loading model folders: versions, sidecars, errors and the bundled models."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("coglet")

from replicate_widgets._model_names import BUNDLED_DIR
from replicate_widgets.server._cog.models import bundled_models, load_model
from replicate_widgets.server._storage.model_files import ModelLoadError

HELLO_ID = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"
SIMPLE = """
from cog import BaseRunner, Input


class Predictor(BaseRunner):
    def run(self, text: str = Input(description="what to say")) -> str:
        return text.upper()
"""


def make_model(tmp_path: Path, source: str = SIMPLE, name: str = "my-model") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "predict.py").write_text(textwrap.dedent(source))
    return folder


def test_local_folder_is_served_as_local_name(tmp_path: Path) -> None:
    model = load_model(make_model(tmp_path))
    assert model.full_name == "local/my-model"
    assert len(model.version_id) == 64
    assert model.has_train is False
    assert model.concurrency == 1
    assert model.visibility == "public"
    assert model.cog_version.startswith("0.23")
    props = model.openapi_schema["components"]["schemas"]["Input"]["properties"]
    assert props["text"]["description"] == "what to say"


def test_version_is_stable_and_changes_with_code(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    first = load_model(folder)
    assert load_model(folder).version_id == first.version_id
    (folder / "predict.py").write_text(SIMPLE.replace("upper()", "lower()"))
    changed = load_model(folder)
    assert changed.version_id != first.version_id
    assert changed.openapi_schema == first.openapi_schema  # same schema, new code


def test_version_changes_with_a_helper_module(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    first = load_model(folder).version_id
    (folder / "helper.py").write_text("X = 1\n")
    assert load_model(folder).version_id != first


def test_files_for_coglet_are_written(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    model = load_model(folder)
    runtime = json.loads((folder / ".cog" / "openapi_schema.json").read_text())
    served = json.loads((folder / ".cog" / "openapi_schema.served.json").read_text())
    assert served == model.openapi_schema
    assert "x-cog-streaming" not in served["paths"]["/predictions"]["post"]
    assert runtime["paths"]["/predictions"]["post"]["x-cog-streaming"] is True


def test_syntax_error_is_reported_with_the_traceback(tmp_path: Path) -> None:
    folder = make_model(tmp_path, "def broken(:\n    pass\n")
    with pytest.raises(ModelLoadError) as info:
        load_model(folder)
    message = str(info.value)
    assert "SyntaxError" in message
    assert "predict.py" in message
    assert "Fix predict.py" in message


def test_unsupported_type_is_reported(tmp_path: Path) -> None:
    source = """
    from cog import BaseRunner

    class Predictor(BaseRunner):
        def run(self, x: set) -> str:
            return ""
    """
    with pytest.raises(ModelLoadError, match="unsupported"):
        load_model(make_model(tmp_path, source))


def test_missing_predict_py_and_bad_names(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError, match=r"has no predict\.py"):
        load_model(empty)
    with pytest.raises(ModelLoadError, match="not a folder"):
        load_model(tmp_path / "nope")
    folder = make_model(tmp_path, name="Bad Name")
    with pytest.raises(ModelLoadError, match="pass name="):
        load_model(folder)
    assert load_model(folder, name="good-name").name == "good-name"


def test_cog_yaml_names_predictor_and_train(tmp_path: Path) -> None:
    folder = tmp_path / "configured"
    folder.mkdir()
    (folder / "model_code.py").write_text(
        textwrap.dedent(
            """
            from cog import BaseRunner, Input, Path

            class Runner(BaseRunner):
                async def run(self, x: int) -> int:
                    return x

            def train(steps: int = Input(default=3)) -> Path:
                return Path(__file__)
            """
        )
    )
    (folder / "cog.yaml").write_text(
        'build:\n  python_version: "3.11"\n'
        'predict: "model_code.py:Runner"  # the runner\n'
        "train: 'model_code.py:train'\n"
        "concurrency:\n  max: 4\n"
    )
    model = load_model(folder)
    assert model.predict_ref == "model_code.py:Runner"
    assert model.train_ref == "model_code.py:train"
    assert model.has_train
    assert model.concurrency == 4
    assert model.is_async
    schemas = model.openapi_schema["components"]["schemas"]
    assert schemas["TrainingInput"]["properties"]["steps"]["default"] == 3
    assert model.train_runtime_schema is not None


def test_sidecar_and_pinned_version(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    (folder / "model.json").write_text(
        json.dumps(
            {
                "description": "Shouts",
                "visibility": "private",
                "version": "a" * 64,
                "cover_image": "cover.png",
                "default_example": {"text": "hi"},
            }
        )
    )
    model = load_model(folder)
    assert model.version_id == "a" * 64
    assert model.description == "Shouts"
    assert model.visibility == "private"
    assert model.cover_image == folder / "cover.png"
    assert model.default_example == {"text": "hi"}
    (folder / "model.json").write_text('{"version": "nope"}')
    with pytest.raises(ModelLoadError, match="64 lowercase hex"):
        load_model(folder)
    (folder / "model.json").write_text("{oops")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        load_model(folder)


def test_with_weights_makes_a_new_version(tmp_path: Path) -> None:
    model = load_model(make_model(tmp_path))
    trained = model.with_weights("data:application/json;base64,e30=")
    assert trained.weights == "data:application/json;base64,e30="
    assert trained.version_id != model.version_id
    assert len(trained.version_id) == 64
    assert trained == model.with_weights("data:application/json;base64,e30=")


def test_bundled_models() -> None:
    models = {m.full_name: m for m in bundled_models()}
    assert {
        "replicate/hello-world",
        "demo/text-stream",
        "demo/fractal",
        "demo/image-filter",
        "demo/chiptune",
        "demo/text-stats",
        "demo/echo",
    } <= set(models)
    hello = models["replicate/hello-world"]
    assert hello.version_id == HELLO_ID
    inputs = hello.openapi_schema["components"]["schemas"]["Input"]
    assert inputs["properties"] == {
        "text": {
            "x-order": 0,
            "title": "Text",
            "type": "string",
            "description": "Text to prefix with 'hello '",
        }
    }
    assert inputs["required"] == ["text"]
    assert hello.openapi_schema["components"]["schemas"]["Output"] == {
        "type": "string",
        "title": "Output",
    }

    schemas = {
        name: m.openapi_schema["components"]["schemas"] for name, m in models.items()
    }
    assert schemas["demo/text-stream"]["Output"]["x-cog-array-display"] == "concatenate"
    assert models["demo/text-stream"].has_train
    assert schemas["demo/fractal"]["Output"]["x-cog-array-type"] == "iterator"
    assert schemas["demo/fractal"]["Output"]["items"]["format"] == "uri"
    assert {"width", "height", "colormap"} <= set(schemas["demo/fractal"])
    assert (
        schemas["demo/image-filter"]["Input"]["properties"]["image"]["x-cog-accept"]
        == "image/*"
    )
    assert schemas["demo/chiptune"]["Input"]["properties"]["notes"]["type"] == "array"
    assert schemas["demo/text-stats"]["Input"]["properties"]["signing_key"][
        "x-cog-secret"
    ]
    assert schemas["demo/text-stats"]["Output"]["type"] == "object"
    cover = models["demo/fractal"].cover_image
    assert cover is not None
    assert cover.is_file()
    for model in models.values():
        assert model.description


def test_bundled_models_import_only_cog_pillow_and_stdlib() -> None:
    import ast
    import sys

    allowed = set(sys.stdlib_module_names) | {"cog", "PIL", "markov"}
    for path in BUNDLED_DIR.glob("*/*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert roots <= allowed, (path, roots)


def test_copied_bundled_model_gets_its_own_version(tmp_path: Path) -> None:
    copy = tmp_path / "echo-copy"
    shutil.copytree(BUNDLED_DIR / "echo", copy, ignore=shutil.ignore_patterns(".cog"))
    original = load_model(BUNDLED_DIR / "echo", owner="demo", name="echo")
    copied = load_model(copy)
    assert copied.full_name == "local/echo-copy"
    assert copied.version_id == original.version_id  # same files, same schema


def test_metadata_edits_keep_the_version(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    first = load_model(folder).version_id
    (folder / "model.json").write_text('{"description": "new words"}')
    assert load_model(folder).version_id == first


def test_old_style_base_predictor_loads(tmp_path: Path) -> None:
    source = """
    from cog import BasePredictor, Input

    class Predictor(BasePredictor):
        def setup(self):
            self.prefix = "> "

        def predict(self, text: str = Input(description="t", default="x")) -> str:
            return self.prefix + text
    """
    model = load_model(make_model(tmp_path, source))
    props = model.openapi_schema["components"]["schemas"]["Input"]["properties"]
    assert props["text"]["default"] == "x"


def test_cached_schema_is_reused_and_follows_edits(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    first = load_model(folder, cached=True)
    kept = json.loads((folder / ".cog" / "schema-cache.json").read_text())
    assert kept["result"]["document"] == first.openapi_schema
    # Same files: the kept result is used (a planted marker shows it was read).
    kept["result"]["document"]["info"]["title"] = "from the cache"
    (folder / ".cog" / "schema-cache.json").write_text(json.dumps(kept))
    again = load_model(folder, cached=True)
    assert again.openapi_schema["info"]["title"] == "from the cache"
    # An edit misses the cache: the new input is generated, not the kept one.
    (folder / "predict.py").write_text(
        SIMPLE.replace('description="what to say"', 'description="what to shout"')
    )
    edited = load_model(folder, cached=True)
    props = edited.openapi_schema["components"]["schemas"]["Input"]["properties"]
    assert props["text"]["description"] == "what to shout"
    assert edited.openapi_schema["info"]["title"] != "from the cache"
    assert edited.version_id != first.version_id


def test_uncached_load_ignores_the_cache(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    load_model(folder, cached=True)
    kept = json.loads((folder / ".cog" / "schema-cache.json").read_text())
    kept["result"]["document"]["info"]["title"] = "from the cache"
    (folder / ".cog" / "schema-cache.json").write_text(json.dumps(kept))
    assert load_model(folder).openapi_schema["info"]["title"] != "from the cache"
