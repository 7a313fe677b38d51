"""``ModelBrowser``: collections, public models (sorted, searched), a model card.

One anywidget (a :class:`~replicate_widgets._widgets.composite.Composite`, view
``js/src/browser.ts``): the search box, menus, status line, card and "Load more" are
drawn by its own view; the tiles of the grid (:class:`~.browser_cards.ModelTile`) and
the opened Playground are its parts. Every request runs on the widgets' background loop
(:mod:`replicate_widgets._widgets.loop`) and only that loop writes the widget's
state, so a blocking cell never freezes the browser. Cover images are read in the kernel
(``client.read``, which sends the token only to Replicate's hosts), shrunk with
Pillow and sent as bytes: the browser never gets a URL that would need the token.
Lists load one page at a time; "Load more" fetches the next page only when asked.

Run counts are the backend's, read when a list or a card loads. A run of a model
shown here, started in this kernel by any widget (they
:func:`~replicate_widgets._widgets.history.entries.record` it), makes the browser
read that model again, so its tile and card count it; runs made elsewhere show when
the list is loaded again (a search, a sort, a collection).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import traitlets

from replicate_widgets._client.checks import short_ref
from replicate_widgets._client.errors import ReplicateError
from replicate_widgets._client.types import Collection, Model, Page, Prediction, Version
from replicate_widgets._widgets.backend import describe_backend, resolve_client
from replicate_widgets._widgets.composite import Composite, MarkupTrait
from replicate_widgets._widgets.history.entries import listen, recorded_pairs, unlisten
from replicate_widgets._widgets.host_context import HostContext
from replicate_widgets._widgets.html import Markup, join, tag
from replicate_widgets._widgets.loop import submit
from replicate_widgets._widgets.media import thumbnail
from replicate_widgets._widgets.notices import explain_error, notice_html, plain_message
from replicate_widgets._widgets.stopping import watch_cell
from replicate_widgets._widgets.view import STATIC

from .browser_cards import ModelTile, card_head_html, short, tile_html

if TYPE_CHECKING:
    from replicate_widgets._client.client import Client
    from replicate_widgets._widgets.playground.playground import Playground

__all__ = ["ModelBrowser"]

T = TypeVar("T")

SORTS = {
    "Newest versions": ("latest_version_created_at", "desc"),
    "Newest models": ("model_created_at", "desc"),
    "Oldest models": ("model_created_at", "asc"),
}
_COVER_FETCHES = 4  # concurrent cover downloads per browser: polite to the CDN
_QUERY_LIMIT = 200  # characters of a search the view may send
_ALL = [["", "All models"]]  # the Collection menu's first choice


class ModelBrowser(Composite):
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

    _esm = STATIC / "browser.js"

    # -- what the view sets (checked here) ------------------------------------------

    query = traitlets.Unicode("").tag(sync=True)
    """The search box: setting it searches (an empty one lists all models)."""

    sort = traitlets.Unicode(next(iter(SORTS))).tag(sync=True)
    """The Sort menu, one of ``sort_choices``: setting it lists all models so."""

    collection = traitlets.Unicode("").tag(sync=True)
    """The Collection menu: a collection's slug (it opens), or ``""`` for all models."""

    version = traitlets.Unicode("").tag(sync=True)
    """The card's Version menu: the version id "Open in Playground" opens."""

    # -- what the kernel shows --------------------------------------------------------

    sort_choices = traitlets.List(traitlets.Unicode(), list(SORTS)).tag(sync=True)
    """The Sort menu's choices."""

    collection_choices = traitlets.List(traitlets.List(), _ALL).tag(sync=True)
    """The Collection menu's ``[slug, label]`` choices (``""``: all models)."""

    status = MarkupTrait("").tag(sync=True)
    """Markup of the line above the grid: what is listed, loading, what went wrong."""

    more = traitlets.Bool(False).tag(sync=True)
    """Whether the "Load more" button shows (the list has another page)."""

    card_notice = MarkupTrait("").tag(sync=True)
    """Markup shown instead of the card while it loads or when it could not."""

    card_head = MarkupTrait("").tag(sync=True)
    """Markup of the card's title, description, run count and links."""

    card_example = MarkupTrait("").tag(sync=True)
    """Markup of the card's default example (inputs, text output)."""

    card_note = MarkupTrait("").tag(sync=True)
    """Markup under the card (why its versions could not be listed)."""

    card_cover = traitlets.Bytes(b"").tag(sync=True)
    """The card's cover image as PNG bytes (empty when none)."""

    example_image = traitlets.Bytes(b"").tag(sync=True)
    """The default example's first output image as PNG bytes (empty when none)."""

    version_choices = traitlets.List(traitlets.List()).tag(sync=True)
    """The Version menu's ``[version id, label]`` choices."""

    open_disabled = traitlets.Unicode("").tag(sync=True)
    """Why "Open in Playground" cannot be pressed (``""``: it can)."""

    stage_notice = MarkupTrait("").tag(sync=True)
    """Markup shown where the Playground goes while it opens or when it could not."""

    def __init__(
        self,
        *,
        client: Client | None = None,
        backend: str | None = None,
        cover_edge: int = 160,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        watch_cell(self)
        self.parts = {"tiles": [], "playground": None}
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
        self.tiles: list[ModelTile] = []
        """The grid's tiles, one per model listed, in order."""
        self._page: Page[Model] | None = None
        self._more_job: (
            tuple[Page[Model] | None, concurrent.futures.Future[list[Model]]] | None
        ) = None
        self._label = "Models"
        self._generation = 0
        self._covers = asyncio.Semaphore(_COVER_FETCHES)
        # Runs recorded before this browser listed are in its counts already.
        self._counted = {_count_key(p) for p, _client in recorded_pairs()}
        try:
            self.client = client if client is not None else resolve_client(backend)
        except (ReplicateError, ValueError, RuntimeError, OSError) as exc:
            self._show_error(explain_error(exc))
            return
        # Tiles and Playgrounds are made in the background: under marimo, in the
        # context of the cell that made this browser (see _host_context).
        self._host = HostContext()
        self.observe(lambda c: self.search(c["new"]), names="query")
        self.observe(lambda c: self.list_models(*SORTS[c["new"]]), names="sort")
        self.observe(self._collection_picked, names="collection")
        self.on_action("more", lambda _value: self.load_more())
        self.on_action("open", lambda _value: self.open_playground())
        self.load_collections()
        self.list_models()
        listen(self)

    # -- checks of what the view sends ------------------------------------------------

    @traitlets.validate("query")
    def _check_query(self, proposal: dict[str, Any]) -> str:
        return str(proposal["value"])[:_QUERY_LIMIT]

    @traitlets.validate("sort")
    def _check_sort(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"]
        if value not in SORTS:
            raise traitlets.TraitError(f"sort must be one of {', '.join(SORTS)}")
        return str(value)

    @traitlets.validate("collection")
    def _check_collection(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"]
        if value not in {slug for slug, _label in self.collection_choices}:
            raise traitlets.TraitError(
                f"{str(value)[:80]!r} is not a listed collection"
            )
        return str(value)

    @traitlets.validate("version")
    def _check_version(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"]
        if value and value not in {vid for vid, _label in self.version_choices}:
            raise traitlets.TraitError(f"{str(value)[:80]!r} is not a listed version")
        return str(value)

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
            return self.list_models(*SORTS[self.sort])
        return self._list(lambda: self.client.models.search(query), f"Search {query!r}")

    def load_more(self) -> concurrent.futures.Future[list[Model]]:
        """Fetch the next page of the current list; returns every model shown.

        Asked again while that page is on its way (a double click), it returns the
        same fetch: a page is listed once.
        """
        generation, page, pending = self._generation, self._page, self._more_job
        if pending is not None and pending[0] is page and not pending[1].done():
            return pending[1]
        job = submit(self._guard(self._more_models(generation)))
        self._more_job = (page, job)
        return job

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
        return submit(self._guard(self._select(ref), "card"))

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
        return submit(self._guard(self._open_playground(version), "stage"))

    @property
    def has_more(self) -> bool:
        """True when the current list has another page."""
        return self._page is not None and self._page.has_next()

    # -- background work --------------------------------------------------------------

    async def _guard(
        self, work: Awaitable[T], where: Literal["card", "stage"] | None = None
    ) -> T:
        try:
            return await work
        except Exception as exc:
            message = explain_error(exc, self.client)
            self._show_error(message)
            # Replace the card's or the stage's "Loading ..." with what went wrong.
            if where == "card":
                self.card_notice = notice_html(message)
            elif where == "stage":
                self.stage_notice = notice_html(message)
            raise

    def _list(
        self, fetch: Callable[[], Page[Model]], label: str
    ) -> concurrent.futures.Future[list[Model]]:
        self._generation += 1
        return submit(self._guard(self._load_list(self._generation, fetch, label)))

    async def _load_list(
        self, generation: int, fetch: Callable[[], Page[Model]], label: str
    ) -> list[Model]:
        self.status = notice_html(f"Loading {label} ...", "info")
        page = await asyncio.to_thread(fetch)
        if generation != self._generation:
            return page.results  # a newer request owns the grid now
        tiles = await self._make_tiles(page.results)
        if generation != self._generation:  # it came while the tiles were made
            _close_all(tiles)
            return page.results
        self._page, self.models, self._label = page, list(page.results), label
        self._show_tiles(tiles)
        self._after_page()
        await self._fill_covers(generation, tiles)
        return self.models

    async def _more_models(self, generation: int) -> list[Model]:
        page = self._page
        if page is None or not page.has_next():
            return self.models
        nxt = await asyncio.to_thread(page.next_page)
        if nxt is None or generation != self._generation:
            return self.models
        tiles = await self._make_tiles(nxt.results)
        # A newer list, or another "Load more" of the same page, came meanwhile.
        if generation != self._generation or self._page is not page:
            _close_all(tiles)
            return self.models
        self._page = nxt
        self.models = [*self.models, *nxt.results]
        self._show_tiles([*self.tiles, *tiles])
        self._after_page()
        await self._fill_covers(generation, tiles)
        return self.models

    async def _make_tiles(self, models: list[Model]) -> list[ModelTile]:
        def make() -> list[ModelTile]:
            return [ModelTile(m, self.select) for m in models]

        return await self._host.make(make)

    def _show_tiles(self, tiles: list[ModelTile]) -> None:
        old = [t for t in self.tiles if t not in tiles]
        self.tiles = tiles
        self.parts = {**self.parts, "tiles": tiles}
        for tile in old:  # after the view stopped referring to them
            tile.close()

    def _after_page(self) -> None:
        self.error = None
        count = len(self.models)
        more = " (more available)" if self.has_more else ""
        noun = "model" if count == 1 else "models"
        text = f"{self._label}: {count} {noun}{more}."
        self.status = notice_html(text, "info")
        self.more = self.has_more

    async def _fill_covers(self, generation: int, tiles: list[ModelTile]) -> None:
        async def one(tile: ModelTile) -> None:
            data = await self._cover(tile.model.cover_image_url, self.cover_edge)
            if data is not None and generation == self._generation:
                tile.cover = data

        await asyncio.gather(*(one(t) for t in tiles))

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
        if self.collection not in {c.slug for c in found}:
            self.collection = ""  # its collection is gone: back to all models
        self.collection_choices = _ALL + [[c.slug, c.name or c.slug] for c in found]
        return found

    def _collection_picked(self, change: dict[str, Any]) -> None:
        slug = change["new"]
        if slug:
            self.open_collection(slug)
        else:
            self.list_models(*SORTS[self.sort])

    async def _select(self, ref: str) -> Model:
        self.card_notice = notice_html(f"Loading {ref} ...", "info")
        model = await asyncio.to_thread(self.client.models.get, ref)
        try:
            page = await asyncio.to_thread(self.client.versions.list, ref)
            versions, note = list(page.results), ""
        except ReplicateError as exc:
            # Official models hide their versions; they run by name.
            latest = model.latest
            versions = [latest] if latest else []
            note = f"Versions could not be listed: {plain_message(exc)}"
        cover = await self._cover(model.cover_image_url, 480)
        example, example_image = await self._example(model)
        self.selected, self.versions = model, versions
        with self.hold_sync():  # one update: the view never shows half a card
            self.version_choices = [
                [v.id, f"{short_ref(v.id)}  {(v.created_at or '')[:10]}"]
                for v in versions
            ]
            self.version = versions[0].id if versions else ""
            self.card_head = card_head_html(model)
            self.card_cover = cover or b""
            self.card_example = example
            self.example_image = example_image or b""
            self.card_note = notice_html(note, "info")
            no_versions = not versions and not model.is_official
            self.open_disabled = (
                "This model has no versions yet." if no_versions else ""
            )
            self.card_notice = ""
        self.error = None
        return model

    async def _example(self, model: Model) -> tuple[Markup, bytes | None]:
        """Return the default example's markup, and its output image if it has one."""
        example = model.default_example or {}
        inputs = example.get("input") or {}
        output = example.get("output")
        rows = [
            tag("tr", tag("td", tag("code", str(k))), tag("td", short(v)))
            for k, v in inputs.items()
        ]
        parts: list[Markup] = []
        if rows:
            parts.append(tag("b", "Default example") + tag("table", *rows))
        image = None
        first = output[0] if isinstance(output, list) and output else output
        if isinstance(first, str) and first.startswith(("http://", "https://")):
            image = await self._cover(first, 320)
        elif output is not None:
            text = "".join(map(str, output)) if isinstance(output, list) else output
            parts.append(tag("pre", short(text, 600)))
        return join(parts), image

    async def _open_playground(self, version: str | None) -> Playground:
        from replicate_widgets._widgets.playground.playground import Playground

        model = self.selected
        if model is None:
            raise RuntimeError("Select a model first: browser.select('owner/name').")
        chosen = version or self.version
        latest = model.latest
        # The latest version opens by name, so the Playground's title stays short.
        pinned = chosen and not (latest and latest.id == chosen)
        ref = f"{model.ref}:{chosen}" if pinned else model.ref
        self.stage_notice = notice_html(f"Opening {ref} ...", "info")
        self.parts = {**self.parts, "playground": None}
        playground = await self._host.make(Playground, ref, client=self.client)
        self.playground = playground
        self.parts = {**self.parts, "playground": playground}
        self.stage_notice = ""
        return playground

    # -- run counts -------------------------------------------------------------------

    def recorded_changed(self) -> None:
        """Recount the models of runs recorded in this kernel (called on any thread)."""
        with contextlib.suppress(RuntimeError):  # interpreter shutdown
            submit(self._recount())

    async def _recount(self) -> None:
        """Read again the models shown here that ran since they were read."""
        mine = self.client.base_url
        ran: set[str] = set()
        for prediction, client in recorded_pairs():
            key = _count_key(prediction)
            if key in self._counted:
                continue
            self._counted.add(key)
            if prediction.model and getattr(client, "base_url", None) == mine:
                ran.add(prediction.model)
        shown = {t.ref for t in self.tiles}
        if self.selected is not None:
            shown.add(self.selected.ref)
        for ref in sorted(ran & shown):
            try:
                model = await asyncio.to_thread(self.client.models.get, ref)
            except ReplicateError:
                continue  # the count stays as it was; the next list reads it anew
            self._show_count(model)

    def _show_count(self, model: Model) -> None:
        """Show ``model``'s run count (just read) wherever the browser shows it."""
        self.models = [model if m.ref == model.ref else m for m in self.models]
        for tile in self.tiles:
            if tile.ref == model.ref:
                tile.model = model
                tile.markup = tile_html(model)
        if self.selected is not None and self.selected.ref == model.ref:
            self.selected = model
            self.card_head = card_head_html(model)

    def close(self) -> None:
        """Close the browser, its tiles and the Playground it shows."""
        unlisten(self)
        host = getattr(
            self, "_host", None
        )  # also runs from a failed __init__'s __del__
        if host is not None:
            host.close()
        super().close()

    # -- display ----------------------------------------------------------------------

    def _show_error(self, message: str) -> None:
        self.error = message
        self.status = notice_html(message)


def _count_key(prediction: Prediction) -> tuple[str, bool]:
    """Return what a recorded run is known by: it is counted when created and ended."""
    return (str(prediction.id), bool(prediction.is_terminal))


def _close_all(tiles: list[ModelTile]) -> None:
    """Close tiles made for a list that is no longer wanted (never shown)."""
    for tile in tiles:
        tile.close()
