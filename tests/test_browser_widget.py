"""ModelBrowser driven through its Python API against the real local backend.

Lazy pagination is shown with a transport replaying Replicate's real model JSON as
two pages, because the local backend answers every list in one page.
"""

from __future__ import annotations

import html
import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import ipywidgets
import pytest
from PIL import Image

from replicate_widgets._browser import ModelBrowser, thumbnail
from replicate_widgets._client import Client
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
    return [
        t.children[1].value.split("</b>")[0].split(">")[-1] for t in b._grid.children
    ]


def status(b: ModelBrowser) -> str:
    return html.unescape(b._status.value)


def images_in(widget: ipywidgets.Widget) -> list[ipywidgets.Image]:
    found = []
    stack = [widget]
    while stack:
        w = stack.pop()
        if isinstance(w, ipywidgets.Image):
            found.append(w)
        stack.extend(getattr(w, "children", ()))
    return found


def html_in(widget: ipywidgets.Widget) -> str:
    parts, stack = [], [widget]
    while stack:
        w = stack.pop()
        if isinstance(w, ipywidgets.HTML):
            parts.append(w.value)
        stack.extend(getattr(w, "children", ()))
    return "\n".join(parts)


def test_lists_the_backend_models_with_cover_bytes(browser: ModelBrowser) -> None:
    refs = sorted(m.ref for m in browser.models)
    assert refs == ["demo/fractal", "demo/text-stream", "replicate/hello-world"]
    assert sorted(tile_refs(browser)) == refs
    assert "Models on the local backend: 3 models." in status(browser)
    fractal = next(
        t for t in browser._grid.children if "demo/fractal" in t.children[1].value
    )
    (cover,) = images_in(fractal)
    with Image.open(io.BytesIO(cover.value)) as img:  # real PNG bytes, shrunk
        assert img.format == "PNG"
        assert max(img.size) <= browser.cover_edge
    assert not browser.has_more
    assert browser._more.layout.display == "none"


def test_sorting_keeps_every_model(browser: ModelBrowser) -> None:
    models = browser.list_models("model_created_at", "asc").result(60)
    assert len(models) == 3


def test_collections_menu_and_opening_one(browser: ModelBrowser) -> None:
    assert [c.slug for c in browser.collections] == ["local-models"]
    assert ("Local models", "local-models") in browser._collection.options
    browser._collection.value = "local-models"  # what picking it in the menu does
    models = browser.open_collection("local-models").result(60)
    assert len(models) == 3
    assert "Collection 'local-models': 3 models." in status(browser)


def test_unknown_collection_is_explained(browser: ModelBrowser) -> None:
    with pytest.raises(Exception, match="does not exist"):
        browser.open_collection("nope").result(60)
    assert "local-models" in browser._status.value  # says which one exists
    assert TOKEN not in browser._status.value


def test_search_narrows_and_empty_search_lists_all(browser: ModelBrowser) -> None:
    found = browser.search("fractal").result(60)
    assert [m.ref for m in found] == ["demo/fractal"]
    assert "Search 'fractal': 1 model." in status(browser)
    assert len(browser.search("   ").result(60)) == 3


def test_model_card_shows_details_versions_and_example(browser: ModelBrowser) -> None:
    model = browser.select("demo/fractal").result(60)
    assert browser.selected is model
    text = html_in(browser._card)
    assert "demo/fractal" in text
    assert (model.description or "")[:20] in text
    assert "0 runs" in text
    assert "Default example" in text
    assert "width" in text
    assert len(browser.versions) == 1
    assert browser._version_pick.value == browser.versions[0].id
    assert images_in(browser._card), "the card shows the cover image as bytes"


def test_opening_a_playground_runs_the_model(browser: ModelBrowser) -> None:
    browser.select("replicate/hello-world").result(60)
    playground = browser.open_playground().result(120)
    assert browser._stage.children == (playground,)
    assert playground.error is None
    assert playground.form is not None
    assert playground.run(text="Browser").output == "hello Browser"


def test_playground_needs_a_selection(client: Client) -> None:
    b = ModelBrowser(client=client)
    b.list_models().result(60)
    with pytest.raises(RuntimeError, match="Select a model first"):
        b.open_playground().result(60)
    assert "Select a model first" in b._status.value


def test_unknown_model_is_shown_in_the_widget(browser: ModelBrowser) -> None:
    with pytest.raises(Exception, match="nobody/nothing"):
        browser.select("nobody/nothing").result(60)
    assert browser.error is not None
    # It says which models the local backend does have, in the card too.
    assert "demo/fractal, demo/text-stream, replicate/hello-world" in browser.error
    assert "nobody/nothing" in html_in(browser._card)
    assert "Loading" not in html_in(browser._card)


def test_a_newer_listing_wins_over_an_older_one(browser: ModelBrowser) -> None:
    older = browser.search("fractal")
    newer = browser.list_models()
    older.result(60), newer.result(60)
    assert len(browser.models) == 3


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
        assert b._more.layout.display == ""
        assert not any("cursor=2" in u for u in seen)  # nothing fetched ahead
        b.load_more().result(30)
        assert [m.name for m in b.models][-2:] == ["sdxl-2-0", "sdxl-2-1"]
        assert len(b._grid.children) == 4
        b.load_more().result(30)
        assert len(b.models) == 6
        assert not b.has_more
        assert b._more.layout.display == "none"
        assert b.load_more().result(30) == b.models  # no page left: nothing fetched
        assert sum("cursor=" in u for u in seen) == 2
        assert all(images_in(t) for t in b._grid.children)


def test_no_token_for_the_cloud_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    from replicate_widgets import _auth
    from replicate_widgets._errors import MissingTokenError

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
    buttons = [
        w
        for w in browser._card.children[0].children[-1].children
        if isinstance(w, ipywidgets.Button)
    ]
    assert buttons[0].disabled
    assert "no versions" in buttons[0].tooltip
    playground = browser.open_playground().result(60)
    assert "has no versions yet" in (playground.error or "")
