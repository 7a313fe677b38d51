"""Run a module as ``__main__`` in a process group that dies with its backend.

Usage (run by path, so the package's heavy ``__init__`` is never imported)::

    python .../replicate_widgets/server/_cog/lifeline.py FD MODULE [ARGUMENTS...]

The backend starts this as the leader of a new session and keeps the write end
of a pipe whose read end is ``FD``. It never writes to it. A thread here blocks
reading ``FD``; end-of-file means no write end is left, because the backend
closed it (it stopped this model) or exited in any way at all, ``kill -9``, the
OOM killer and a kernel restart included, since the kernel closes a dead
process's descriptors. The thread then SIGKILLs the whole process group: this
process, the worker it spawned and whatever the model started in the group.
Then ``MODULE`` runs as ``python -m MODULE ARGUMENTS...`` would run it.

This needs the watching thread to get the GIL: coglet's server releases it
while it serves (measured). A process frozen with SIGSTOP cannot react, which is
why a starting backend also reaps the groups a dead one recorded
(:mod:`.group_records`). See ``docs/processes.md``.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
import threading


def _watch(fd: int) -> None:
    """Block until ``fd`` reaches end-of-file, then kill this process group."""
    try:
        while os.read(fd, 512):
            pass  # nothing is ever written; read on until the end
    except OSError:
        pass  # the lifeline is broken: fail closed, as if the backend died
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)  # not a group leader: only ourselves


def main() -> None:
    """Start watching the lifeline, then run the module as ``__main__``."""
    fd, module, *arguments = sys.argv[1:]
    lifeline = int(fd)
    # Only this process watches; the worker and model code need not hold it.
    os.set_inheritable(lifeline, False)
    threading.Thread(
        target=_watch, args=(lifeline,), name="lifeline", daemon=True
    ).start()
    # As with ``python -m``: the working directory first, not this folder.
    sys.path[0] = os.getcwd()
    sys.argv = [module, *arguments]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
