"""Shared test setup: every test runs offline against local state in temp folders."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
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


@pytest.fixture
def clean_client_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Clear the token and base URL for one test, and again after it.

    The client test modules use it for every test
    (``pytestmark = pytest.mark.usefixtures("clean_client_env")``).
    """
    import replicate_widgets._client.auth as _auth

    monkeypatch.delenv("REPLICATE_API_TOKEN", raising=False)
    monkeypatch.delenv("REPLICATE_BASE_URL", raising=False)
    _auth.set_token(None)
    yield
    _auth.set_token(None)


@pytest.fixture(scope="session")
def local_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The local backend with all bundled models, on 127.0.0.1, for the session."""
    from replicate_widgets.server import serve

    with serve(port=0, data_dir=tmp_path_factory.mktemp("local-backend")) as server:
        yield server


@pytest.fixture(scope="module")
def local_client(local_backend: Any) -> Iterator[Any]:
    """A Client of :func:`local_backend`, closed at the end of the module."""
    from replicate_widgets._client.client import Client

    with Client(base_url=local_backend.url) as client:
        yield client


class ProcessTable:
    """Watches processes the way a person would with ``ps``: zombies are gone."""

    @staticmethod
    def running(proc: psutil.Process) -> bool:
        """Tell whether ``proc`` still runs (a zombie has exited)."""
        try:
            return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    def assert_gone(
        self, processes: list[psutil.Process], within: float = 30.0
    ) -> None:
        """Assert that ``processes`` end by themselves within ``within`` seconds.

        For model processes after their backend died: the test never kills them
        to pass. A survivor is killed only once the assertion has failed, so one
        failing run does not leave models running on the machine.
        """
        deadline = time.monotonic() + within
        left = [p for p in processes if self.running(p)]
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = [p for p in left if self.running(p)]
        if not left:
            return
        described = []
        for proc in left:
            with contextlib.suppress(psutil.Error):
                described.append(f"{proc.pid}: {' '.join(proc.cmdline())}")
            with contextlib.suppress(psutil.Error):
                proc.kill()
        pytest.fail(
            f"{len(left)} process(es) still ran {within:.0f} s later:\n"
            + "\n".join(described)
        )


@pytest.fixture
def process_table() -> ProcessTable:
    """A :class:`ProcessTable` to assert that processes ended by themselves."""
    return ProcessTable()


_ROOT = Path(__file__).resolve().parents[1]
_ECHO = _ROOT / "replicate_widgets" / "server" / "models" / "echo"


class BackendProcesses:
    """Starts ``python -m replicate_widgets.server`` processes; each is stopped
    (SIGTERM, then SIGKILL) at the end of the test unless a test ended it first.
    """

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[str]] = []

    def start(self, data_dir: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
        """Start a backend serving ``demo/echo`` only; return it and its API URL."""
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "replicate_widgets.server",
                "--port",
                "0",
                "--no-bundled",
                "--model",
                str(_ECHO),
                "--data-dir",
                str(data_dir),
                *args,
            ],
            cwd=_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONPATH": str(_ROOT)},
        )
        self.started.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("Serving the Replicate API at "), line
        return proc, line.split(" at ")[1].split()[0]

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stdout:
                proc.stdout.close()


@pytest.fixture
def backend_processes() -> Iterator[BackendProcesses]:
    """Start backend processes of their own (to kill them, say) for one test."""
    processes = BackendProcesses()
    yield processes
    processes.stop_all()
