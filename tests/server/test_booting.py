"""The local backend says ``booting`` only while a prediction waits for its model's
process to start: a client may then call it a cold boot, and only then.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from _backend import BUNDLED, wait_until

from replicate_widgets.server import serve

pytestmark = pytest.mark.integration


def _create(api: httpx.Client, delay: float) -> dict:
    return api.post(
        "models/demo/echo/predictions", json={"input": {"text": "x", "delay": delay}}
    ).json()


def _booting_while_starting(api: httpx.Client, doc: dict) -> set[object]:
    """Every ``booting`` value seen while ``doc`` was starting."""
    seen = set()
    while doc["status"] == "starting":
        seen.add(doc.get("booting"))
        time.sleep(0.02)
        doc = api.get(doc["urls"]["get"]).json()
    return seen


def test_booting_is_said_only_while_the_model_process_starts(tmp_path: Path):
    with (
        serve(
            port=0, models=[BUNDLED / "echo"], bundled=False, data_dir=tmp_path
        ) as server,
        httpx.Client(base_url=server.url + "/", timeout=60) as api,
    ):
        first = _create(api, 0)
        assert True in _booting_while_starting(api, first)
        assert "booting" not in wait_until(api, first["urls"]["get"])
        # The process is up: a run waiting behind another is queued, not booting.
        busy = _create(api, 3)
        wait_until(api, busy["urls"]["get"], {"processing"})
        queued = _create(api, 0)
        assert _booting_while_starting(api, queued) == {None}
        wait_until(api, queued["urls"]["get"])
