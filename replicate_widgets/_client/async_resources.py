"""Resource namespaces of the :class:`AsyncClient`.

Each method only builds the endpoint's call (:mod:`.endpoints`) and executes it.
This is the source of the sync :mod:`.resources` (``scripts/unasync.py``
generates it); edit this file and regenerate, never the copy.
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import endpoints as ep
from .checks import check_json_input
from .files import FileInput, PreparedInput, prepare_input, read_file_input
from .types import (
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
    from .async_client import AsyncClient


class _Namespace:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def _upload(self, prepared: PreparedInput) -> dict[str, Any]:
        """Upload the files too big for data URLs; return the input with their URLs."""
        urls = []
        for upload in prepared.uploads:
            file = await self._client.files.create(
                upload.data, filename=upload.filename, content_type=upload.content_type
            )
            urls.append(file.url)
        return prepared.resolve(urls)


class AccountNamespace(_Namespace):
    """``client.account``."""

    async def get(self) -> Account:
        """Return the account that owns the token."""
        return await self._client._send(ep.account_get())


class Webhooks(_Namespace):
    """``client.webhooks``."""

    async def default_secret(self) -> WebhookSecret:
        """Return the secret used to sign webhook requests."""
        return await self._client._send(ep.webhook_secret_get())


class HardwareNamespace(_Namespace):
    """``client.hardware``."""

    async def list(self) -> list[Hardware]:
        """Hardware SKUs models can run on."""
        return await self._client._send(ep.hardware_list())


class Collections(_Namespace):
    """``client.collections``."""

    async def list(self) -> Page[Collection]:
        """Curated collections of models."""
        return await self._client._send(ep.collections_list())

    async def get(self, slug: str) -> Collection:
        """One collection, with its models."""
        return await self._client._send(ep.collections_get(slug))


class Models(_Namespace):
    """``client.models``."""

    async def list(
        self, sort_by: str | None = None, sort_direction: str | None = None
    ) -> Page[Model]:
        """List public models.

        ``sort_by`` is ``model_created_at`` or ``latest_version_created_at``;
        ``sort_direction`` is ``asc`` or ``desc``.
        """
        return await self._client._send(ep.models_list(sort_by, sort_direction))

    async def search(self, query: str) -> Page[Model]:
        """Models matching ``query``."""
        return await self._client._send(ep.models_search(query))

    async def create(
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
        return await self._client._send(
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

    async def get(self, ref: str) -> Model:
        """Get the model ``owner/name``."""
        return await self._client._send(ep.models_get(ref))

    async def update(
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
        return await self._client._send(
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

    async def delete(self, ref: str) -> None:
        """Delete the model ``owner/name`` (it must have no versions)."""
        await self._client._send(ep.models_delete(ref))

    async def readme(self, ref: str) -> str:
        """Return the model's README as Markdown."""
        return await self._client._send(ep.models_readme(ref))

    async def examples(self, ref: str) -> Page[Prediction]:
        """List the example predictions the author picked."""
        return await self._client._send(ep.models_examples(ref))


class Versions(_Namespace):
    """``client.versions``."""

    async def list(self, ref: str) -> Page[Version]:
        """Versions of ``owner/name``, newest first."""
        return await self._client._send(ep.versions_list(ref))

    async def get(self, ref: str, version_id: str) -> Version:
        """One version, with its OpenAPI schema."""
        return await self._client._send(ep.versions_get(ref, version_id))

    async def delete(self, ref: str, version_id: str) -> None:
        """Delete a version."""
        await self._client._send(ep.versions_delete(ref, version_id))


class Predictions(_Namespace):
    """``client.predictions``."""

    async def create(
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
        return await self._client._send(
            ep.predictions_create(
                ref,
                await self._upload(prepared),
                deployment=deployment,
                wait=wait,
                cancel_after=cancel_after,
                webhook=webhook,
                webhook_events_filter=webhook_events_filter,
            )
        )

    async def get(self, prediction: str | Prediction) -> Prediction:
        """Get the prediction's current state."""
        return await self._client._send(ep.predictions_get(prediction))

    async def cancel(self, prediction: str | Prediction) -> Prediction:
        """Cancel the prediction."""
        return await self._client._send(ep.predictions_cancel(prediction))

    async def list(
        self,
        created_after: str | datetime | None = None,
        created_before: str | datetime | None = None,
        source: str | None = None,
    ) -> Page[Prediction]:
        """Your predictions, newest first (``source='web'``: last 14 days only)."""
        return await self._client._send(
            ep.predictions_list(created_after, created_before, source)
        )

    async def wait(
        self, prediction: str | Prediction, *, poll_interval: float | None = None
    ) -> Prediction:
        """Poll until the prediction is terminal.

        Terminal: succeeded, failed, canceled or aborted.
        """
        interval = (
            self._client.poll_interval if poll_interval is None else poll_interval
        )
        current = (
            prediction
            if isinstance(prediction, Prediction)
            else await self.get(prediction)
        )
        while not current.is_terminal:
            await asyncio.sleep(interval)
            current = await self.get(current)
        return current


class Trainings(_Namespace):
    """``client.trainings``."""

    async def create(
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
        return await self._client._send(
            ep.trainings_create(
                ref,
                destination=destination,
                input=await self._upload(prepared),
                webhook=webhook,
                webhook_events_filter=webhook_events_filter,
            )
        )

    async def get(self, training: str | Training) -> Training:
        """Get the training's current state."""
        return await self._client._send(ep.trainings_get(training))

    async def cancel(self, training: str | Training) -> Training:
        """Cancel the training."""
        return await self._client._send(ep.trainings_cancel(training))

    async def list(self) -> Page[Training]:
        """Your trainings, newest first."""
        return await self._client._send(ep.trainings_list())


class Files(_Namespace):
    """``client.files``."""

    async def create(
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
        return await self._client._send(
            ep.files_create(
                data,
                filename=filename or name,
                content_type=content_type or ctype,
                metadata=metadata,
            )
        )

    async def get(self, file: str | File) -> File:
        """Get a file's details."""
        return await self._client._send(ep.files_get(file))

    async def list(self) -> Page[File]:
        """Your uploaded files."""
        return await self._client._send(ep.files_list())

    async def delete(self, file: str | File) -> None:
        """Delete a file."""
        await self._client._send(ep.files_delete(file))
