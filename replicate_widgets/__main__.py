"""The ``replicate-widgets`` command.

Subcommands: ``serve`` runs the local Replicate-compatible backend (same
options as ``python -m replicate_widgets.server``); ``demo`` starts that backend
and JupyterLab on the quickstart notebook (what ``make demo`` runs).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``replicate-widgets`` command line; return the exit status."""
    from ._demo import add_demo_arguments, run_demo
    from .server.__main__ import add_serve_arguments, run_serve

    parser = argparse.ArgumentParser(
        prog="replicate-widgets",
        description="Jupyter widgets for the Replicate HTTP API, and a local "
        "backend that runs Cog models.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the local Replicate-compatible API server",
        description="Serve the Replicate HTTP API locally, running Cog models "
        "with coglet.",
    )
    add_serve_arguments(serve)
    demo = commands.add_parser(
        "demo",
        help="start the local backend and JupyterLab on the quickstart notebook",
    )
    add_demo_arguments(demo)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return run_serve(args)
    if args.command == "demo":
        return run_demo(args)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
