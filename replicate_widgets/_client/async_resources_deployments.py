"""``client.deployments``: manage deployments and run predictions on them.

Split from :mod:`.async_resources` to keep modules small; like it, each method
only builds the endpoint's call (:mod:`.endpoints_deployments`) and executes it.
This is the source of the sync :mod:`.resources_deployments` (``scripts/unasync.py``
generates it); edit this file and regenerate, never the copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import endpoints_deployments as dep
from .async_resources import _Namespace
from .types import Page, Prediction
from .types_deployments import Deployment

if TYPE_CHECKING:
    from .async_client import AsyncClient


class Deployments(_Namespace):
    """``client.deployments``: list, get, create, update, delete; predictions."""

    def __init__(self, client: AsyncClient) -> None:
        super().__init__(client)
        self.predictions = _DeploymentPredictions(client)
        """``client.deployments.predictions``."""

    async def list(self) -> Page[Deployment]:
        """Your deployments, newest first."""
        return await self._client._send(dep.deployments_list())

    async def get(self, ref: str) -> Deployment:
        """Get the deployment ``owner/name`` with its current release."""
        return await self._client._send(dep.deployments_get(ref))

    async def create(
        self,
        *,
        name: str,
        model: str,
        version: str,
        hardware: str,
        min_instances: int,
        max_instances: int,
    ) -> Deployment:
        """Create a deployment of one model version under your account.

        Parameters
        ----------
        name
            The deployment's name alone (``my-app``); it becomes ``account/name``.
        model
            ``owner/name`` of the model to deploy.
        version
            The 64-character id of the version to run.
        hardware
            A SKU from ``client.hardware.list()``, e.g. ``cpu`` or ``gpu-t4``.
        min_instances, max_instances
            Autoscaling bounds (``min_instances <= max_instances``).

        Returns
        -------
        Deployment
            The new deployment, at release 1.
        """
        return await self._client._send(
            dep.deployments_create(
                name=name,
                model=model,
                version=version,
                hardware=hardware,
                min_instances=min_instances,
                max_instances=max_instances,
            )
        )

    async def update(
        self,
        ref: str,
        *,
        version: str | None = None,
        hardware: str | None = None,
        min_instances: int | None = None,
        max_instances: int | None = None,
    ) -> Deployment:
        """Change a deployment; only the fields given are sent.

        Each update makes a new release (``current_release.number`` goes up).

        Raises
        ------
        ValueError
            When no field is given (before any request).
        """
        return await self._client._send(
            dep.deployments_update(
                ref,
                {
                    "version": version,
                    "hardware": hardware,
                    "min_instances": min_instances,
                    "max_instances": max_instances,
                },
            )
        )

    async def delete(self, ref: str) -> None:
        """Delete the deployment ``owner/name``."""
        await self._client._send(dep.deployments_delete(ref))


class _DeploymentPredictions(_Namespace):
    async def create(
        self,
        deployment: str,
        input: dict[str, Any] | None = None,
        *,
        wait: bool | int = False,
        cancel_after: str | float | None = None,
        webhook: str | None = None,
        webhook_events_filter: Sequence[str] | None = None,
    ) -> Prediction:
        """Start a prediction on the deployment ``owner/name``."""
        return await self._client.predictions.create(
            None,
            input,
            deployment=deployment,
            wait=wait,
            cancel_after=cancel_after,
            webhook=webhook,
            webhook_events_filter=webhook_events_filter,
        )
