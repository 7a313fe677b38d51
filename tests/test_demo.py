"""`replicate-widgets demo`: the backend and JupyterLab start, and stop together."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DEMO = [sys.executable, "-m", "replicate_widgets", "demo"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_serves_the_quickstart_and_the_backend(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "REPLICATE_WIDGETS_DATA_DIR": str(tmp_path / "backend"),
    }
    proc = subprocess.Popen(
        [*DEMO, "--no-browser", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        backend = re.search(r"backend: (\S+)", lines[0]).group(1)
        lab = re.search(r"(http://127\.0\.0\.1:\d+/lab/tree/\S+)", lines[1]).group(1)
        assert backend.startswith("http://127.0.0.1:")
        assert f":{port}/lab/tree/01-quickstart.ipynb?token=" in lab
        token = lab.split("token=")[1]
        deadline = time.monotonic() + 60
        while True:
            try:
                status = httpx.get(
                    f"http://127.0.0.1:{port}/api/status",
                    headers={"Authorization": f"token {token}"},
                )
                if status.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "JupyterLab never answered"
            time.sleep(0.2)
        model = httpx.get(f"{backend}/models/replicate/hello-world").json()
        assert model["name"] == "hello-world"
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=40)
        if proc.stdout:
            proc.stdout.close()
    assert code in (0, -signal.SIGTERM, 128 + signal.SIGTERM)
    # Stopping the demo stopped its JupyterLab too.
    survivors = subprocess.run(
        ["pgrep", "-f", f"--ServerApp.port={port}"], capture_output=True, check=False
    )
    assert survivors.stdout == b""


def test_demo_without_notebooks_says_where_to_run_it(tmp_path):
    result = subprocess.run(
        [*DEMO, "--no-browser"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "make demo" in result.stderr
    assert "Traceback" not in result.stderr
