"""The local backend says ``booting`` only while a prediction waits for its model's
process to start: a client may then call it a cold boot, and only then.
"""

from __future__ import annotations

import os
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


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_prestart_starts_the_process_when_the_model_is_read(tmp_path: Path):
    with (
        serve(
            port=0,
            models=[BUNDLED / "echo"],
            bundled=False,
            data_dir=tmp_path,
            prestart=True,
        ) as server,
        httpx.Client(base_url=server.url + "/", timeout=60) as api,
    ):
        # Other tests' model processes may run under this process too.
        before = set(_coglet_children())
        api.get("models/demo/echo").raise_for_status()
        # The process starts with no run asked for; wait until it is settled.
        deadline = time.monotonic() + 60
        started: set[int] = set()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = set(_coglet_children()) - before
            if now and now == started:
                break
            started = now
        assert started, "no model process started when the model was read"
        first = _create(api, 0)
        assert wait_until(api, first["urls"]["get"])["status"] == "succeeded"
        # The run used the process started for it, not a new one.
        assert started <= set(_coglet_children())


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_without_prestart_reading_a_model_starts_nothing(tmp_path: Path):
    with (
        serve(
            port=0, models=[BUNDLED / "echo"], bundled=False, data_dir=tmp_path
        ) as server,
        httpx.Client(base_url=server.url + "/", timeout=60) as api,
    ):
        before = set(_coglet_children())
        api.get("models/demo/echo").raise_for_status()
        time.sleep(1)
        assert set(_coglet_children()) - before == set()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_prestart_starts_few_processes_one_at_a_time(tmp_path: Path):
    """Reading many models (a browser, a history) starts only the last few."""
    read = ["echo", "hello-world", "text-stats", "text-stream"]
    with (
        serve(
            port=0,
            models=[BUNDLED / name for name in read],
            bundled=False,
            data_dir=tmp_path,
            prestart=True,
        ) as server,
        httpx.Client(base_url=server.url + "/", timeout=60) as api,
    ):
        before = set(_coglet_children())
        paths = [_model_path(api, name) for name in read]
        time.sleep(1)
        assert _model_folders(before) == set()  # listing models starts nothing
        for path in paths:
            api.get(path).raise_for_status()
        # The first model read is displaced by the three read after it.
        expected = {(BUNDLED / name).resolve() for name in read[1:]}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _model_folders(before) != expected:
            time.sleep(0.5)
        assert _model_folders(before) == expected
        # The displaced model still runs: its first run starts it again.
        doc = api.post(f"{paths[0]}/predictions", json={"input": {"text": "x"}}).json()
        assert wait_until(api, doc["urls"]["get"])["status"] == "succeeded"


def _model_path(api: httpx.Client, name: str) -> str:
    """``models/{owner}/{name}`` of the loaded model called ``name``."""
    for model in api.get("models").json()["results"]:
        if model["name"] == name:
            return f"models/{model['owner']}/{name}"
    raise AssertionError(f"{name} is not loaded")


def _model_folders(before: set[int]) -> set[Path]:
    """The folders the model processes started since ``before`` run in."""
    folders = set()
    for pid in set(_coglet_children()) - before:
        try:
            folders.add(Path(os.readlink(f"/proc/{pid}/cwd")).resolve())
        except OSError:
            continue  # it ended meanwhile
    return folders


def _coglet_children() -> list[int]:
    """Process ids of this process's descendants that run coglet."""
    me = str(os.getpid())
    parents: dict[str, str] = {}
    commands: dict[str, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            commands[entry.name] = (
                (entry / "cmdline").read_bytes().decode("utf-8", "replace")
            )
        except OSError:
            continue
        parents[entry.name] = stat.rsplit(")", 1)[1].split()[1]
    found = []
    for pid, command in commands.items():
        if "coglet" not in command and "cog.server" not in command:
            continue
        ancestor = parents.get(pid)
        while ancestor and ancestor not in ("0", "1", me):
            ancestor = parents.get(ancestor)
        if ancestor == me:
            found.append(int(pid))
    return found
