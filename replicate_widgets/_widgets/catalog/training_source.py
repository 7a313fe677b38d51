"""How :class:`~.trainer.Trainer` reaches the backend.

It resolves the version to train, and presents trainings with the surface a
PredictionPanel follows.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from replicate_widgets._client.checks import WIDGET_REF, short_ref
from replicate_widgets._client.streaming import StreamTracker
from replicate_widgets._client.types import (
    FileContent,
    Model,
    Prediction,
    StreamEvent,
    Training,
    Version,
)
from replicate_widgets._widgets.panel.output_files import NotDownloaded

if TYPE_CHECKING:
    from replicate_widgets._client.client import Client

__all__ = ["POLL_SECONDS", "TrainingSource", "model_name", "resolve_trainable"]

POLL_SECONDS = 1.0
"""Seconds between training polls (trainings run for minutes; the panel polls too)."""


class _TrainingCalls:
    def __init__(self, client: Client) -> None:
        self._client = client

    def get(self, training_id: str, /) -> Training:
        return self._client.trainings.get(training_id)

    def cancel(self, training_id: str, /) -> Training:
        return self._client.trainings.cancel(training_id)


class TrainingSource:
    """Present a client's trainings with the surface a PredictionPanel follows.

    Parameters
    ----------
    client
        The :class:`~replicate_widgets.Client` the trainings belong to.
    """

    def __init__(self, client: Client) -> None:
        self.client = client
        self.predictions = _TrainingCalls(client)
        """``get``/``cancel`` mapped to the training endpoints."""
        self._closed = threading.Event()

    def close(self) -> None:
        """Stop any polling started by :meth:`stream_prediction`."""
        self._closed.set()

    def stream_prediction(self, training: Prediction, /) -> Iterator[StreamEvent]:
        """Yield log lines and the end of ``training`` by polling it.

        Typed as the panel passes it (a `Prediction`, as to any client): only its
        id is used, and the run is fetched again from the training endpoint.
        """
        tracker = StreamTracker()
        current: Prediction = training
        while not self._closed.is_set():
            current = self.client.trainings.get(current.id)
            yield from tracker.catch_up(current)
            if tracker.done:
                return
            self._closed.wait(POLL_SECONDS)

    def read(self, _url: str, /) -> FileContent:
        """Refuse to download trained weights (they can be gigabytes)."""
        raise NotDownloaded(
            "weights stay on the backend (not downloaded: they can be gigabytes)."
        )


def resolve_trainable(
    client: Client, model: str | Model | Version
) -> tuple[Mapping[str, Any], str]:
    """Return the OpenAPI document and ``owner/name:version`` of the version to train.

    Raises
    ------
    TypeError
        For anything but ``'owner/name[:version]'``, a Model or a Version.
    ValueError
        For a malformed reference, a model without versions or a version without
        a schema.
    """
    if isinstance(model, Version):
        if not model.openapi_schema:
            raise ValueError(
                "This Version has no openapi_schema; pass 'owner/name' instead."
            )
        return model.openapi_schema, model.id
    ref = model.ref if isinstance(model, Model) else model
    if not isinstance(ref, str):
        raise TypeError(
            f"Trainer() takes 'owner/name[:version]', a Model or a Version, not "
            f"{type(model).__name__}."
        )
    match = WIDGET_REF.match(ref.strip())
    if not match:
        raise ValueError(
            f"{ref!r} is not a model reference. Use 'owner/name' or "
            "'owner/name:<64-character version id>', e.g. 'demo/text-stream'."
        )
    owner, name, version_id = match.groups()
    if version_id:
        version = client.versions.get(f"{owner}/{name}", version_id)
    else:
        latest = client.models.get(f"{owner}/{name}").latest
        if latest is None or not latest.id:
            raise ValueError(
                f"{owner}/{name} has no versions, so there is nothing to train."
            )
        version = latest
    if not version.openapi_schema:
        raise ValueError(f"{owner}/{name}:{version.id} has no openapi_schema.")
    return version.openapi_schema, f"{owner}/{name}:{version.id}"


def model_name(model: object) -> str:
    """Name a model, version or reference the way messages show it."""
    if isinstance(model, Model):
        return model.ref
    if isinstance(model, Version):
        return f"version {short_ref(model.id)}"
    return str(model)


if TYPE_CHECKING:  # mypy checks it against the protocol the panel follows runs with
    from replicate_widgets._widgets.sources import PredictionSource

    def _implements(source: TrainingSource) -> PredictionSource:
        return source
