"""The typed answer of ``GET /search``: models with metadata, collections, pages.

Each part keeps its JSON in ``.raw`` and unknown keys in ``.extra``, as in
:mod:`.types`; the search API is in beta, so fields it adds are never lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .types import Model, Resource, nested


@dataclass
class SearchMetadata(Resource):
    """What the search adds to a model it found."""

    generated_description: str | None = None
    """A longer, generated description of the model."""
    tags: list[str] = field(default_factory=list)
    """Descriptive tags, e.g. ``text-to-image``."""
    score: float | None = None
    """How relevant the model is to the query (higher is better)."""


@dataclass
class SearchModel(Resource):
    """A model found by a search, with its search metadata."""

    model: Model = field(default_factory=Model)
    """The model, as ``client.models.get`` returns it."""
    metadata: SearchMetadata = field(default_factory=SearchMetadata)
    """Generated description, tags and relevance score."""

    def __post_init__(self) -> None:
        self.model = nested(Model, self.model)
        self.metadata = nested(SearchMetadata, self.metadata)


@dataclass
class SearchCollection(Resource):
    """A collection found by a search."""

    slug: str = ""
    """Pass it to ``client.collections.get``."""
    name: str = ""
    """Its display name."""
    description: str | None = None
    """Short description."""
    models: list[str] = field(default_factory=list)
    """``owner/name`` of the models in it."""


@dataclass
class SearchPage(Resource):
    """A documentation page found by a search."""

    name: str = ""
    """The page's title."""
    href: str = ""
    """Its path on the website, e.g. ``/docs/guides/image-editing``."""


@dataclass
class SearchResults(Resource):
    """Everything ``client.search(query)`` found.

    Examples
    --------
    >>> found = client.search("upscale", limit=5)  # doctest: +SKIP
    >>> [(hit.model.ref, hit.metadata.score) for hit in found.models]  # doctest: +SKIP
    """

    query: str = ""
    """The query the server evaluated."""
    models: list[SearchModel] = field(default_factory=list)
    """Matching models, most relevant first (at most ``limit``)."""
    collections: list[SearchCollection] = field(default_factory=list)
    """Matching collections."""
    pages: list[SearchPage] = field(default_factory=list)
    """Matching documentation pages."""

    def __post_init__(self) -> None:
        self.models = [nested(SearchModel, m) for m in self.models]
        self.collections = [nested(SearchCollection, c) for c in self.collections]
        self.pages = [nested(SearchPage, p) for p in self.pages]
