"""Faults: a model process killed mid-prediction; the server killed, restarted."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import psutil
import pytest

from replicate_widgets.server import serve

if TYPE_CHECKING:
    from conftest import BackendProcesses, ProcessTable

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
ECHO = ROOT / "replicate_widgets" / "server" / "models" / "echo"
TERMINAL = {"succeeded", "failed", "canceled", "aborted"}


def _children(pid: int) -> list[int]:
    """Return the pids whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _coglets(pid: int) -> list[int]:
    out = []
    for child in _children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"cog.server.http" in cmdline:
            out.append(child)
    return out


def _wait(
    http: httpx.Client, url: str, statuses: set[str], timeout: float = 60
) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        doc = http.get(url).json()
        if doc["status"] in statuses:
            return doc
        assert time.monotonic() < deadline, doc
        time.sleep(0.05)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def test_killed_model_process_fails_the_prediction_and_recovers(tmp_path: Path) -> None:
    with (
        serve(models=[ECHO], bundled=False, data_dir=tmp_path) as server,
        httpx.Client(timeout=60) as http,
    ):
        url = f"{server.url}/models/demo/echo/predictions"
        running = http.post(url, json={"input": {"text": "x", "delay": 60}}).json()
        _wait(http, running["urls"]["get"], {"processing"})
        coglets = _coglets(os.getpid())
        assert len(coglets) == 1
        _kill_group(coglets[0])
        failed = _wait(http, running["urls"]["get"], TERMINAL)
        assert failed["status"] == "failed"
        assert (
            "crash" in failed["error"].lower() or "stopped" in failed["error"].lower()
        )
        assert "Traceback" not in failed["error"]
        nxt = http.post(
            url, json={"input": {"text": "again"}}, headers={"Prefer": "wait"}
        ).json()
        assert nxt["status"] == "succeeded"
        assert nxt["output"] == "again"


def test_model_crash_by_its_own_hand_is_reported(tmp_path: Path) -> None:
    with (
        serve(models=[ECHO], bundled=False, data_dir=tmp_path) as server,
        httpx.Client(timeout=60) as http,
    ):
        url = f"{server.url}/models/demo/echo/predictions"
        crashed = http.post(
            url, json={"input": {"crash": True}}, headers={"Prefer": "wait"}
        ).json()
        crashed = _wait(http, crashed["urls"]["get"], TERMINAL)
        assert crashed["status"] == "failed"
        assert "crash" in crashed["error"].lower()
        nxt = http.post(
            url, json={"input": {"text": "fine"}}, headers={"Prefer": "wait"}
        ).json()
        assert nxt["output"] == "fine"


def test_killed_server_keeps_history_and_fails_running_ones(
    tmp_path: Path, process_table: ProcessTable, backend_processes: BackendProcesses
) -> None:
    proc, url = backend_processes.start(tmp_path)
    with httpx.Client(timeout=60) as http:
        done = http.post(
            f"{url}/models/demo/echo/predictions",
            json={"input": {"text": "kept"}},
            headers={"Prefer": "wait"},
        ).json()
        assert done["status"] == "succeeded"
        running = http.post(
            f"{url}/models/demo/echo/predictions",
            json={"input": {"text": "lost", "delay": 60}},
        ).json()
        _wait(http, running["urls"]["get"], {"processing"})
    models = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # Its model processes died with it; nothing here kills them.
    process_table.assert_gone(models)
    proc, url = backend_processes.start(tmp_path)
    with httpx.Client(timeout=60) as http:
        kept = http.get(f"{url}/predictions/{done['id']}").json()
        assert kept["status"] == "succeeded"
        assert kept["output"] == "kept"
        lost = http.get(f"{url}/predictions/{running['id']}").json()
        assert lost["status"] == "failed"
        assert "stopped while this prediction was running" in lost["error"]
        assert lost["completed_at"].endswith("Z")
        listed = [p["id"] for p in http.get(f"{url}/predictions").json()["results"]]
        assert listed == [running["id"], done["id"]]
        again = http.post(
            f"{url}/models/demo/echo/predictions",
            json={"input": {"text": "after"}},
            headers={"Prefer": "wait"},
        ).json()
        assert again["output"] == "after"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--notebooks", "/nonexistent"], "No 01-quickstart.ipynb"),
        (["serve", "--host", "0.0.0.0"], "without a token"),
        (["serve", "--no-bundled", "--model", "/nonexistent/model"], "not a folder"),
    ],
)
def test_cli_reports_mistakes(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "replicate_widgets", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
