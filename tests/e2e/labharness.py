"""Start and stop an isolated Jupyter server for the browser tests.

:func:`start_lab` runs ``jupyter lab`` (which also serves Voila's
``/voila/render/<path>``); :func:`start_notebook7` runs ``jupyter notebook``, Jupyter
Notebook 7 (``/notebooks/<path>``), in a server of its own. Its own because
jupyterlab_server writes each JupyterLab page's ``treePath``, ``workspace`` and
``mode`` into the server-wide ``page_config_data`` that Notebook 7's pages start
from: a Notebook 7 page served after a JupyterLab page in the same server inherits
the JupyterLab tree path, restores it, and fails with "Command 'filebrowser:open-path'
not registered" (the notebook page has no file browser). A person running
``jupyter notebook`` never meets that state, so the tests do not either.

127.0.0.1 only, an OS-chosen free port, a random token, and its own home, runtime,
config, data, settings and workspace directories, so nothing of the developer's
(``~/.jupyter``, ``~/.local/share/jupyter``, ``~/.ipython``, ``JUPYTER_PATH``...)
leaks in and nothing leaks out: the tests see what a fresh machine sees.
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
from replicate_widgets._client.client import Client
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
    """A running Jupyter server (``jupyter lab`` or ``jupyter notebook``) and how to
    talk to it."""

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


# Variables by which a developer's shell could point Jupyter or IPython at their own
# folders or builds; the test servers (and so their kernels) run without them.
OWN_ENVIRONMENT = (
    "JUPYTER_PATH",  # extra data folders: labextensions, kernelspecs
    "JUPYTER_CONFIG_PATH",  # extra config folders
    "JUPYTER_PREFER_ENV_PATH",
    "JUPYTERLAB_DIR",  # another JupyterLab build than this environment's
    "XDG_CONFIG_HOME",  # platform folders follow the throwaway HOME instead
    "XDG_DATA_HOME",
    "XDG_CACHE_HOME",
    "XDG_RUNTIME_DIR",
)


def server_environment(state_dir: Path) -> dict[str, str]:
    """The environment of a test server and its kernels: a fresh machine's.

    Every folder Jupyter and IPython read or write for a user lies under
    ``state_dir``, the home folder too (``~/.jupyter``, ``~/.local/share/jupyter``,
    IPython's start-up scripts, the user's site-packages are all the developer's).
    """
    home = state_dir / "home"
    dirs = {
        "HOME": home,
        "JUPYTER_RUNTIME_DIR": state_dir / "runtime",
        "JUPYTER_CONFIG_DIR": state_dir / "config",
        "JUPYTER_DATA_DIR": state_dir / "data",
        "JUPYTERLAB_SETTINGS_DIR": state_dir / "settings",
        "JUPYTERLAB_WORKSPACES_DIR": state_dir / "workspaces",
        "IPYTHONDIR": state_dir / "ipython",
    }
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    venv_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if k not in OWN_ENVIRONMENT}
    env.update({k: str(v) for k, v in dirs.items()})
    env.update(
        JUPYTER_PLATFORM_DIRS="1",
        # The kernelspec runs plain `python`: put this interpreter first on PATH, and
        # the source tree on PYTHONPATH, so the kernel imports this checkout.
        PATH=f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONPATH=os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
        ),
    )
    return env


def start_lab(root_dir: Path, state_dir: Path, timeout: float = 60) -> Lab:
    """Start ``jupyter lab`` serving ``root_dir``; return once its REST API answers."""
    return _start_server("jupyterlab", root_dir, state_dir, timeout)


def start_notebook7(root_dir: Path, state_dir: Path, timeout: float = 60) -> Lab:
    """Start ``jupyter notebook`` (Notebook 7) serving ``root_dir``, as a person would.

    Only Notebook 7's pages may be opened in it (see the module's docstring).
    """
    return _start_server("notebook", root_dir, state_dir, timeout)


def _start_server(module: str, root_dir: Path, state_dir: Path, timeout: float) -> Lab:
    """Run ``python -m <module>`` (``jupyterlab`` or ``notebook``) on 127.0.0.1."""
    env = server_environment(state_dir)
    runtime = Path(env["JUPYTER_RUNTIME_DIR"])
    settings = Path(env["JUPYTERLAB_SETTINGS_DIR"])
    workspaces = Path(env["JUPYTERLAB_WORKSPACES_DIR"])
    for rel, value in LAB_SETTINGS.items():
        (settings / rel).parent.mkdir(parents=True, exist_ok=True)
        (settings / rel).write_text(json.dumps(value))
    token = secrets.token_hex(16)
    cmd = [
        sys.executable,
        "-m",
        module,
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        # Both front ends load in either server (each is the other's extension):
        # the same settings for both (Notebook 7's notebook view reads JupyterLab's
        # plugin settings), and `window.jupyterapp` in both, so nbdriver's helpers
        # work in either.
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={workspaces}",
        "--LabApp.expose_app_in_browser=True",
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
                f"jupyter {module} exited {proc.returncode}:\n{log_path.read_text()}"
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
        f"jupyter {module} not ready after {timeout}s:\n{log_path.read_text()}"
    )
