"""ModelBrowser driven through its Python API against the real local backend.

Lazy pagination is shown with a transport replaying Replicate's real model JSON as
two pages, because the local backend answers every list in one page.
"""

from __future__ import annotations

import asyncio
import html
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anywidget
import httpx
import ipywidgets
import pytest
from _widgets import open_widgets, opened_since
from PIL import Image

from replicate_widgets._client.client import Client
from replicate_widgets._widgets.catalog.browser import ModelBrowser
from replicate_widgets._widgets.composite import Composite
from replicate_widgets._widgets.media import thumbnail
from replicate_widgets.server import LocalServer, serve

BUNDLED = Path(__file__).parents[1] / "replicate_widgets" / "server" / "models"
FIXTURES = Path(__file__).parent / "fixtures" / "responses"
TOKEN = "r8_browser_test_token_never_shown"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    data = tmp_path_factory.mktemp("browser")
    models = [BUNDLED / "hello-world", BUNDLED / "fractal", BUNDLED / "text-stream"]
    with serve(port=0, models=models, bundled=False, data_dir=data, token=TOKEN) as s:
        yield s


@pytest.fixture
def client(server: LocalServer) -> Iterator[Client]:
    with Client(api_token=TOKEN, base_url=server.url) as c:
        yield c


@pytest.fixture
def browser(client: Client) -> ModelBrowser:
    b = ModelBrowser(client=client)
    b.list_models().result(60)
    b.load_collections().result(60)
    return b


def tile_refs(b: ModelBrowser) -> list[str]:
    """The names the tiles show, read from their markup."""
    return [t.markup.split("</b>")[0].split(">")[-1] for t in b.parts["tiles"]]


def status(b: ModelBrowser) -> str:
    return html.unescape(b.status)


def card_text(b: ModelBrowser) -> str:
    """Everything the card shows as text: its notice, head, example and note."""
    shown = (b.card_notice, b.card_head, b.card_example, b.card_note)
    return html.unescape("\n".join(shown))


def all_parts(widget: ipywidgets.Widget) -> list[ipywidgets.Widget]:
    found, stack = [], [widget]
    while stack:
        w = stack.pop()
        if isinstance(w, Composite):
            found.extend(w.own_parts())
            stack.extend(w.own_parts())
    return found


def test_lists_the_backend_models_with_cover_bytes(browser: ModelBrowser) -> None:
    refs = sorted(m.ref for m in browser.models)
    assert refs == ["demo/fractal", "demo/text-stream", "replicate/hello-world"]
    assert sorted(tile_refs(browser)) == refs
    assert "Models on the local backend: 3 models." in status(browser)
    fractal = next(t for t in browser.tiles if t.ref == "demo/fractal")
    with Image.open(io.BytesIO(fractal.cover)) as img:  # real PNG bytes, shrunk
        assert img.format == "PNG"
        assert max(img.size) <= browser.cover_edge
    assert fractal.initial == "F"  # shown until the cover arrives
    assert not browser.has_more
    assert not browser.more


def test_sorting_keeps_every_model(browser: ModelBrowser) -> None:
    models = browser.list_models("model_created_at", "asc").result(60)
    assert len(models) == 3


def test_collections_menu_and_opening_one(browser: ModelBrowser) -> None:
    assert [c.slug for c in browser.collections] == ["local-models"]
    assert ["local-models", "Local models"] in browser.collection_choices
    browser.collection = "local-models"  # what picking it in the menu does
    models = browser.open_collection("local-models").result(60)
    assert len(models) == 3
    assert "Collection 'local-models': 3 models." in status(browser)


def test_unknown_collection_is_explained(browser: ModelBrowser) -> None:
    with pytest.raises(Exception, match="does not exist"):
        browser.open_collection("nope").result(60)
    assert "local-models" in browser.status  # says which one exists
    assert TOKEN not in browser.status


def test_search_narrows_and_empty_search_lists_all(browser: ModelBrowser) -> None:
    found = browser.search("fractal").result(60)
    assert [m.ref for m in found] == ["demo/fractal"]
    assert "Search 'fractal': 1 model." in status(browser)
    assert len(browser.search("   ").result(60)) == 3


def test_model_card_shows_details_versions_and_example(browser: ModelBrowser) -> None:
    model = browser.select("demo/fractal").result(60)
    assert browser.selected is model
    text = card_text(browser)
    assert "demo/fractal" in text
    assert (model.description or "")[:20] in text
    assert "0 runs" in text
    assert "Default example" in text
    assert "width" in text
    assert len(browser.versions) == 1
    assert browser.version == browser.versions[0].id
    assert browser.version_choices[0][0] == browser.versions[0].id
    with Image.open(io.BytesIO(browser.card_cover)) as img:  # the cover as bytes
        assert img.format == "PNG"
    assert browser.open_disabled == ""


def test_opening_a_playground_runs_the_model(browser: ModelBrowser) -> None:
    browser.select("replicate/hello-world").result(60)
    playground = browser.open_playground().result(120)
    assert browser.parts["playground"] is playground
    assert browser.stage_notice == ""
    assert playground.error is None
    assert playground.form is not None
    assert playground.run(text="Browser").output == "hello Browser"


def test_playground_needs_a_selection(client: Client) -> None:
    b = ModelBrowser(client=client)
    b.list_models().result(60)
    with pytest.raises(RuntimeError, match="Select a model first"):
        b.open_playground().result(60)
    assert "Select a model first" in b.status
    assert "Select a model first" in b.stage_notice


def test_unknown_model_is_shown_in_the_widget(browser: ModelBrowser) -> None:
    with pytest.raises(Exception, match="nobody/nothing"):
        browser.select("nobody/nothing").result(60)
    assert browser.error is not None
    # It says which models the local backend does have, in the card too.
    assert "demo/fractal, demo/text-stream, replicate/hello-world" in browser.error
    assert "nobody/nothing" in html.unescape(browser.card_notice)
    assert "Loading" not in browser.card_notice


def test_a_newer_listing_wins_over_an_older_one(browser: ModelBrowser) -> None:
    older = browser.search("fractal")
    newer = browser.list_models()
    older.result(60), newer.result(60)
    assert len(browser.models) == 3


def runs_shown(b: ModelBrowser, ref: str) -> tuple[str, str]:
    """The run count ``ref``'s tile shows, and the card's (``""`` if not open)."""
    tile = next(t for t in b.tiles if t.ref == ref)
    tile_runs = html.unescape(tile.markup).split('rw-tile-runs">')[1].split("<")[0]
    card = html.unescape(b.card_head)
    card_runs = card.split('rw-card-runs">')[1].split("<")[0] if card else ""
    return tile_runs, card_runs


def test_run_counts_follow_runs_made_in_this_kernel(
    browser: ModelBrowser, client: Client
) -> None:
    """A run started here by a widget counts on the tile and the card at once; a
    run made elsewhere counts when the list is loaded again."""
    import replicate_widgets as rw
    from replicate_widgets._widgets.catalog.model_html import runs_text

    ref = "replicate/hello-world"
    browser.select(ref).result(60)
    before = client.models.get(ref).run_count or 0
    assert runs_shown(browser, ref) == (runs_text(before), runs_text(before))

    playground = rw.Playground(ref, client=client, keep=False)
    assert playground.run(text="counted").status == "succeeded"
    wait_until(lambda: runs_shown(browser, ref)[0] == runs_text(before + 1))
    wait_until(lambda: runs_shown(browser, ref)[1] == runs_text(before + 1))
    assert next(m for m in browser.models if m.ref == ref).run_count == before + 1
    # Another model's tile is left as it was.
    assert runs_shown(browser, "demo/fractal")[0] == runs_text(
        client.models.get("demo/fractal").run_count
    )

    # Not recorded in this kernel (another notebook, a script): the next list has it.
    client.predictions.create(ref, {"text": "elsewhere"})
    browser.list_models().result(60)
    assert runs_shown(browser, ref)[0] == runs_text(before + 2)
    playground.close()


def wait_until(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.05)


def test_thumbnail_shrinks_and_keeps_png() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (800, 400), "red").save(buf, format="JPEG")
    with Image.open(io.BytesIO(thumbnail(buf.getvalue(), 100))) as img:
        assert img.format == "PNG"
        assert img.size == (100, 50)


# -- pagination, with Replicate's own model JSON -------------------------------------


def paged_transport(pages: int) -> tuple[httpx.MockTransport, list[str]]:
    model = json.loads((FIXTURES / "model.json").read_text())
    seen: list[str] = []
    png = io.BytesIO()
    Image.new("RGB", (640, 480), "navy").save(png, format="PNG")

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.host.endswith("replicate.delivery"):
            return httpx.Response(
                200, content=png.getvalue(), headers={"content-type": "image/png"}
            )
        if request.url.path == "/v1/collections":
            return httpx.Response(
                200, json={"next": None, "previous": None, "results": []}
            )
        n = int(request.url.params.get("cursor", "1"))
        items = [{**model, "name": f"sdxl-{n}-{i}"} for i in range(2)]
        nxt = (
            f"https://api.replicate.com/v1/models?cursor={n + 1}" if n < pages else None
        )
        return httpx.Response(
            200, json={"next": nxt, "previous": None, "results": items}
        )

    return httpx.MockTransport(handler), seen


def test_pages_load_only_when_asked() -> None:
    transport, seen = paged_transport(pages=3)
    with Client(api_token="r8_x", transport=transport) as c:
        b = ModelBrowser(client=c)
        b.load_collections().result(30)
        first = b.list_models().result(30)
        assert len(first) == 2
        assert b.has_more
        assert b.more
        assert not any("cursor=2" in u for u in seen)  # nothing fetched ahead
        first_tiles = list(b.tiles)
        b._actions["more"](None).result(30)  # what the view's "Load more" sends
        assert [m.name for m in b.models][-2:] == ["sdxl-2-0", "sdxl-2-1"]
        assert len(b.parts["tiles"]) == 4
        assert b.parts["tiles"][:2] == first_tiles  # the first page's tiles stay
        assert all(t.comm is not None for t in first_tiles)
        b.load_more().result(30)
        assert len(b.models) == 6
        assert not b.has_more
        assert not b.more
        assert b.load_more().result(30) == b.models  # no page left: nothing fetched
        assert sum("cursor=" in u for u in seen) == 2
        assert all(t.cover for t in b.parts["tiles"])


def test_a_list_that_ends_late_never_replaces_a_newer_one() -> None:
    """Two lists race (a sort picked, then a search typed at once): the newer one
    keeps the grid whichever ends last. The older one is held while its tiles are
    made, after its page came back: the moment it once overwrote the newer grid."""
    transport, _seen = paged_transport(pages=1)
    made, release = threading.Event(), threading.Event()

    class HeldBrowser(ModelBrowser):
        hold = False

        async def _make_tiles(self, models: list[Any]) -> list[Any]:
            tiles = await super()._make_tiles(models)
            if self.hold:
                self.hold = False
                made.set()
                await asyncio.to_thread(release.wait, 30)
            return tiles

    with Client(api_token="r8_x", transport=transport) as c:
        b = HeldBrowser(client=c)
        b.list_models().result(30)
        b.hold = True
        older = b.list_models("model_created_at", "asc")
        assert made.wait(30)
        b.search("sdxl").result(30)
        newer_tiles = list(b.tiles)
        release.set()
        older.result(30)
        assert b.tiles == newer_tiles
        assert b.parts["tiles"] == newer_tiles
        assert all(t.comm is not None for t in newer_tiles)
        assert "Search 'sdxl'" in status(b)
        b.close()


def test_load_more_pressed_twice_lists_the_next_page_once() -> None:
    transport, seen = paged_transport(pages=3)
    asked = threading.Event()

    def held(request: httpx.Request) -> httpx.Response:
        if "cursor=2" in str(request.url):
            asked.set()
            assert release.wait(30)
        return transport.handle_request(request)

    release = threading.Event()
    with Client(api_token="r8_x", transport=httpx.MockTransport(held)) as c:
        b = ModelBrowser(client=c)
        b.list_models().result(30)
        first = b._actions["more"](None)  # a double click on "Load more"
        assert asked.wait(30)
        second = b._actions["more"](None)
        release.set()
        first.result(30), second.result(30)
        assert [m.name for m in b.models] == [
            "sdxl-1-0",
            "sdxl-1-1",
            "sdxl-2-0",
            "sdxl-2-1",
        ]
        assert len(b.parts["tiles"]) == 4
        assert sum("cursor=2" in u for u in seen) == 1
        b.close()


def test_no_token_for_the_cloud_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    import replicate_widgets._client.auth as _auth
    from replicate_widgets._client.errors import MissingTokenError

    monkeypatch.delenv("REPLICATE_API_TOKEN", raising=False)
    monkeypatch.setattr(_auth, "_token", None)
    # No request leaves the machine: the client refuses before sending.
    with Client(base_url="https://api.replicate.com/v1") as cloud:
        b = ModelBrowser(client=cloud)
        with pytest.raises(MissingTokenError):
            b.list_models().result(30)
    message = b.error or ""
    assert "replicate_widgets.login()" in message
    assert "backend='local'" in message
    assert "demo/text-stream" in message  # names the models it could use instead


def test_a_model_without_versions_cannot_be_opened(
    browser: ModelBrowser, client: Client
) -> None:
    client.models.create("local", "empty-one", visibility="public", hardware="cpu")
    browser.select("local/empty-one").result(60)
    assert browser.versions == []
    assert browser.version_choices == []
    assert "no versions" in browser.open_disabled  # the button is disabled, says why
    playground = browser.open_playground().result(60)
    assert "has no versions yet" in (playground.error or "")


# -- the view's side: what it sends, and what it is made of ---------------------------


def test_every_part_is_an_anywidget(browser: ModelBrowser) -> None:
    browser.select("replicate/hello-world").result(60)
    browser.open_playground().result(120)
    parts = all_parts(browser)
    assert len(browser.tiles) == len(browser.models) >= 3
    assert all(t in parts for t in browser.tiles)
    assert browser.playground in parts
    assert browser.playground.form in parts  # the Playground's own parts, too
    assert isinstance(browser, anywidget.AnyWidget)
    for part in parts:
        assert isinstance(part, anywidget.AnyWidget), type(part)
    browser.close()
    assert all(p.comm is None for p in parts)  # closing the browser closes its parts


def test_the_views_controls_drive_it(browser: ModelBrowser) -> None:
    old_tiles = list(browser.tiles)
    searched = []
    real_search = browser.search
    browser.search = lambda q: searched.append(q) or real_search(q)  # type: ignore[method-assign]
    browser.query = "fractal"  # what the search box sends on Enter
    assert searched == ["fractal"]
    wait_for(lambda: tile_refs(browser) == ["demo/fractal"])
    assert all(t.comm is None for t in old_tiles)  # replaced tiles are closed
    (tile,) = browser.tiles
    tile._actions["details"](None).result(60)  # the tile's Details button
    assert browser.selected is not None
    assert browser.selected.ref == "demo/fractal"
    assert "demo/fractal" in card_text(browser)
    browser._actions["open"](None).result(120)  # "Open in Playground"
    assert browser.playground is not None
    assert browser.playground.error is None
    browser.sort = "Oldest models"  # the Sort menu lists all models again
    # The status can read so before the new listing replaced the search's one.
    wait_for(lambda: "Models on the local backend" in status(browser))
    wait_for(lambda: len(browser.tiles) == len(browser.models) >= 3)


def test_what_the_view_sends_is_checked(browser: ModelBrowser) -> None:
    import traitlets

    with pytest.raises(traitlets.TraitError):
        browser.sort = "Most runs"
    with pytest.raises(traitlets.TraitError):
        browser.collection = "no-such-collection"
    with pytest.raises(traitlets.TraitError):
        browser.version = "not-a-version"
    with pytest.raises(traitlets.TraitError):
        browser.query = 3  # type: ignore[assignment]
    browser.search = lambda q: None  # type: ignore[method-assign,assignment,return-value]
    browser.query = "x" * 10_000
    assert len(browser.query) == 200
    assert browser.sort == "Newest versions"
    assert browser.collection == ""
    browser._on_composite_message(browser, {"kind": "action", "name": "nope"}, [])


def wait_for(check: Any, timeout: float = 60) -> None:
    import time

    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_close_leaves_no_widget_open(client: Client) -> None:
    """The browser closes its tiles, the Playground it opened and every Layout
    model ipywidgets made for them."""
    before = open_widgets()
    browser = ModelBrowser(client=client)
    browser.list_models().result(60)
    browser.select("replicate/hello-world").result(60)
    browser.open_playground().result(120)
    browser.query = "fractal"  # replaces the tiles
    wait_for(lambda: tile_refs(browser) == ["demo/fractal"])
    assert opened_since(before)
    browser.close()
    assert opened_since(before) == {}
