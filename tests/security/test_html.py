"""Python-built HTML against hostile values: no handler, no script, no unsafe URL.

Every renderer of the package (share(), History rows, ModelBrowser cards and tiles,
CreateModel, Trainer, Playground, Compare/Sweep headers, notices) gets the hostile
corpus of ``_hostile.py``: in the values a model, a backend or a file host controls.
Declared MIME types reach them the ways they do in real use: ``data:`` URI outputs, an
HTTP ``Content-Type`` from a real server on 127.0.0.1, a kept record on disk, a file
the caller passes. The output is parsed as a browser would and must hold no ``on*``
attribute, no ``<script>`` and no ``href``/``src`` other than http(s) or
``data:<type/subtype>;base64,``.
"""

from __future__ import annotations

import ast
import base64
import io
import json
import re
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ipywidgets
import pytest
import traitlets
from _hostile import (
    DATA_URI_MIMES,
    HOSTILE_MIMES,
    PAYLOADS,
    PROBE,
    assert_safe,
    data_uri_output,
    hostile_prediction,
    hostile_server,
    json_route,
    problems,
    safe_url,
    write_hostile_model,
)

from replicate_widgets import FileContent, Model, Prediction
from replicate_widgets._client.client import Client
from replicate_widgets._client.files import data_url, decode_data_uri
from replicate_widgets._client.sniff import sniff_mime
from replicate_widgets._widgets.catalog.browser import ModelBrowser
from replicate_widgets._widgets.catalog.browser_cards import card_head_html, model_tile
from replicate_widgets._widgets.catalog.create_model import CreateModel
from replicate_widgets._widgets.catalog.model_html import (
    link_html,
    model_links_html,
    model_summary_html,
)
from replicate_widgets._widgets.catalog.trainer import Trainer
from replicate_widgets._widgets.compare.compare import Sweep
from replicate_widgets._widgets.composite import Composite, MarkupTrait
from replicate_widgets._widgets.form_store import HiddenValues
from replicate_widgets._widgets.history.entries import (
    HistoryEntry,
    kept_prediction,
    row_html,
)
from replicate_widgets._widgets.history.history import History
from replicate_widgets._widgets.keep import Keeper
from replicate_widgets._widgets.media import build_media
from replicate_widgets._widgets.notices import notice_html
from replicate_widgets._widgets.playground.playground import Playground, _note
from replicate_widgets._widgets.share import SharedRun, share_html
from replicate_widgets.server import LocalServer, serve

PACKAGE = Path(__file__).resolve().parents[2] / "replicate_widgets"
TOKEN = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
# Types in the corpus that are valid tokens: passed on, lowercased.
VALID = {"text/html": "text/html", "image/svg+xml": "image/svg+xml"}
VALID["audio/\u212aelvin"] = "audio/kelvin"
# What an HTTP header can carry (latin-1, no NUL or line breaks).
HTTP_MIMES = [m for m in HOSTILE_MIMES if m.isprintable() and m.isascii()]


def wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x10" * 800)
    return buf.getvalue()


def _markup_in(value: Any, key: str = "") -> Iterator[str]:
    """Markup inside synced JSON: the values of keys named ``*_html``."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _markup_in(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _markup_in(v, key)
    elif isinstance(value, str) and key.endswith("_html"):
        yield value


def html_values(widget: Any) -> list[str]:
    """The markup shown inside ``widget``: every HTML widget's value, every
    widget's markup traits (lists and dicts of them) and the ``*_html`` values of
    its synced JSON (e.g. History's rows); composites' parts are walked too."""
    found, stack = [], [widget]
    while stack:
        w = stack.pop()
        if isinstance(w, ipywidgets.HTML):
            found.append(w.value)
        if isinstance(w, Composite):
            stack.extend(w.own_parts())
        if isinstance(w, ipywidgets.Widget):
            for name, trait in w.traits(sync=True).items():
                value = getattr(w, name)
                if isinstance(trait, MarkupTrait):
                    found.append(value)
                elif isinstance(trait, traitlets.List) and isinstance(
                    trait._trait, MarkupTrait
                ):
                    found.extend(value)
                elif isinstance(getattr(trait, "_value_trait", None), MarkupTrait):
                    found.extend(value.values())
                elif name != "parts":
                    found.extend(_markup_in(value))
        stack.extend(getattr(w, "children", ()))
    return [v for v in found if v]


def assert_all_safe(widget: Any) -> str:
    values = html_values(widget)
    assert values, "nothing rendered"
    bad = {v[:200]: problems(v) for v in values if problems(v)}
    assert not bad, bad
    return "\n".join(values)


# -- the one MIME gate ----------------------------------------------------------------


@pytest.mark.parametrize("declared", HOSTILE_MIMES + PAYLOADS)
def test_clean_mime_passes_only_type_subtype_tokens(declared: str) -> None:
    from replicate_widgets._client.sniff import clean_mime

    cleaned = clean_mime(declared)
    assert TOKEN.fullmatch(cleaned)
    assert cleaned == VALID.get(declared, "application/octet-stream")


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("Image/PNG", "image/png"),
        ("text/csv; charset=utf-8", "text/csv"),
        (" application/vnd.api+json ", "application/vnd.api+json"),
        ("audio/x-wav", "audio/x-wav"),
        (None, "application/octet-stream"),
        (b"image/png", "application/octet-stream"),
    ],
)
def test_clean_mime_normalises_valid_types(declared: Any, expected: str) -> None:
    from replicate_widgets._client.sniff import clean_mime

    assert clean_mime(declared) == expected


@pytest.mark.parametrize("declared", HOSTILE_MIMES + PAYLOADS)
def test_every_way_a_declared_type_enters_is_checked(declared: str) -> None:
    junk = b"\x00\x01\x02 not media"
    assert TOKEN.fullmatch(sniff_mime(junk, declared))
    assert TOKEN.fullmatch(sniff_mime(junk, declared, "https://x.test/a.bin"))
    assert TOKEN.fullmatch(build_media("m0", "https://x.test/a", junk, declared).mime)
    uri = data_url(junk, declared)
    assert safe_url(uri)
    if declared in DATA_URI_MIMES:
        assert TOKEN.fullmatch(decode_data_uri(data_uri_output(declared))[1])
    store = HiddenValues()
    store.receive_file({"__file__": "k", "name": "a.png", "type": declared}, [junk])
    assert TOKEN.fullmatch(store.uploads["k"].type)


def test_real_bytes_still_win_over_a_hostile_label() -> None:
    assert sniff_mime(wav(), f'audio/x" onerror="{PROBE}') == "audio/wav"


# -- share() --------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_share_html_shows_hostile_text_as_text(payload: str) -> None:
    out = share_html(hostile_prediction(payload), title=payload)
    page = assert_safe(out)
    assert page.content.count(payload.split("\x00")[-1]) >= 3  # shown, as text


@pytest.mark.parametrize("mime", HOSTILE_MIMES)
def test_share_html_with_hostile_declared_types(mime: str) -> None:
    urls = [f"https://x.test/{i}" for i in range(5)]
    files = {
        urls[0]: (b"\x00\x01\x02 not media", mime),
        urls[1]: FileContent(b"\x00\x01 also not", mime),
        urls[2]: (wav(), mime),
        urls[3]: (f"<script>{PROBE}</script>".encode(), mime),
        urls[4]: build_media("m0", urls[4], b"\x00\x09", mime),
    }
    output = [*urls]
    if mime in DATA_URI_MIMES:
        output.append(data_uri_output(mime))
        output.append(data_uri_output(mime, wav()))
    out = share_html(
        Prediction.from_json(hostile_prediction("x", output=output)), files
    )
    page = assert_safe(out)
    if '"' in mime:  # never copied into an attribute as given
        assert not any(mime in (v or "") for _, a in page.tags for v in a.values())
    if mime not in VALID or mime == "text/html":
        assert f"<script>{PROBE}</script>" in page.content  # the text file, as text


def test_share_html_before_the_fix_would_have_run_a_handler() -> None:
    """The filed defect, exactly: a ``"`` in a data: URI's type added onerror."""
    uri = data_uri_output(f'audio/x"onerror="{PROBE}"')
    page = assert_safe(share_html(hostile_prediction("x", output=uri)))
    (a,) = [attrs for t, attrs in page.tags if t == "a" and "download" in attrs]
    assert a["href"] == data_uri_output("application/octet-stream")


def test_content_type_from_a_real_http_server_is_checked() -> None:
    routes = {
        f"/file/{i}": (200, mime, b"\x00\x01\x02 not media")
        for i, mime in enumerate(HTTP_MIMES)
    }
    routes["/file/wav"] = (200, f'video/x" onerror="{PROBE}', wav())
    with hostile_server(routes) as base, Client(api_token="r8_x", base_url=base) as c:
        urls = [f"{base}{path}" for path in routes]
        files = {url: c.read(url) for url in urls}
        for url, content in files.items():
            assert TOKEN.fullmatch(content.content_type), (url, content.content_type)
        assert files[f"{base}/file/wav"].content_type == "audio/wav"
        p = Prediction.from_json(hostile_prediction("x", output=urls))
        out = share_html(p, files)
    assert_safe(out)
    assert "onerror" not in out


def test_a_tampered_kept_record_cannot_inject(tmp_path: Path) -> None:
    keeper = Keeper(tmp_path)
    outputs = [
        data_uri_output("application/octet-stream", b"\x00\x01\x02" * i) for i in (1, 2)
    ]
    p = Prediction.from_json(
        hostile_prediction("x", id="kept1", output=outputs, status="succeeded")
    )
    folder = keeper.save(p)
    assert folder is not None
    record = json.loads((folder / "record.json").read_text())
    for f, mime in zip(
        record["files"], (f'audio/x" onerror="{PROBE}', "video/x\u2028"), strict=False
    ):
        f["mime"] = mime  # a shared outputs folder is a file anyone can edit
    (folder / "record.json").write_text(json.dumps(record))
    rec = keeper.load("kept1")
    assert all(TOKEN.fullmatch(f.mime) for f in rec.files)
    assert_safe(SharedRun.from_kept(rec).html)
    for uri in kept_prediction(rec).output:
        assert safe_url(uri)


# -- the other renderers --------------------------------------------------------------


def hostile_model(payload: str) -> dict[str, Any]:
    return {
        "owner": "evil",
        "name": payload,
        "description": payload,
        "visibility": payload,
        "url": f"javascript:{PROBE}",
        "github_url": f"https://github.com/{payload}",
        "paper_url": payload,
        "license_url": f" javascript:{PROBE}",
        "cover_image_url": None,
        "run_count": 3,
        "default_example": {"input": {payload: payload}, "output": payload},
        "latest_version": None,
    }


@pytest.mark.parametrize("payload", PAYLOADS)
def test_pure_renderers(payload: str) -> None:
    model = Model.from_json(hostile_model(payload))
    entry = HistoryEntry(payload, model=payload, status=payload, data_removed=True)
    pieces = [
        row_html(entry),
        card_head_html(model),
        model_summary_html(model),
        model_links_html(model),
        link_html(payload, payload),
        link_html(f"https://x.test/{payload}", payload),
        _note(payload),
        *html_values(model_tile(model, lambda _ref: None)),
        *(notice_html(payload, kind) for kind in ("error", "info", "ok", payload)),
    ]
    for piece in pieces:
        assert_safe(piece)
    assert payload.split("\x00")[-1] in assert_safe(row_html(entry)).content


def test_the_builder_refuses_what_would_run() -> None:
    from replicate_widgets._widgets.html import link, tag

    assert link(f"javascript:{PROBE}") == f"javascript:{PROBE}"  # text, not a link
    assert "<a" not in link(f" https://x.test/{PAYLOADS[0]}")
    with pytest.raises(ValueError, match="onclick"):
        tag("div", onclick=PROBE)
    with pytest.raises(ValueError, match="href"):
        tag("a", href=f"javascript:{PROBE}")
    with pytest.raises(ValueError, match="src"):
        tag("img", src=f'data:image/png" onerror="{PROBE};base64,AA')
    with pytest.raises(ValueError, match="script"):
        tag("script", PROBE)


# -- widgets, with what a backend sends ----------------------------------------------


@pytest.fixture(scope="module")
def evil() -> Iterator[Client]:
    """A Replicate-compatible server on 127.0.0.1 whose every answer is hostile."""
    payload = PAYLOADS[0]
    prediction = hostile_prediction(payload, status="succeeded")
    prediction["output"] = [data_uri_output(f'image/x" onerror="{PROBE}')]
    model = hostile_model(payload)
    routes = {
        "/models": json_route({"results": [model], "next": None}),
        "/models/*": json_route(model),
        "POST /models": json_route(model),
        "/collections": json_route(
            {"results": [{"slug": "x", "name": payload, "description": payload}]}
        ),
        "/predictions": json_route({"results": [prediction], "next": None}),
        "/hardware": json_route([{"sku": "cpu", "name": payload}]),
        "/account": json_route({"type": "user", "username": "evil", "name": payload}),
    }
    with hostile_server(routes) as base, Client(api_token="r8_x", base_url=base) as c:
        yield c


def test_model_browser_tiles_and_card(evil: Client) -> None:
    browser = ModelBrowser(client=evil)
    browser.list_models().result(30)
    browser.select("evil/fine").result(30)  # answered with the hostile model
    shown = assert_all_safe(browser)
    assert "rw-card-title" in shown


def test_history_rows_from_the_api(evil: Client) -> None:
    history = History(client=evil, keeper=None)
    history.wait(30)
    shown = assert_all_safe(history)
    assert "rw-history-model" in shown
    history.close()


def test_create_model_result(evil: Client) -> None:
    form = CreateModel(client=evil)
    form.ready.result(30)
    form.create(name="fine-name", description=PAYLOADS[0])
    assert "rw-model-summary" in assert_all_safe(form)


@pytest.mark.parametrize("payload", PAYLOADS[:7])
def test_create_model_notes(local_client: Client, payload: str) -> None:
    form = CreateModel(client=local_client)
    form.ready.result(30)
    form.set(owner=payload, name=payload, github_url=payload, paper_url=payload)
    with pytest.raises(ValueError, match=r"owner|name"):
        form.submit().result(10)
    assert_all_safe(form)


@pytest.mark.parametrize("payload", PAYLOADS[:7])
def test_playground_and_trainer_with_a_hostile_reference(
    local_client: Client, payload: str
) -> None:
    pg = Playground(f"evil/{payload}", client=local_client)
    assert pg.error
    assert_all_safe(pg)
    trainer = Trainer(f"evil/{payload}", client=local_client)
    trainer.ready.result(30)
    assert_all_safe(trainer)


def test_sweep_headers_show_hostile_values(local_client: Client) -> None:
    sweep = Sweep("demo/echo", grid={"text": list(PAYLOADS)}, client=local_client)
    shown = assert_all_safe(sweep)
    assert shown.count("rw-grid-header") == len(PAYLOADS)
    sweep.close()


@pytest.fixture(scope="module")
def hostile_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """The local backend serving a model that echoes what it is given."""
    folder = write_hostile_model(tmp_path_factory.mktemp("models") / "hostile")
    data = tmp_path_factory.mktemp("backend")
    with serve(port=0, models=[folder], bundled=False, data_dir=data) as server:
        yield server


def test_a_real_run_pointing_at_a_hostile_file_host(
    hostile_backend: LocalServer,
) -> None:
    """The defect end to end: a model's object output points at a host whose
    Content-Type carries a handler; the panel fetches it and share() embeds it."""
    declared = f'audio/x" onerror="{PROBE}'
    routes = {"/evil.bin": (200, declared, b"\x00\x01\x02 not media")}
    with hostile_server(routes) as host, Client(base_url=hostile_backend.url) as c:
        pg = Playground("test/hostile", client=c, keep=False)
        done = pg.run(url=f"{host}/evil.bin", log=PAYLOADS[0])
        assert done.status == "succeeded", done.error
        (item,) = pg.panel.files
        assert item.mime == "application/octet-stream"
        (entry,) = pg.panel.media
        assert TOKEN.fullmatch(entry["mime"])
        out = pg.share().html
    page = assert_safe(out)
    assert not any("onerror" in str(attrs) for _, attrs in page.tags)
    assert_all_safe(pg)


# -- the audit ------------------------------------------------------------------------

# An HTML element (not a placeholder such as "owner/name:<id>" in a message).
_HTML_LITERAL = re.compile(
    r"</?(?:a|b|i|p|br|div|span|pre|code|table|tr|td|th|img|audio|video|details"
    r"|summary|strong|h[1-6]|ul|li|script|style|iframe)(?=[\s/>])"
)


def test_no_module_writes_html_by_hand() -> None:
    """Only _widgets/html.py makes HTML: no html.escape, no f-string markup."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "_widgets" / "html.py" or "models" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{path.relative_to(PACKAGE)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                modules = [node.module or ""]
            else:
                modules = []
            for module in modules:
                if module.split(".")[0] in ("html", "markupsafe"):
                    found.append(f"{where} imports {module}")
            if isinstance(node, ast.JoinedStr):
                literal = "".join(
                    v.value for v in node.values if isinstance(v, ast.Constant)
                )
                if _HTML_LITERAL.search(literal):
                    found.append(f"{where} f-string markup {literal[:50]!r}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Markup"
                and not all(isinstance(a, ast.Constant) for a in node.args)
            ):
                found.append(f"{where} Markup() of a non-constant")
    assert not found, "\n".join(found)


def test_share_output_embeds_real_media_as_data_uris() -> None:
    """The gate does not break the point of share(): real files still embed."""
    url = "https://x.test/a.wav"
    page = assert_safe(
        share_html(hostile_prediction("x", output=url), {url: (wav(), "")})
    )
    (audio,) = [attrs for t, attrs in page.tags if t == "audio"]
    assert audio["src"] == "data:audio/wav;base64," + base64.b64encode(wav()).decode()
