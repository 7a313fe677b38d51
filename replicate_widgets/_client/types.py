"""Typed results of the Replicate HTTP API.

Each result is a dataclass built from the JSON the API returned. Fields the API adds
later are never lost: the whole object stays in ``.raw`` and the unknown keys are in
``.extra``.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from .progress import Progress

Status = Literal["starting", "processing", "succeeded", "failed", "canceled", "aborted"]
"""A prediction's or training's status; the last four are terminal."""

TERMINAL_STATUSES: frozenset[str] = frozenset(
    {"succeeded", "failed", "canceled", "aborted"}
)
"""Statuses after which nothing changes (``aborted``: the deadline passed first)."""

_R = TypeVar("_R", bound="Resource")
T = TypeVar("T")


@dataclass
class Resource:
    """Base of every API object: known fields as attributes, everything in ``raw``."""

    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The JSON object exactly as the API returned it."""

    @classmethod
    def from_json(cls: type[_R], data: Any) -> _R:
        """Build the object from decoded JSON, keeping unknown fields in ``raw``."""
        if not isinstance(data, dict):
            raise TypeError(
                f"Expected a JSON object for {cls.__name__}, got "
                f"{type(data).__name__}; is base_url pointing at a Replicate API?"
            )
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name == "raw" or f.name not in data:
                continue
            value = data[f.name]
            # ``"metrics": null`` and the like keep the empty dict/list default, so
            # ``prediction.urls.get(...)`` never fails on a sparse object.
            if value is None and f.default_factory is not dataclasses.MISSING:
                continue
            kwargs[f.name] = value
        return cls(raw=data, **kwargs)

    @property
    def extra(self) -> dict[str, Any]:
        """Fields the API returned that this class has no attribute for."""
        known = {f.name for f in dataclasses.fields(self)}
        return {k: v for k, v in self.raw.items() if k not in known}


def nested(cls: type[_R], value: Any) -> Any:
    """Return ``value`` (a JSON object) as a ``cls``; ``None`` and ``cls`` pass as-is.

    For objects inside objects (a deployment's release), so attribute paths mirror
    the JSON; anything else is the ``TypeError`` of :meth:`Resource.from_json`.
    """
    return value if value is None or isinstance(value, cls) else cls.from_json(value)


@dataclass
class Account(Resource):
    """The account that owns the token (``GET /account``)."""

    type: str = "user"
    """``user`` or ``organization``."""
    username: str = ""
    """The account's username."""
    name: str | None = None
    """The display name."""
    github_url: str | None = None
    """The linked GitHub profile."""
    avatar_url: str | None = None
    """The avatar image URL."""


@dataclass
class Hardware(Resource):
    """A hardware type models can run on (``GET /hardware``)."""

    name: str = ""
    """Human-readable name, e.g. ``Nvidia T4 GPU``."""
    sku: str = ""
    """The identifier to pass as ``hardware=``, e.g. ``gpu-t4``."""


@dataclass
class WebhookSecret(Resource):
    """The signing secret for webhooks (``GET /webhooks/default/secret``)."""

    key: str = field(default="", repr=False)
    """The secret, ``whsec_...``; kept out of the repr."""


@dataclass
class Version(Resource):
    """One version of a model: its id and the OpenAPI schema of its inputs/outputs."""

    id: str = ""
    """The 64-hex version id."""
    created_at: str | None = None
    """When the version was pushed (ISO 8601)."""
    cog_version: str | None = None
    """The Cog version that built it."""
    openapi_schema: dict[str, Any] | None = field(default=None, repr=False)
    """The OpenAPI document; inputs are in ``components.schemas.Input``."""


@dataclass
class Prediction(Resource):
    """A prediction: one run of a model on one input."""

    id: str = ""
    """The prediction id."""
    model: str | None = None
    """``owner/name`` of the model."""
    version: str | None = None
    """The version id (``hidden`` or ``dp-...`` for official models)."""
    input: dict[str, Any] = field(default_factory=dict)
    """The input the prediction was created with."""
    output: Any = None
    """The output so far (grows while an iterator output streams)."""
    logs: str | None = None
    """What the model printed."""
    error: str | None = None
    """Why it failed, when it failed."""
    status: Status = "starting"
    """Where it is in its lifecycle."""
    created_at: str | None = None
    """When it was created."""
    started_at: str | None = None
    """When the model started running it."""
    completed_at: str | None = None
    """When it finished and its outputs were uploaded."""
    metrics: dict[str, Any] = field(default_factory=dict)
    """``predict_time``, ``total_time`` and others."""
    urls: dict[str, str] = field(default_factory=dict)
    """``get``, ``cancel``, ``web`` and, for streaming models, ``stream``."""
    data_removed: bool = False
    """True once inputs, outputs and logs were deleted (1 hour for API predictions)."""
    source: str | None = None
    """``api`` or ``web``."""
    deployment: str | None = None
    """The deployment it ran on, if any."""

    @property
    def is_terminal(self) -> bool:
        """True when the status will not change any more (incl. ``aborted``)."""
        return self.status in TERMINAL_STATUSES

    @property
    def progress(self) -> Progress | None:
        """The last tqdm-style progress line in the logs, or ``None``."""
        return Progress.parse(self.logs or "")


@dataclass
class Training(Prediction):
    """A training: like a prediction, whose output names a new version."""

    destination: str | None = None
    """``owner/name`` of the model the new version is pushed to."""


@dataclass
class Model(Resource):
    """A model on Replicate."""

    owner: str = ""
    """The user or organization that owns it."""
    name: str = ""
    """The model's name."""
    url: str | None = None
    """Its web page."""
    description: str | None = None
    """One-line description."""
    visibility: str | None = None
    """``public`` or ``private``."""
    github_url: str | None = None
    """Source code."""
    paper_url: str | None = None
    """Paper."""
    license_url: str | None = None
    """License."""
    run_count: int | None = None
    """How many times it ran."""
    cover_image_url: str | None = None
    """Cover image."""
    default_example: dict[str, Any] | None = field(default=None, repr=False)
    """An example prediction (raw JSON)."""
    latest_version: dict[str, Any] | None = field(default=None, repr=False)
    """The newest version (raw JSON); see :attr:`latest`."""
    is_official: bool | None = None
    """Official models run by ``owner/name`` without a version id."""

    @property
    def ref(self) -> str:
        """``owner/name``."""
        return f"{self.owner}/{self.name}"

    @property
    def latest(self) -> Version | None:
        """The newest version as a :class:`Version`, if the model has one."""
        if not self.latest_version:
            return None
        return Version.from_json(self.latest_version)


@dataclass
class Collection(Resource):
    """A curated collection of models."""

    slug: str = ""
    """The collection's identifier."""
    name: str = ""
    """Its display name."""
    description: str | None = None
    """Short description."""
    full_description: str | None = field(default=None, repr=False)
    """Long description (only from ``collections.get``)."""
    models: list[dict[str, Any]] | None = field(default=None, repr=False)
    """Its models as raw JSON (only from ``collections.get``)."""

    @property
    def model_list(self) -> list[Model]:
        """The collection's models as :class:`Model` objects."""
        return [Model.from_json(m) for m in self.models or []]


@dataclass
class File(Resource):
    """A file uploaded through the Files API."""

    id: str = ""
    """The file id."""
    content_type: str = "application/octet-stream"
    """The MIME type given at upload."""
    size: int = 0
    """Length in bytes."""
    checksums: dict[str, str] = field(default_factory=dict)
    """``{"sha256": ...}``."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """What the uploader attached."""
    created_at: str | None = None
    """When it was uploaded."""
    expires_at: str | None = None
    """When it will be deleted."""
    urls: dict[str, str] = field(default_factory=dict)
    """``get``: the URL to pass as a model input."""

    @property
    def url(self) -> str:
        """The URL to pass as a model input (``urls.get``)."""
        return self.urls.get("get", "")


@dataclass(frozen=True)
class StreamEvent:
    """One server-sent event of a prediction's stream."""

    event: Literal["output", "logs", "error", "done"]
    """What kind of event."""
    data: str
    """Text chunk (``output``), log line (``logs``) or JSON (``error``, ``done``)."""
    id: str | None = None
    """The event id (``None`` for events recovered by polling)."""


@dataclass(frozen=True)
class FileContent:
    """Bytes read from an output URL or ``data:`` URI, with the sniffed type."""

    data: bytes = field(repr=False)
    """The content."""
    content_type: str
    """The MIME type, sniffed from the bytes where possible."""

    def __repr__(self) -> str:
        return (
            f"FileContent(content_type={self.content_type!r}, {len(self.data)} bytes)"
        )


@dataclass
class Page(Generic[T]):
    """One page of a paginated list, iterable over *all* items.

    ``results`` holds this page. Iterating the page yields its items and then follows
    ``next`` lazily, one request per page. :meth:`next_page` fetches just the next one.
    For :class:`AsyncClient` lists, iterate with ``async for``.
    """

    results: list[T]
    """The items on this page."""
    next: str | None = None
    """URL of the next page, or ``None`` on the last page."""
    previous: str | None = None
    """URL of the previous page, or ``None`` on the first page."""
    _fetch: Any = field(default=None, repr=False, compare=False)
    _item_cls: Any = field(default=None, repr=False, compare=False)

    def has_next(self) -> bool:
        """Tell whether there is a page after this one."""
        return self.next is not None

    def next_page(self) -> Page[T] | None:
        """Fetch the next page (``None`` on the last page). Sync clients only."""
        if self.next is None:
            return None
        page = self._fetch(self.next)
        if inspect.iscoroutine(page):
            page.close()
            raise TypeError(
                "This page came from an AsyncClient: use 'async for' and "
                "'await page.anext_page()'."
            )
        return page  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[T]:
        page: Page[T] | None = self
        seen: set[str] = set()
        while page is not None:
            yield from page.results
            # A server that hands back the same cursor would otherwise loop forever.
            if page.next is None or page.next in seen:
                return
            seen.add(page.next)
            page = page.next_page()

    async def anext_page(self) -> Page[T] | None:
        """Fetch the next page (``None`` on the last page). Async clients only."""
        if self.next is None:
            return None
        pending = self._fetch(self.next)
        if not inspect.isawaitable(pending):
            raise TypeError(
                "This page came from a sync Client: use 'for' and 'page.next_page()'."
            )
        page: Page[T] = await pending
        return page

    async def __aiter__(self) -> AsyncIterator[T]:
        page: Page[T] | None = self
        seen: set[str] = set()
        while page is not None:
            for item in page.results:
                yield item
            if page.next is None or page.next in seen:
                return
            seen.add(page.next)
            page = await page.anext_page()
