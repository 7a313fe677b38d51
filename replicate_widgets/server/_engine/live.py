"""The record of a prediction or training that has not finished yet.

:class:`~.engine.Engine` keeps one per run in flight; the HTTP layer
(:mod:`replicate_widgets.server._web.exchange`) waits on it for ``Prefer: wait`` and
:mod:`.sessions` tracks which client's runs they are. It holds state only: the engine
changes it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from replicate_widgets.server._cog.models import LocalModel
from replicate_widgets.server._engine.sse import EventLog
from replicate_widgets.server._storage.files_store import LocalURL

from .webhooks import WebhookSender

__all__ = ["Live"]


@dataclass
class Live:
    """A prediction or training that has not finished yet."""

    doc: dict[str, Any]
    kind: str
    model: LocalModel
    model_input: dict[str, Any]
    iterator: bool
    events: EventLog
    output_schema: dict[str, Any] = field(default_factory=dict)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    dispatched: bool = False
    started: bool = False
    # What a stop (a cancel, or the Cancel-After deadline: "aborted") makes of the
    # run if it had not started, whoever reports the end first.
    stopped_as: str = ""
    task: asyncio.Task[None] | None = None
    deadline: asyncio.Task[None] | None = None
    webhook: WebhookSender | None = None
    destination: tuple[str, str] | None = None
    outputs: dict[str, LocalURL] = field(default_factory=dict)
    emitted: int = 0
    last_persist: float = 0.0
    flush: asyncio.Handle | None = None
