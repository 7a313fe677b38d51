"""Start the processes of models someone is about to run: a few, one at a time.

With ``prestart`` (the backend embedded in a kernel), reading a model
(``GET /v1/models/{owner}/{name}``, the first thing a form does) starts its
process in the background, so it boots while the person reads the form. Every
client that reads models goes through that route, though: a browser opening
cards, a history showing entries of many models, a comparison of several. So
reading a model only asks for a start, and :class:`Prestarter` bounds them:

- **One start at a time**, the model read last first: processes starting side
  by side slow one another down (each imports its model and cog), and the
  next run most likely is of the model read last.
- **At most** :data:`LIMIT` **processes started this way and not yet used** by
  a run: reading one more model stops the process of the least recently read
  of them, or withdraws its start if it has not begun. A process a run has
  used is no longer the prestarter's: the usual idle timeout stops it, as it
  stops the unused ones that were never displaced.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from .instances import Instances

__all__ = ["LIMIT", "Prestarter"]

LIMIT = 3
"""Unused prestarted processes at once: the quickstart opens three Playgrounds."""


class Prestarter:
    """Starts the processes of recently read models, within :data:`LIMIT`.

    Parameters
    ----------
    limit
        How many models' processes may be started and left unused at once.
    """

    def __init__(self, limit: int = LIMIT) -> None:
        if limit < 1:
            raise ValueError(f"limit must be 1 or more, not {limit}")
        self.limit = limit
        # The models read last, least recent first: those it may keep started.
        self._recent: list[Instances] = []
        # Starts asked for and not yet begun, least recent first.
        self._wanted: list[Instances] = []
        self._worker: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def viewed(self, instances: Instances) -> None:
        """Note that a client read this model: start its process soon."""
        for queue in (self._recent, self._wanted):
            if instances in queue:
                queue.remove(instances)
            queue.append(instances)
        while len(self._recent) > self.limit:
            oldest = self._recent.pop(0)
            if oldest in self._wanted:
                self._wanted.remove(oldest)
            self._spawn(oldest.drop_prestart())
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._start_all())

    async def _start_all(self) -> None:
        while self._wanted:
            await self._wanted.pop().prestart()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop starting processes (the pool closes those already started)."""
        self._wanted.clear()
        tasks = [*self._tasks, *([self._worker] if self._worker else [])]
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks, return_exceptions=True)
