"""``ModelBrowser``: collections, public models (sorted, searched), a model card.

Every request runs on the widgets' background loop (:mod:`replicate_widgets._loop`)
and only that loop writes the widget's children, so a blocking cell never freezes the
browser. Cover images are read in the kernel (``client.read``, which sends the token
only to Replicate's hosts), shrunk with Pillow and sent as bytes: the browser never
gets a URL that would need the token. Lists load one page at a time; "Load more"
fetches the next page only when asked.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import ipywidgets

from ._backend import describe_backend, resolve_client
from ._browser_cards import card_head_html, image, model_tile, short, thumbnail
from ._catalog_shared import explain_error, notice_html, plain_message
from ._checks import short_ref
from ._errors import ReplicateError
from ._html import tag
from ._loop import submit
from ._types import Collection, Model, Page, Version

if TYPE_CHECKING:
    from ._client import Client
    from ._playground import Playground

# thumbnail is re-exported: callers import it from here.
__all__ = ["ModelBrowser", "thumbnail"]

T = TypeVar("T")

SORTS = {
    "Newest versions": ("latest_version_created_at", "desc"),
    "Newest models": ("model_created_at", "desc"),
    "Oldest models": ("model_created_at", "asc"),
}
_COVER_FETCHES = 4  # concurrent cover downloads per browser: polite to the CDN


class ModelBrowser(ipywidgets.VBox):  # type: ignore[misc]
    """Browse collections and public models; open one in a :class:`Playground`.

    Parameters
    ----------
    client
        The client to use; default: chosen by ``backend`` / the environment
        (a token means api.replicate.com, no token means the local backend).
    backend
        ``"local"``, ``"cloud"`` or a base URL, when ``client`` is not given.
    cover_edge
        Longest side, in pixels, of the cover thumbnails sent to the browser.

    Examples
    --------
    >>> browser = ModelBrowser()  # doctest: +SKIP
    >>> browser.search("text").result()  # doctest: +SKIP
    >>> browser.select("demo/text-stream").result()  # doctest: +SKIP
    >>> playground = browser.open_playground().result()  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        client: Client | None = None,
        backend: str | None = None,
        cover_edge: int = 160,
        **kwargs: Any,
    ) -> None:
        self._query = ipywidgets.Text(
            placeholder="Search models", continuous_update=False
        )
        self._query.add_class("rw-browser-query")
        self._sort = ipywidgets.Dropdown(options=list(SORTS), description="Sort")
        self._collection = ipywidgets.Dropdown(
            options=[("All models", "")], description="Collection"
        )
        self._collection.add_class("rw-browser-collection")
        self._status = ipywidgets.HTML()
        self._status.add_class("rw-browser-status")
        self._grid = ipywidgets.GridBox(
            layout=ipywidgets.Layout(
                grid_template_columns="repeat(auto-fill, minmax(190px, 1fr))",
                grid_gap="8px",
            )
        )
        self._grid.add_class("rw-browser-grid")
        self._more = ipywidgets.Button(description="Load more", icon="chevron-down")
        self._more.add_class("rw-browser-more")
        self._more.layout.display = "none"
        self._card = ipywidgets.VBox()
        self._card.add_class("rw-browser-card")
        self._stage = ipywidgets.VBox()
        self._stage.add_class("rw-browser-playground")
        bar = ipywidgets.HBox([self._query, self._sort, self._collection])
        # The card and its Playground sit above the grid: a long grid would push
        # them out of sight.
        super().__init__(
            children=[
                bar,
                self._status,
                self._card,
                self._stage,
                self._grid,
                self._more,
            ],
            **kwargs,
        )
        self.add_class("rw-model-browser")
        self.cover_edge = cover_edge
        self.models: list[Model] = []
        """The models listed now (all pages loaded so far)."""
        self.collections: list[Collection] = []
        """The collections the backend offers."""
        self.selected: Model | None = None
        """The model whose card is open."""
        self.versions: list[Version] = []
        """Versions of the selected model (first page)."""
        self.playground: Playground | None = None
        """The Playground opened last."""
        self.error: str | None = None
        """The last problem shown, if any."""
        self._page: Page[Model] | None = None
        self._label = "Models"
        self._generation = 0
        self._covers = asyncio.Semaphore(_COVER_FETCHES)
        self._version_pick = ipywidgets.Dropdown(description="Version")
        self._version_pick.add_class("rw-browser-version")
        try:
            self.client = client if client is not None else resolve_client(backend)
        except (ReplicateError, ValueError, RuntimeError, OSError) as exc:
            self._show_error(explain_error(exc))
            return
        self._query.observe(lambda c: self.search(c["new"]), names="value")
        self._sort.observe(
            lambda _c: self.list_models(*SORTS[self._sort.value]), "value"
        )
        self._collection.observe(self._collection_picked, names="value")
        self._more.on_click(lambda _b: self.load_more())
        self.load_collections()
        self.list_models()

    # -- public API -------------------------------------------------------------------

    def list_models(
        self,
        sort_by: str = "latest_version_created_at",
        sort_direction: str = "desc",
    ) -> concurrent.futures.Future[list[Model]]:
        """List public models (first page), sorted; returns the models shown."""
        label = f"Models on the {describe_backend(self.client.base_url)}"
        return self._list(
            lambda: self.client.models.list(sort_by, sort_direction), label
        )

    def search(self, query: str) -> concurrent.futures.Future[list[Model]]:
        """Show the models matching ``query`` (an empty query lists all models)."""
        query = query.strip()
        if not query:
            return self.list_models(*SORTS[self._sort.value])
        return self._list(lambda: self.client.models.search(query), f"Search {query!r}")

    def load_more(self) -> concurrent.futures.Future[list[Model]]:
        """Fetch the next page of the current list; returns every model shown."""
        generation = self._generation
        return submit(self._guard(self._more_models(generation)))

    def load_collections(self) -> concurrent.futures.Future[list[Collection]]:
        """Read the collections into the Collection menu."""
        return submit(self._guard(self._load_collections()))

    def open_collection(self, slug: str) -> concurrent.futures.Future[list[Model]]:
        """Show the models of the collection ``slug``."""

        def fetch() -> Page[Model]:
            found = self.client.collections.get(slug)
            return Page(results=found.model_list)

        return self._list(fetch, f"Collection {slug!r}")

    def select(self, model: str | Model) -> concurrent.futures.Future[Model]:
        """Open the card of ``model`` (``owner/name`` or a :class:`Model`)."""
        ref = model.ref if isinstance(model, Model) else model.strip()
        return submit(self._guard(self._select(ref), self._card))

    def open_playground(
        self, version: str | None = None
    ) -> concurrent.futures.Future[Playground]:
        """Open a Playground for the selected model.

        Parameters
        ----------
        version
            A version id; default: the one picked in the card's Version menu.

        Returns
        -------
        concurrent.futures.Future
            Resolves to the :class:`Playground`; fails with ``RuntimeError`` when no
            model is selected.
        """
        return submit(self._guard(self._open_playground(version), self._stage))

    @property
    def has_more(self) -> bool:
        """True when the current list has another page."""
        return self._page is not None and self._page.has_next()

    # -- background work --------------------------------------------------------------

    async def _guard(self, work: Awaitable[T], box: ipywidgets.Box | None = None) -> T:
        try:
            return await work
        except Exception as exc:
            message = explain_error(exc, self.client)
            self._show_error(message)
            if box is not None:  # replace its "Loading ..." with what went wrong
                box.children = [ipywidgets.HTML(notice_html(message))]
            raise

    def _list(
        self, fetch: Callable[[], Page[Model]], label: str
    ) -> concurrent.futures.Future[list[Model]]:
        self._generation += 1
        return submit(self._guard(self._load_list(self._generation, fetch, label)))

    async def _load_list(
        self, generation: int, fetch: Callable[[], Page[Model]], label: str
    ) -> list[Model]:
        self._status.value = notice_html(f"Loading {label} ...", "info")
        page = await asyncio.to_thread(fetch)
        if generation != self._generation:
            return page.results  # a newer request owns the grid now
        self._page, self.models, self._label = page, list(page.results), label
        self._grid.children = [model_tile(m, self.select) for m in page.results]
        self._after_page()
        await self._fill_covers(generation, page.results, self._grid.children)
        return self.models

    async def _more_models(self, generation: int) -> list[Model]:
        page = self._page
        if page is None or not page.has_next():
            return self.models
        nxt = await asyncio.to_thread(page.next_page)
        if nxt is None or generation != self._generation:
            return self.models
        tiles = [model_tile(m, self.select) for m in nxt.results]
        self._page = nxt
        self.models = [*self.models, *nxt.results]
        self._grid.children = [*self._grid.children, *tiles]
        self._after_page()
        await self._fill_covers(generation, nxt.results, tiles)
        return self.models

    def _after_page(self) -> None:
        self.error = None
        count = len(self.models)
        more = " (more available)" if self.has_more else ""
        noun = "model" if count == 1 else "models"
        text = f"{self._label}: {count} {noun}{more}."
        self._status.value = notice_html(text, "info")
        self._more.layout.display = "" if self.has_more else "none"

    async def _fill_covers(
        self, generation: int, models: list[Model], tiles: Any
    ) -> None:
        async def one(model: Model, tile: ipywidgets.VBox) -> None:
            data = await self._cover(model.cover_image_url, self.cover_edge)
            if data is not None and generation == self._generation:
                tile.children = [image(data), *tile.children[1:]]

        await asyncio.gather(*(one(m, t) for m, t in zip(models, tiles, strict=False)))

    async def _cover(self, url: str | None, edge: int) -> bytes | None:
        if not url:
            return None
        async with self._covers:
            try:
                content = await asyncio.to_thread(self.client.read, url)
                return await asyncio.to_thread(thumbnail, content.data, edge)
            except Exception:  # a missing cover only leaves the placeholder
                return None

    async def _load_collections(self) -> list[Collection]:
        page = await asyncio.to_thread(self.client.collections.list)
        found = list(page.results)
        while page.has_next():  # collections are few; read them all for the menu
            nxt = await asyncio.to_thread(page.next_page)
            if nxt is None:
                break
            page = nxt
            found.extend(page.results)
        self.collections = found
        current = self._collection.value
        self._collection.options = [("All models", "")] + [
            (c.name or c.slug, c.slug) for c in found
        ]
        self._collection.value = current if current in {c.slug for c in found} else ""
        return found

    def _collection_picked(self, change: dict[str, Any]) -> None:
        slug = change["new"]
        if slug:
            self.open_collection(slug)
        else:
            self.list_models(*SORTS[self._sort.value])

    async def _select(self, ref: str) -> Model:
        self._card.children = [
            ipywidgets.HTML(notice_html(f"Loading {ref} ...", "info"))
        ]
        model = await asyncio.to_thread(self.client.models.get, ref)
        try:
            page = await asyncio.to_thread(self.client.versions.list, ref)
            versions, note = list(page.results), ""
        except ReplicateError as exc:
            # Official models hide their versions; they run by name.
            latest = model.latest
            versions = [latest] if latest else []
            note = f"Versions could not be listed: {plain_message(exc)}"
        self.selected, self.versions = model, versions
        self._version_pick.options = [
            (f"{short_ref(v.id)}  {(v.created_at or '')[:10]}", v.id) for v in versions
        ]
        self._version_pick.value = versions[0].id if versions else None
        cover = await self._cover(model.cover_image_url, 480)
        example = await self._example_html(model)
        self._card.children = self._card_children(model, cover, example, note)
        self.error = None
        return model

    async def _example_html(self, model: Model) -> ipywidgets.Widget:
        example = model.default_example or {}
        inputs = example.get("input") or {}
        output = example.get("output")
        rows = [
            tag("tr", tag("td", tag("code", str(k))), tag("td", short(v)))
            for k, v in inputs.items()
        ]
        parts: list[ipywidgets.Widget] = []
        if rows:
            parts.append(
                ipywidgets.HTML(tag("b", "Default example") + tag("table", *rows))
            )
        first = output[0] if isinstance(output, list) and output else output
        if isinstance(first, str) and first.startswith(("http://", "https://")):
            data = await self._cover(first, 320)
            if data is not None:
                parts.append(image(data))
        elif output is not None:
            text = "".join(output) if isinstance(output, list) else output
            parts.append(ipywidgets.HTML(tag("pre", short(text, 600))))
        box = ipywidgets.VBox(parts)
        box.add_class("rw-browser-example")
        return box

    def _card_children(
        self, model: Model, cover: bytes | None, example: ipywidgets.Widget, note: str
    ) -> list[ipywidgets.Widget]:
        head = ipywidgets.HTML(card_head_html(model))
        button = ipywidgets.Button(
            description="Open in Playground",
            button_style="primary",
            icon="play",
            layout={"width": "max-content"},
        )
        button.add_class("rw-browser-open")
        button.on_click(lambda _b: self.open_playground())
        if not self.versions and not model.is_official:
            button.disabled = True
            button.tooltip = "This model has no versions yet."
        info = ipywidgets.VBox([head, self._version_pick, button, example])
        left = [image(cover)] if cover else []
        extra = [ipywidgets.HTML(notice_html(note, "info"))] if note else []
        return [ipywidgets.HBox([*left, info]), *extra]

    async def _open_playground(self, version: str | None) -> Playground:
        from ._playground import Playground

        model = self.selected
        if model is None:
            raise RuntimeError("Select a model first: browser.select('owner/name').")
        chosen = version or self._version_pick.value
        latest = model.latest
        # The latest version opens by name, so the Playground's title stays short.
        pinned = chosen and not (latest and latest.id == chosen)
        ref = f"{model.ref}:{chosen}" if pinned else model.ref
        self._stage.children = [
            ipywidgets.HTML(notice_html(f"Opening {ref} ...", "info"))
        ]
        playground = await asyncio.to_thread(Playground, ref, client=self.client)
        self.playground = playground
        self._stage.children = [playground]
        return playground

    # -- display ----------------------------------------------------------------------

    def _show_error(self, message: str) -> None:
        self.error = message
        self._status.value = notice_html(message)
