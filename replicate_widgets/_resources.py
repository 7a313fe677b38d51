"""Resource namespaces of the sync :class:`~replicate_widgets._client.Client`.

Each method only builds the endpoint's call (:mod:`._endpoints`) and executes it.
:mod:`._async_resources` is generated from this file (``await`` added, see
``tests/test_client_unasync.py``); edit this one and regenerate, never the copy.
"""

from __future__ import annotations

import mimetypes
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import _endpoints as ep
from ._checks import check_json_input
from ._files import FileInput, PreparedInput, prepare_input, read_file_input
from ._types import (
    Account,
    Collection,
    File,
    Hardware,
    Model,
    Page,
    Prediction,
    Training,
    Version,
    WebhookSecret,
)

if TYPE_CHECKING:
    from ._client import Client


class _Namespace:
    def __init__(self, client: Client) -> None:
        self._client = client

    def _upload(self, prepared: PreparedInput) -> dict[str, Any]:
        """Upload the files too big for data URLs; return the input with their URLs."""
        urls = []
        for upload in prepared.uploads:
            file = self._client.files.create(
                upload.data, filename=upload.filename, content_type=upload.content_type
            )
            urls.append(file.url)
        return prepared.resolve(urls)


class AccountNamespace(_Namespace):
    """``client.account``."""

    def get(self) -> Account:
        """Return the account that owns the token."""
        return self._client._send(ep.account_get())


class Webhooks(_Namespace):
    """``client.webhooks``."""

    def default_secret(self) -> WebhookSecret:
        """Return the secret used to sign webhook requests."""
        return self._client._send(ep.webhook_secret_get())


class HardwareNamespace(_Namespace):
    """``client.hardware``."""

    def list(self) -> list[Hardware]:
        """Hardware SKUs models can run on."""
        return self._client._send(ep.hardware_list())


class Collections(_Namespace):
    """``client.collections``."""

    def list(self) -> Page[Collection]:
        """Curated collections of models."""
        return self._client._send(ep.collections_list())

    def get(self, slug: str) -> Collection:
        """One collection, with its models."""
        return self._client._send(ep.collections_get(slug))


class Models(_Namespace):
    """``client.models``."""

    def list(
        self, sort_by: str | None = None, sort_direction: str | None = None
    ) -> Page[Model]:
        """List public models.

        ``sort_by`` is ``model_created_at`` or ``latest_version_created_at``;
        ``sort_direction`` is ``asc`` or ``desc``.
        """
        return self._client._send(ep.models_list(sort_by, sort_direction))

    def search(self, query: str) -> Page[Model]:
        """Models matching ``query``."""
        return self._client._send(ep.models_search(query))

    def create(
        self,
        owner: str,
        name: str,
        *,
        visibility: str,
        hardware: str,
        description: str | None = None,
        github_url: str | None = None,
        paper_url: str | None = None,
        license_url: str | None = None,
        cover_image_url: str | None = None,
    ) -> Model:
        """Create a model (``visibility`` is ``public`` or ``private``)."""
        return self._client._send(
            ep.models_create(
                owner,
                name,
                visibility=visibility,
                hardware=hardware,
                description=description,
                github_url=github_url,
                paper_url=paper_url,
                license_url=license_url,
                cover_image_url=cover_image_url,
            )
        )

    def get(self, ref: str) -> Model:
        """Get the model ``owner/name``."""
        return self._client._send(ep.models_get(ref))

    def update(
        self,
        ref: str,
        *,
        description: str | None = None,
        github_url: str | None = None,
        paper_url: str | None = None,
        license_url: str | None = None,
        weights_url: str | None = None,
        readme: str | None = None,
    ) -> Model:
        """Change a model's metadata; only the fields given are sent.

        Parameters
        ----------
        ref
            ``owner/name`` of a model you own.
        description, github_url, paper_url, license_url, weights_url
            New values (strings).
        readme
            The new README, in Markdown (read it back with :meth:`readme`).

        Returns
        -------
        Model
            The updated model.

        Raises
        ------
        ValueError
            When no field is given (before any request).
        """
        return self._client._send(
            ep.models_update(
                ref,
                {
                    "description": description,
                    "github_url": github_url,
                    "paper_url": paper_url,
                    "license_url": license_url,
                    "weights_url": weights_url,
                    "readme": readme,
                },
            )
        )

    def delete(self, ref: str) -> None:
        """Delete the model ``owner/name`` (it must have no versions)."""
        self._client._send(ep.models_delete(ref))

    def readme(self, ref: str) -> str:
        """Return the model's README as Markdown."""
        return self._client._send(ep.models_readme(ref))

    def examples(self, ref: str) -> Page[Prediction]:
        """List the example predictions the author picked."""
        return self._client._send(ep.models_examples(ref))


class Versions(_Namespace):
    """``client.versions``."""

    def list(self, ref: str) -> Page[Version]:
        """Versions of ``owner/name``, newest first."""
        return self._client._send(ep.versions_list(ref))

    def get(self, ref: str, version_id: str) -> Version:
        """One version, with its OpenAPI schema."""
        return self._client._send(ep.versions_get(ref, version_id))

    def delete(self, ref: str, version_id: str) -> None:
        """Delete a version."""
        self._client._send(ep.versions_delete(ref, version_id))


class Predictions(_Namespace):
    """``client.predictions``."""

    def create(
        self,
        ref: str | None = None,
        input: dict[str, Any] | None = None,
        *,
        deployment: str | None = None,
        wait: bool | int = False,
        cancel_after: str | float | None = None,
        webhook: str | None = None,
        webhook_events_filter: Sequence[str] | None = None,
    ) -> Prediction:
        """Start a prediction.

        Parameters
        ----------
        ref
            ``owner/name:version_id``, a 64-hex version id, or ``owner/name`` for
            official models.
        input
            Input values; ``Path``/``bytes``/file objects are sent as data URLs
            (<= 256 KB) or uploaded through the Files API.
        deployment
            ``owner/name`` of a deployment, instead of ``ref``.
        wait
            Hold the request until the prediction finishes: ``True`` (up to 60 s)
            or seconds 1-60. It may still come back unfinished; see :meth:`wait`.
        cancel_after
            Cancel automatically after this long (seconds, or ``'5m'``, ``'1h30m'``).
        webhook, webhook_events_filter
            URL to notify and which events (``start``, ``output``, ``logs``,
            ``completed``).
        """
        # Check everything that can be checked before uploading any file.
        ep.predictions_create(
            ref,
            {},
            deployment=deployment,
            wait=wait,
            cancel_after=cancel_after,
            webhook=webhook,
            webhook_events_filter=webhook_events_filter,
        )
        prepared = prepare_input(input if input is not None else {})
        check_json_input(prepared.resolve(["" for _ in prepared.uploads]))
        return self._client._send(
            ep.predictions_create(
                ref,
                self._upload(prepared),
                deployment=deployment,
                wait=wait,
                cancel_after=cancel_after,
                webhook=webhook,
                webhook_events_filter=webhook_events_filter,
            )
        )

    def get(self, prediction: str | Prediction) -> Prediction:
        """Get the prediction's current state."""
        return self._client._send(ep.predictions_get(prediction))

    def cancel(self, prediction: str | Prediction) -> Prediction:
        """Cancel the prediction."""
        return self._client._send(ep.predictions_cancel(prediction))

    def list(
        self,
        created_after: str | datetime | None = None,
        created_before: str | datetime | None = None,
        source: str | None = None,
    ) -> Page[Prediction]:
        """Your predictions, newest first (``source='web'``: last 14 days only)."""
        return self._client._send(
            ep.predictions_list(created_after, created_before, source)
        )

    def wait(
        self, prediction: str | Prediction, *, poll_interval: float | None = None
    ) -> Prediction:
        """Poll until the prediction is terminal.

        Terminal: succeeded, failed, canceled or aborted.
        """
        interval = (
            self._client.poll_interval if poll_interval is None else poll_interval
        )
        current = (
            prediction if isinstance(prediction, Prediction) else self.get(prediction)
        )
        while not current.is_terminal:
            time.sleep(interval)
            current = self.get(current)
        return current


class Trainings(_Namespace):
    """``client.trainings``."""

    def create(
        self,
        ref: str,
        *,
        destination: str,
        input: dict[str, Any],
        webhook: str | None = None,
        webhook_events_filter: Sequence[str] | None = None,
    ) -> Training:
        """Start training ``owner/name:version`` into the model ``destination``."""
        ep.trainings_create(
            ref,
            destination=destination,
            input={},
            webhook=webhook,
            webhook_events_filter=webhook_events_filter,
        )
        prepared = prepare_input(input)
        return self._client._send(
            ep.trainings_create(
                ref,
                destination=destination,
                input=self._upload(prepared),
                webhook=webhook,
                webhook_events_filter=webhook_events_filter,
            )
        )

    def get(self, training: str | Training) -> Training:
        """Get the training's current state."""
        return self._client._send(ep.trainings_get(training))

    def cancel(self, training: str | Training) -> Training:
        """Cancel the training."""
        return self._client._send(ep.trainings_cancel(training))

    def list(self) -> Page[Training]:
        """Your trainings, newest first."""
        return self._client._send(ep.trainings_list())


class Files(_Namespace):
    """``client.files``."""

    def create(
        self,
        file: FileInput,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> File:
        """Upload a file (at most 100 MB); pass ``.url`` as a model input."""
        data, name, ctype = read_file_input(file)
        if filename and content_type is None:
            ctype = mimetypes.guess_type(filename)[0] or ctype
        return self._client._send(
            ep.files_create(
                data,
                filename=filename or name,
                content_type=content_type or ctype,
                metadata=metadata,
            )
        )

    def get(self, file: str | File) -> File:
        """Get a file's details."""
        return self._client._send(ep.files_get(file))

    def list(self) -> Page[File]:
        """Your uploaded files."""
        return self._client._send(ep.files_list())

    def delete(self, file: str | File) -> None:
        """Delete a file."""
        self._client._send(ep.files_delete(file))
