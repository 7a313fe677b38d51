"""Model processes never outlive the backend that started them.

Each test kills a real backend (a ``replicate-widgets serve`` process, or a
Jupyter kernel that embeds one) with SIGKILL while a prediction runs, then
watches the process table: every process the backend had started (coglet, its
worker) must be gone within a bounded wait. The tests never kill a model
process to pass (see ``ProcessTable.assert_gone`` in ``tests/conftest.py``).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import psutil
import pytest

if TYPE_CHECKING:
    from conftest import BackendProcesses, ProcessTable

pytest.importorskip("coglet")

from replicate_widgets.server._cog.group_records import GroupRecords

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ECHO = ROOT / "replicate_widgets" / "server" / "models" / "echo"


def _running_prediction(http: httpx.Client, url: str) -> dict[str, Any]:
    """Start a 60 s echo prediction and wait until the model runs it."""
    doc = http.post(
        f"{url}/models/demo/echo/predictions",
        json={"input": {"text": "x", "delay": 60}},
    ).json()
    deadline = time.monotonic() + 120
    while doc["status"] != "processing":
        assert doc["status"] == "starting", doc
        assert time.monotonic() < deadline, doc
        time.sleep(0.05)
        doc = http.get(doc["urls"]["get"]).json()
    return doc


def _model_processes(backend_pid: int) -> list[psutil.Process]:
    """Every process the backend started (coglet and its worker), at least two."""
    found = psutil.Process(backend_pid).children(recursive=True)
    described = [" ".join(p.cmdline()) for p in found]
    assert any("cog.server.http" in c for c in described), described
    assert any("_run_worker" in c for c in described), described
    return found


# ------------------------------------------------------------------------- tests
def test_backend_killed_with_sigkill_leaves_no_model_process(
    tmp_path: Path,
    backend_processes: BackendProcesses,
    process_table: ProcessTable,
) -> None:
    proc, url = backend_processes.start(tmp_path)
    with httpx.Client(timeout=60) as http:
        _running_prediction(http, url)
    models = _model_processes(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    process_table.assert_gone(models)


def test_new_backend_reaps_model_processes_a_killed_backend_left(
    tmp_path: Path,
    backend_processes: BackendProcesses,
    process_table: ProcessTable,
) -> None:
    proc, url = backend_processes.start(tmp_path)
    with httpx.Client(timeout=60) as http:
        _running_prediction(http, url)
    models = _model_processes(proc.pid)
    # Frozen, coglet cannot notice its backend die: the group outlives it, as
    # one whose lifeline failed would (only SIGKILL reaches a stopped process).
    coglet = next(p for p in models if "cog.server.http" in " ".join(p.cmdline()))
    coglet.suspend()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert all(process_table.running(p) for p in models)
    backend_processes.start(tmp_path)
    process_table.assert_gone(models)


def test_backend_sharing_a_data_dir_leaves_live_models_alone(
    tmp_path: Path,
    backend_processes: BackendProcesses,
    process_table: ProcessTable,
) -> None:
    # Kernels share the default data dir: a starting backend must tell a live
    # owner's model processes from a dead one's.
    first, url = backend_processes.start(tmp_path)
    with httpx.Client(timeout=60) as http:
        running = _running_prediction(http, url)
        models = _model_processes(first.pid)
        backend_processes.start(tmp_path)
        assert all(process_table.running(p) for p in models)
        assert http.get(running["urls"]["get"]).json()["status"] == "processing"


def test_stale_record_never_kills_a_group_that_is_not_its_own(
    tmp_path: Path, process_table: ProcessTable
) -> None:
    # A recorded group id can be reused once that group is empty: a process
    # group without the dead backend's mark is someone else's and must live.
    stranger = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"],
        start_new_session=True,
    )
    try:
        records = tmp_path / "processes"
        records.mkdir()
        stale = records / f"{uuid.uuid4().hex}.json"
        # Written by a backend that no longer runs (its start time differs).
        stale.write_text(
            json.dumps(
                {"pid": os.getpid(), "started": 0.0, "groups": {str(stranger.pid): ""}}
            )
        )
        assert GroupRecords(tmp_path).reap_stale() == 0
        assert process_table.running(psutil.Process(stranger.pid))
        assert not stale.exists()
    finally:
        stranger.kill()
        stranger.wait()


def test_kernel_killed_with_sigkill_takes_its_embedded_backend_models_along(
    tmp_path: Path, process_table: ProcessTable
) -> None:
    from jupyter_client.manager import KernelManager

    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REPLICATE_WIDGETS_DATA_DIR": str(tmp_path / "data"),
    }
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env=env, cwd=str(tmp_path))
    client = manager.client()
    try:
        client.start_channels()
        client.wait_for_ready(timeout=60)
        printed: queue.Queue[str] = queue.Queue()

        def keep(msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "stream":
                printed.put(msg["content"]["text"])

        reply = client.execute_interactive(
            "from replicate_widgets._widgets.backend import local_server\n"
            "print(local_server().url)",
            output_hook=keep,
            timeout=180,
        )
        assert reply["content"]["status"] == "ok", reply["content"]
        url = printed.get(timeout=5).strip()
        kernel_pid = manager.provisioner.pid
        with httpx.Client(timeout=60) as http:
            _running_prediction(http, url)
        models = _model_processes(kernel_pid)
        os.kill(kernel_pid, signal.SIGKILL)
        process_table.assert_gone(models)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
