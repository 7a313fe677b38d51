"""What a PredictionPanel needs of a client: the seam between widgets and backends.

The panel follows a run through four calls: fetch it, cancel it, stream its events
and read an output file. :class:`~replicate_widgets.Client` and
:class:`~replicate_widgets.AsyncClient` provide them, and so does the Trainer's
``TrainingSource`` (a training is a prediction with a destination). Written as
protocols, mypy checks each of them against the surface the panel uses instead of
a ``client: Any`` that would accept anything.

Parameters are positional-only: the panel passes them by position, and an
implementation may name them as it likes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Protocol

from replicate_widgets._client.types import FileContent, Prediction, StreamEvent

__all__ = [
    "AsyncPredictionCalls",
    "AsyncPredictionSource",
    "PredictionCalls",
    "PredictionSource",
    "RunSource",
]


class PredictionCalls(Protocol):
    """``client.predictions`` of a blocking client."""

    def get(self, prediction_id: str, /) -> Prediction:
        """Return the run's current state."""
        ...

    def cancel(self, prediction_id: str, /) -> Prediction:
        """Ask the backend to stop the run; its state after asking."""
        ...


class PredictionSource(Protocol):
    """A blocking client, as the panel uses it (e.g. ``Client``)."""

    @property
    def predictions(self) -> PredictionCalls:
        """Fetch and cancel runs."""
        ...

    def stream_prediction(self, prediction: Prediction, /) -> Iterator[StreamEvent]:
        """Yield the run's events until ``done``."""
        ...

    def read(self, url: str, /) -> FileContent:
        """Read an output file (URL or ``data:`` URI) with the client's auth."""
        ...


class AsyncPredictionCalls(Protocol):
    """``client.predictions`` of an asyncio client."""

    async def get(self, prediction_id: str, /) -> Prediction:
        """Return the run's current state."""
        ...

    async def cancel(self, prediction_id: str, /) -> Prediction:
        """Ask the backend to stop the run; its state after asking."""
        ...


class AsyncPredictionSource(Protocol):
    """An asyncio client, as the panel uses it (e.g. ``AsyncClient``)."""

    @property
    def predictions(self) -> AsyncPredictionCalls:
        """Fetch and cancel runs."""
        ...

    def stream_prediction(
        self, prediction: Prediction, /
    ) -> AsyncIterator[StreamEvent]:
        """Yield the run's events until ``done``."""
        ...

    async def read(self, url: str, /) -> FileContent:
        """Read an output file (URL or ``data:`` URI) with the client's auth."""
        ...


RunSource = PredictionSource | AsyncPredictionSource
"""Anything a PredictionPanel can follow a run with."""


if TYPE_CHECKING:  # mypy checks each implementation against its protocol here
    from replicate_widgets._client.async_client import AsyncClient
    from replicate_widgets._client.client import Client

    def _implementations(
        sync: Client, asyncio: AsyncClient
    ) -> tuple[PredictionSource, AsyncPredictionSource]:
        return sync, asyncio
