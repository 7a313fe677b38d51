"""Start and stop an isolated ``marimo run`` (or ``edit``) server for the browser tests.

127.0.0.1 only, an OS-chosen free port, no token (nothing but this test can reach the
loopback port in the short time it runs), this checkout on ``PYTHONPATH``, and a
throwaway ``HOME`` (``labharness.server_environment``): marimo reads its config from
the user's home, and the local backend keeps its history in a data dir, so nothing on
the machine leaks in or out.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from labharness import server_environment


def free_port() -> int:
    """A port nobody listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Marimo:
    """A running ``marimo run`` process and its address."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.proc, self.url, self.log_path = proc, url, log

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Stop marimo as a person would (SIGTERM, or SIGINT for Ctrl-C).

        Only marimo itself gets the signal: whatever else stops must be stopped by
        marimo (the model processes by their backend). SIGKILL to the group only if
        marimo hangs; the caller sees that in the return code.
        """
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode


def marimo_env(state: Path) -> dict[str, str]:
    """The environment for marimo: a fresh machine's (labharness), no cloud token.

    marimo reads its config from the home folder (``~/.config/marimo``), which is the
    throwaway one here; so are the local backend's data and the kept outputs.
    """
    env = {
        k: v
        for k, v in server_environment(state).items()
        # The notebooks run on the local backend: a token or base URL from the
        # person running the tests would send them to the cloud.
        if k not in {"REPLICATE_API_TOKEN", "REPLICATE_BASE_URL"}
        and not k.startswith(("REPLICATE_WIDGETS_", "MARIMO_"))
    }
    env["REPLICATE_WIDGETS_DATA_DIR"] = str(state / "replicate-widgets")
    return env


def start_marimo(
    notebook: Path, state: Path, mode: str = "run", timeout: float = 60
) -> Marimo:
    """Start ``marimo run notebook`` (or ``edit``); return once it answers HTTP.

    ``marimo run`` runs each page's kernel as a thread of the server; ``marimo edit``
    runs it as a process of its own, and runs the cells when the page opens only with
    ``auto_instantiate`` on (its config, in the throwaway home).
    """
    port = free_port()
    env = marimo_env(state)
    # A copy in the state folder: marimo writes a session cache (__marimo__/) next
    # to the notebook, which must not land in the checkout.
    notebook = Path(shutil.copy(notebook, state / notebook.name))
    if mode == "edit":
        config = Path(env["HOME"]) / ".config" / "marimo" / "marimo.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text("[runtime]\nauto_instantiate = true\n")
    cmd = [
        sys.executable,
        "-m",
        "marimo",
        mode,
        str(notebook),
        "--headless",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-token",
        "--no-sandbox",
    ]
    log_path = state / f"marimo-{mode}-{notebook.stem}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Kept outputs go to ./replicate-outputs: here too.
            cwd=state,
            # Its own group: a SIGKILL for a hung marimo reaches nothing else.
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    server = Marimo(proc, url, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"marimo exited {proc.returncode}:\n{log_path.read_text()}"
            )
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    server.stop()
    raise TimeoutError(f"marimo not ready after {timeout}s:\n{log_path.read_text()}")
