"""``python -m replicate_widgets.server``: run the local backend until Ctrl-C.

The same options back ``replicate-widgets serve``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from ._storage.model_files import ModelLoadError


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``serve`` options to ``parser``."""
    parser.add_argument(
        "--port",
        type=int,
        default=8000,
        help="TCP port (default 8000; 0 picks a free one)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to bind (default 127.0.0.1; any other "
        "address requires --token)",
    )
    parser.add_argument(
        "--model",
        action="extend",
        nargs="+",
        default=[],
        metavar="DIR|NAME=URL",
        help="Cog model folder(s) to serve (repeatable); NAME=http://HOST:PORT "
        "serves a Cog server already running there (docker run of a Replicate "
        "model, cog serve, coglet) as local/NAME, never starting or stopping it",
    )
    parser.add_argument(
        "--instances",
        type=int,
        default=1,
        metavar="N",
        help="processes each model version may run on at once (default 1); "
        "with GPUs, each gets its own CUDA_VISIBLE_DEVICES",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help="where history and files persist (default "
        "$REPLICATE_WIDGETS_DATA_DIR or ~/.cache/replicate-widgets)",
    )
    parser.add_argument(
        "--token", default=None, help="require 'Authorization: Bearer TOKEN' on the API"
    )
    parser.add_argument(
        "--public-url",
        default=None,
        metavar="URL",
        help="the URL clients reach the server at (e.g. behind a reverse proxy); "
        "every URL the server hands out starts with it",
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        metavar="N",
        help="allow at most N prediction creations per second",
    )
    parser.add_argument(
        "--no-bundled",
        action="store_true",
        help="do not serve the bundled example models",
    )


def run_serve(args: argparse.Namespace) -> int:
    """Start the server from parsed options and block until SIGINT/SIGTERM."""
    from . import serve

    try:
        server = serve(
            port=args.port,
            models=args.model,
            host=args.host,
            data_dir=args.data_dir,
            token=args.token,
            rate_limit=args.rate_limit,
            bundled=not args.no_bundled,
            public_url=args.public_url,
            instances=args.instances,
        )
    except (ValueError, OSError, ModelLoadError, RuntimeError) as exc:
        sys.stderr.write(f"replicate-widgets: {exc}\n")
        return 2
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    # Tests and scripts read this line to find the port.
    sys.stdout.write(
        f"Serving the Replicate API at {server.url} (data in {server.data_dir})\n"
    )
    sys.stdout.flush()
    while not stop.wait(0.5):
        if not server.running:
            sys.stderr.write("replicate-widgets: the server stopped unexpectedly\n")
            return 1
    server.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m replicate_widgets.server``."""
    parser = argparse.ArgumentParser(
        prog="python -m replicate_widgets.server",
        description="Serve the Replicate HTTP API locally, running Cog models "
        "with coglet.",
    )
    add_serve_arguments(parser)
    return run_serve(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
