"""Rules that used to be written in several places, each now in one: tested once.

Each test checks every user of a rule gives the same answer, so a second copy that
drifts (as the four model-name patterns once did) fails here.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import replicate_widgets.server._catalog.remote as _remote
import replicate_widgets.server._cog.models as _models
import replicate_widgets.server._storage.model_files as _model_files
from replicate_widgets._client.http import is_loopback
from replicate_widgets._client.progress import Progress, strip_ansi
from replicate_widgets._client.types import Prediction
from replicate_widgets._model_names import (
    BUNDLED_DIR,
    bundled_model_refs,
    is_model_name,
)
from replicate_widgets._schema.secrets import mask_values
from replicate_widgets._secret_mask import SECRET_MASK, SecretMask
from replicate_widgets._widgets.catalog.names import check_model_name
from replicate_widgets._widgets.media import prepare_image, thumbnail
from replicate_widgets._widgets.notices import bundled_model_names
from replicate_widgets._widgets.panel.state import PanelState
from replicate_widgets.server._web.app import Gate, _split_host

NAMES = {
    "sdxl": True,
    "flux-1.1-pro": True,
    "a": True,
    "my_model.v2": True,
    "trailing-": False,  # the model loader used to accept this one
    "-leading": False,
    "Upper": False,
    "": False,
    "with space": False,
    "dot.": False,
}


@pytest.mark.parametrize(("name", "valid"), sorted(NAMES.items()))
def test_model_name_grammar_is_the_same_everywhere(
    name: str, valid: bool, tmp_path: Path
) -> None:
    assert is_model_name(name) is valid
    # the Create Model widget
    assert (check_model_name(name) is None) is valid
    # the backend's --remote NAME=URL option
    if valid:
        assert _remote.parse_remote_spec(f"{name}=http://127.0.0.1:5000") is not None
    else:
        with pytest.raises(ValueError, match="not a valid model name"):
            _remote.parse_remote_spec(f"{name}=http://127.0.0.1:5000")
    # the backend's model loader checks the name before it looks at the folder
    # ("" means "the folder's name" there)
    if not valid and name:
        with pytest.raises(_model_files.ModelLoadError, match="not a valid model name"):
            _models.load_model(tmp_path, name=name)


def test_bundled_model_names_come_from_one_reader() -> None:
    refs = bundled_model_refs()
    assert ("replicate", "hello-world") in refs.values()
    assert all(is_model_name(o) and is_model_name(n) for o, n in refs.values())
    expected = sorted(f"{o}/{n}" for o, n in refs.values())
    assert bundled_model_names() == expected
    assert len(refs) == len(list(BUNDLED_DIR.glob("*/predict.py")))


def test_public_progress_and_the_panel_read_a_coloured_bar_alike() -> None:
    coloured = (
        "step\n\x1b[32m 38%|\x1b[1m###8      \x1b[0m| 19/50 [00:01<00:02]\x1b[0m\r"
    )
    prediction = Prediction.from_json(
        {"id": "p1", "status": "processing", "logs": coloured}
    )
    assert prediction.progress == Progress(19 / 50, 19, 50)
    assert Progress.parse(coloured) == prediction.progress
    state = PanelState()
    state.logs.replace(coloured)
    assert state.progress() == {"fraction": 19 / 50, "current": 19, "total": 50}


def test_one_ansi_pattern_strips_colours_and_titles() -> None:
    text = "\x1b]0;title\x07\x1b[1;31mred\x1b[0m \x1b[?25lplain\x1b]8;;u\x1b\\"
    assert strip_ansi(text) == "red plain"


def test_both_downscalers_share_the_decompression_bomb_guard(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (200, 200), "red").save(buf, format="PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)  # 40,000 > 2 x limit
    with pytest.raises(Image.DecompressionBombError):
        prepare_image(buf.getvalue(), 64)
    with pytest.raises(Image.DecompressionBombError):
        thumbnail(buf.getvalue(), 64)


def test_client_and_backend_mask_secrets_with_one_walk() -> None:
    document = {
        "components": {
            "schemas": {
                "Input": {
                    "properties": {
                        "key": {"type": "string", "format": "password"},
                        "keys": {"type": "array", "items": {"$ref": "#/x/0"}},
                        "text": {"type": "string"},
                    }
                }
            }
        },
        "x": [{"type": "string", "x-cog-secret": True}],
    }
    values = {"key": "sk-1", "keys": ["sk-2", "sk-3"], "text": "shown"}
    expected = {"key": SECRET_MASK, "keys": [SECRET_MASK] * 2, "text": "shown"}
    assert mask_values(values, document) == expected
    assert SecretMask(document).mask(values) == expected


def test_every_widget_reads_a_models_schema_and_run_reference_alike(
    local_client: Any,
) -> None:
    """Playground, Compare/Sweep and History look a model up through find_model."""
    from replicate_widgets._widgets.compare.plan import resolve_model
    from replicate_widgets._widgets.history.history import fetch_schema
    from replicate_widgets._widgets.playground.load import resolve

    model = local_client.models.get("replicate/hello-world")
    version = model.latest_version["id"]
    for ref in ("replicate/hello-world", f"replicate/hello-world:{version}"):
        played = resolve(local_client, ref)
        run_ref, planned = resolve_model(local_client, ref)
        assert played.ref == run_ref
        assert [f.name for f in planned.inputs] == ["text"]
        assert played.doc == model.latest_version["openapi_schema"]
    history = fetch_schema(local_client, "replicate/hello-world", version)
    assert history is not None
    assert [f.name for f in history.inputs] == ["text"]
    # A run whose version is gone still shows its inputs (the latest schema).
    gone = "0" * 64
    assert fetch_schema(local_client, "replicate/hello-world", gone) is not None
    with pytest.raises(ValueError, match="not a model reference"):
        resolve(local_client, "hello world")
    with pytest.raises(ValueError, match="not a model reference"):
        resolve_model(local_client, "hello world")


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.8.9.10",
        "[::1]",
        "localhost",
        "LocalHost.",
        "app.localhost",
        "localhost.evil.test",
        "127.0.0.1.evil.test",
        "10.0.0.2",
        "[::2]",
        "evil.test",
    ],
)
def test_the_client_and_the_gate_agree_on_which_hosts_are_this_machine(
    host: str,
) -> None:
    gate = Gate(app=None, token=None)  # type: ignore[arg-type]
    split = _split_host(f"{host}:8000", "http")
    assert split is not None
    assert gate._served_name(split) is is_loopback(f"http://{host}:8000/v1")
