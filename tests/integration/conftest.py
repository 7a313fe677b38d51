"""One local backend shared by the integration tests in this folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from replicate_widgets.server import serve

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "replicate_widgets" / "server" / "models"
MODELS = Path(__file__).resolve().parent / "models"


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory):
    """A running server: hello-world, echo, text-stream, kitchen, slow-trainer."""
    models = [
        BUNDLED / "hello-world",
        BUNDLED / "echo",
        BUNDLED / "text-stream",
        MODELS / "kitchen",
        MODELS / "slow-trainer",
    ]
    data = tmp_path_factory.mktemp("backend-data")
    with serve(port=0, models=models, bundled=False, data_dir=data) as server:
        yield server
