"""Start and stop an isolated ``jupyter lab`` for the browser tests.

The same server serves Jupyter Notebook 7 (``/notebooks/<path>``) and Voila
(``/voila/render/<path>``): both are server extensions installed with the dev extra.

127.0.0.1 only, an OS-chosen free port, a random token, and its own runtime, config,
data, settings and workspace directories, so nothing on the machine leaks in or out.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "e2e"  # screenshots; git-ignored
BUNDLED = REPO / "replicate_widgets" / "server" / "models"
SETUP = """\
from replicate_widgets._client import Client
client = Client(base_url={url!r})"""
"""A notebook's first cell: a client of the test's backend (``SETUP.format(url=)``)."""
CHROMIUM = "/usr/bin/chromium"  # Debian's package; Playwright cannot download one here
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # a small /dev/shm in containers would crash it
]

# No "Jupyter news?" toast; every cell attached to the DOM (JupyterLab 4.6's default
# windowing can leave off-screen cells, and so widgets, unrendered).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none"
    },
    # Save widget state into the notebook, as a person sharing results would, so
    # tests can check what a saved notebook contains.
    "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings": {
        "saveState": True
    },
}


class Lab:
    """A running ``jupyter lab`` process and how to talk to it."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        url: str,
        token: str,
        runtime: Path,
        log: Path,
    ) -> None:
        self.proc, self.url, self.token = proc, url.rstrip("/"), token
        self.runtime_dir, self.log_path = runtime, log
        self.root = Path()

    def page_url(self, path: str) -> str:
        """URL for the browser; ``?token=`` logs it in (sets a cookie) on first load."""
        return f"{self.url}/{path.lstrip('/')}?token={self.token}"

    def api(self, path: str, method: str = "GET") -> Any:
        """REST call; the token header also exempts writes from the XSRF check."""
        req = urllib.request.Request(
            f"{self.url}/api/{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_sessions(self) -> None:
        """Stop every kernel the browser started, so the next test gets a fresh one."""
        for s in self.api("sessions"):
            self.api(f"sessions/{s['id']}", method="DELETE")

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM (jupyter_server then stops its kernels); SIGKILL if stuck."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def start_lab(root_dir: Path, state_dir: Path, timeout: float = 60) -> Lab:
    """Start ``jupyter lab`` serving ``root_dir``; return once its REST API answers."""
    runtime, settings = state_dir / "runtime", state_dir / "settings"
    workspaces = state_dir / "workspaces"
    for d in (runtime, settings, workspaces, state_dir / "config", state_dir / "data"):
        d.mkdir(parents=True, exist_ok=True)
    for rel, value in LAB_SETTINGS.items():
        (settings / rel).parent.mkdir(parents=True, exist_ok=True)
        (settings / rel).write_text(json.dumps(value))
    token = secrets.token_hex(16)
    venv_bin = str(Path(sys.executable).parent)
    env = dict(
        os.environ,
        JUPYTER_RUNTIME_DIR=str(runtime),
        JUPYTER_CONFIG_DIR=str(state_dir / "config"),
        JUPYTER_DATA_DIR=str(state_dir / "data"),
        JUPYTER_PLATFORM_DIRS="1",
        # The kernelspec runs plain `python`: put this interpreter first on PATH, and
        # the source tree on PYTHONPATH, so the kernel imports this checkout.
        PATH=f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONPATH=os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
        ),
    )
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={workspaces}",
        "--LabApp.expose_app_in_browser=True",
        # Jupyter Notebook 7 (the `notebook` package, a server extension that loads
        # with JupyterLab's): /notebooks/<path> in the same server, with the same
        # settings (its notebook view reads JupyterLab's plugin settings) and
        # `window.jupyterapp` too, so nbdriver's helpers work in both front ends.
        f"--JupyterNotebookApp.user_settings_dir={settings}",
        f"--JupyterNotebookApp.workspaces_dir={workspaces}",
        "--JupyterNotebookApp.expose_app_in_browser=True",
    ]
    log_path = state_dir / "jupyter.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=root_dir,
            start_new_session=True,
        )
    info = runtime / f"jpserver-{proc.pid}.json"  # written once the port is bound
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"jupyter lab exited {proc.returncode}:\n{log_path.read_text()}"
            )
        if info.exists():
            try:
                lab = Lab(
                    proc, json.loads(info.read_text())["url"], token, runtime, log_path
                )
                lab.api("status")
                return lab
            except (ValueError, OSError):
                pass
        time.sleep(0.1)
    Lab(proc, "", token, runtime, log_path).stop()
    raise TimeoutError(
        f"jupyter lab not ready after {timeout}s:\n{log_path.read_text()}"
    )
