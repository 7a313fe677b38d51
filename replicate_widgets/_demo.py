"""``replicate-widgets demo``: the local backend and JupyterLab on the quickstart."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

from ._widgets.backend import LOCAL_URL_ENV

_DEFAULT_NOTEBOOK = "01-quickstart.ipynb"


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``demo`` subcommand's options to ``parser``."""
    parser.add_argument(
        "--port", type=int, default=8888, help="JupyterLab's port (default 8888)"
    )
    parser.add_argument(
        "--notebooks",
        type=Path,
        default=Path("notebooks"),
        help="folder with the tutorial notebooks (default ./notebooks)",
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="do not open a web browser"
    )


def run_demo(args: argparse.Namespace) -> int:
    """Start the local backend and JupyterLab; return when JupyterLab stops."""
    folder: Path = args.notebooks.resolve()
    if not (folder / _DEFAULT_NOTEBOOK).is_file():
        sys.stderr.write(
            f"No {_DEFAULT_NOTEBOOK} in {folder}. Run 'make demo' from the "
            "replicate-widgets checkout, or pass --notebooks <folder>.\n"
        )
        return 2
    from .server import serve

    # One backend for every kernel JupyterLab starts: models stay warm between
    # notebooks and they all share one history.
    server = serve(port=0)
    token = secrets.token_urlsafe(24)
    env = dict(os.environ, **{LOCAL_URL_ENV: server.url})
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        f"--notebook-dir={folder}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={args.port}",
        "--ServerApp.port_retries=20",
        f"--IdentityProvider.token={token}",
        "--ServerApp.open_browser=False" if args.no_browser else "",
        f"--LabApp.default_url=/lab/tree/{_DEFAULT_NOTEBOOK}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers often run as root
        command.append("--allow-root")
    print(f"Local Replicate backend: {server.url}", flush=True)  # noqa: T201
    print(  # noqa: T201
        f"JupyterLab (port {args.port} or the next free one): "
        f"http://127.0.0.1:{args.port}/lab/tree/{_DEFAULT_NOTEBOOK}?token={token}\n"
        "JupyterLab prints the exact URL below. Stop with Ctrl+C.",
        flush=True,
    )
    process = subprocess.Popen([c for c in command if c], env=env)

    def _stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # same clean stop as Ctrl+C: JupyterLab goes too

    signal.signal(signal.SIGTERM, _stop)
    try:
        return process.wait()
    except KeyboardInterrupt:
        # SIGTERM makes jupyter_server shut its kernels down without asking (a
        # SIGINT would wait for a confirmation nobody can type here).
        process.terminate()
        try:
            return process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()
    finally:
        server.close()
