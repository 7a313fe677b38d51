"""The API token appears nowhere a person or a model could read it back.

A real backend on 127.0.0.1 with ``--token``; a Playground runs, keeps its outputs,
fails once, and is copied as code and shared. The token must not appear in any
widget's synced state, any snippet, the share HTML, any repr or traceback, the kept
files, the backend's SQLite database and files, or anything logged.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any

import pytest

from replicate_widgets import Client, ReplicateError
from replicate_widgets._widgets.playground.playground import Playground
from replicate_widgets.server import serve

TOKEN = "r8_S3cretT0kenNeverShown1234567890abcdef"
BUNDLED = Path(__file__).parents[2] / "replicate_widgets" / "server" / "models"


def _every_file(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _states(widget: Any) -> list[dict[str, Any]]:
    """The synced state of ``widget`` and every widget inside it."""
    import ipywidgets

    seen: list[dict[str, Any]] = []
    stack = [widget]
    while stack:
        w = stack.pop()
        if isinstance(w, ipywidgets.Widget):
            seen.append(w.get_state())
            stack.extend(getattr(w, "children", ()))
    return seen


@pytest.fixture
def server(tmp_path: Path) -> Any:
    models = [BUNDLED / "hello-world", BUNDLED / "text-stats", BUNDLED / "echo"]
    with serve(
        port=0, models=models, bundled=False, data_dir=tmp_path / "data", token=TOKEN
    ) as running:
        yield running


def test_the_token_appears_nowhere(
    server: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    kept = tmp_path / "kept"
    texts: list[str] = []
    with Client(base_url=server.url, api_token=TOKEN) as client:
        texts.append(repr(client))
        pg = Playground("demo/text-stats", client=client, keep=kept)
        done = pg.run(text="Short text. With two sentences.", signing_key="k3y")
        assert done.status == "succeeded"
        texts += [repr(pg), repr(done), str(done.output)]
        texts += [
            pg.code(lang) for lang in ("python", "replicate", "javascript", "curl")
        ]
        texts.append(pg.share().html)
        texts += [repr(s) for s in _states(pg)]
        failing = Playground("demo/echo", client=client, keep=kept)
        with pytest.raises(ReplicateError) as failed:
            failing.run(fail=True)
        texts.append("".join(traceback.format_exception(failed.value)))
        texts += [repr(s) for s in _states(failing)]
        with pytest.raises(ReplicateError) as missing:
            client.models.get("nobody/nothing")
        texts.append("".join(traceback.format_exception(missing.value)))
    texts.append(caplog.text)
    for text in texts:
        assert TOKEN not in text
    # Everything written to disk: kept outputs, the database, stored files.
    files = _every_file(kept) + _every_file(Path(server.data_dir))
    assert any(p.suffix in (".db", ".sqlite", ".sqlite3") for p in files), files
    for path in files:
        assert TOKEN.encode() not in path.read_bytes(), path
