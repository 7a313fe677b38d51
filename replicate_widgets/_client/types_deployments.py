"""Typed deployments (``/deployments``): a name pinned to a model version.

Like every type in :mod:`.types`, each keeps the API's JSON in ``.raw`` and unknown
keys in ``.extra``; nested objects become typed objects too, so attribute paths
mirror the JSON (``deployment.current_release.configuration.hardware``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .types import Account, Resource, nested


@dataclass
class DeploymentConfiguration(Resource):
    """How a deployment release runs: hardware and autoscaling bounds."""

    hardware: str = ""
    """The hardware SKU, e.g. ``gpu-t4`` (see ``client.hardware.list()``)."""
    min_instances: int = 0
    """Instances kept running while idle."""
    max_instances: int = 0
    """The most instances it scales up to."""


@dataclass
class DeploymentRelease(Resource):
    """One release of a deployment; every update makes a new one."""

    number: int = 0
    """The release number, 1 for the first and one more per update."""
    model: str = ""
    """``owner/name`` of the deployed model."""
    version: str = ""
    """The deployed version id."""
    created_at: str | None = None
    """When this release was made (ISO 8601)."""
    created_by: Account | None = None
    """The account that made it."""
    configuration: DeploymentConfiguration = field(
        default_factory=DeploymentConfiguration
    )
    """Hardware and instance bounds."""

    def __post_init__(self) -> None:
        self.created_by = nested(Account, self.created_by)
        self.configuration = nested(DeploymentConfiguration, self.configuration)


@dataclass
class Deployment(Resource):
    """A deployment: a fixed ``owner/name`` that runs a chosen model version.

    Run it with ``client.predictions.create(deployment=d.ref, input=...)``.
    """

    owner: str = ""
    """The account that owns it."""
    name: str = ""
    """The deployment's name."""
    current_release: DeploymentRelease | None = None
    """The release predictions run on now."""

    def __post_init__(self) -> None:
        self.current_release = nested(DeploymentRelease, self.current_release)

    @property
    def ref(self) -> str:
        """``owner/name``, what ``deployments.get`` and predictions take."""
        return f"{self.owner}/{self.name}"
