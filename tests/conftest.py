"""Shared test setup: every test runs offline against local state in temp folders."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Set before any test module imports the package: the embedded local backend and
# the kept outputs must never touch the developer's real folders, and no test may
# reach api.replicate.com because a token happens to be set in the shell.
_STATE = Path(tempfile.mkdtemp(prefix="rw-tests-"))
os.environ["REPLICATE_WIDGETS_DATA_DIR"] = str(_STATE / "backend")
os.environ["REPLICATE_WIDGETS_OUTPUTS"] = str(_STATE / "outputs")
for name in (
    "REPLICATE_API_TOKEN",
    "REPLICATE_BASE_URL",
    "REPLICATE_WIDGETS_LOCAL_URL",
):
    os.environ.pop(name, None)


@pytest.fixture(scope="session")
def local_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The local backend with all bundled models, on 127.0.0.1, for the session."""
    from replicate_widgets.server import serve

    with serve(port=0, data_dir=tmp_path_factory.mktemp("local-backend")) as server:
        yield server


@pytest.fixture(scope="module")
def local_client(local_backend: Any) -> Iterator[Any]:
    """A Client of :func:`local_backend`, closed at the end of the module."""
    from replicate_widgets._client import Client

    with Client(base_url=local_backend.url) as client:
        yield client
