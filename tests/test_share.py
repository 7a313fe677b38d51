"""Sharing a run as static HTML: embedded media, escaping, masking, notebook output."""

from __future__ import annotations

import base64
import io
import json
import wave
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from replicate_widgets import FileContent, Prediction, parse
from replicate_widgets._widgets.keep import Keeper
from replicate_widgets._widgets.share import MAX_EMBED_BYTES, SharedRun, share_html

RESPONSES = Path(__file__).resolve().parent / "fixtures" / "responses"
GOLDEN = Path(__file__).resolve().parent / "fixtures" / "cog-golden"
EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class Page(HTMLParser):
    """The tags, attributes and text of an HTML snippet, as a browser would see them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for t, attrs in self.tags if t == tag]

    @property
    def content(self) -> str:
        return "".join(self.text)


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RESPONSES / name).read_text())
    return data


def picture(width: int, height: int, fmt: str = "PNG") -> bytes:
    im = Image.new("RGB", (width, height), (30, 90, 200))
    im.paste((250, 200, 0), (0, 0, width // 2, height // 2))
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def wav(seconds: float) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes(b"\x00\x10" * int(22050 * seconds))
    return buf.getvalue()


def decode(src: str | None) -> tuple[str, bytes]:
    assert src is not None
    assert src.startswith("data:")
    header, payload = src.split(",", 1)
    return header[5:].split(";")[0], base64.b64decode(payload)


def prediction(**changes: Any) -> Prediction:
    return Prediction.from_json({**fixture("prediction-succeeded.json"), **changes})


def test_images_are_embedded_downscaled() -> None:
    p = prediction()
    big = picture(2000, 1000)
    page = Page(share_html(p, {p.output[0]: (big, "image/png")}))
    (img,) = page.all("img")
    mime, data = decode(img["src"])
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (768, 384)
        assert Image.MIME[im.format or ""] == mime
    assert (img["width"], img["height"]) == ("768", "384")
    assert "replicate.delivery" not in (img["src"] or "")


def test_small_image_keeps_its_bytes_and_edge_is_configurable() -> None:
    p = prediction()
    small = picture(100, 50)
    page = Page(share_html(p, {p.output[0]: FileContent(small, "image/png")}))
    assert decode(page.all("img")[0]["src"]) == ("image/png", small)
    page = Page(share_html(p, {p.output[0]: (small, "")}, max_image_edge=20))
    assert page.all("img")[0]["width"] == "20"


def test_panel_media_items_can_be_passed_as_they_are() -> None:
    from replicate_widgets._widgets.media import build_media

    p = prediction()
    item = build_media("m0", p.output[0], picture(64, 32), "image/png")
    page = Page(share_html(p, {item.url: item}))
    assert decode(page.all("img")[0]["src"]) == ("image/png", item.data)


def test_header_shows_model_status_version_time_and_metrics() -> None:
    page = Page(share_html(prediction()))
    text = page.content
    for expected in (
        "stability-ai/sdxl",
        "succeeded",
        "version 39ed52f2 ·",  # 8 digits, as every title shows them
        "created 2023-08-16 18:57:08 UTC",
        "predict time 3.80 s",
        "vgcm4plb7tgzlyznry5d5jkgvu",
    ):
        assert expected in text
    assert "My title" in Page(share_html(prediction(), title="My title")).content


def test_everything_untrusted_is_escaped() -> None:
    p = prediction(
        model=EVIL,
        input={"prompt": EVIL, EVIL: "key"},
        output=[EVIL, "javascript:alert(1)"],
        logs=EVIL + "\n",
        error=EVIL,
        status="failed",
    )
    out = share_html(p, title=EVIL)
    page = Page(out)
    assert "<script" not in out.lower()
    assert page.all("script") == []
    assert all(not k.startswith("on") for _, attrs in page.tags for k in attrs)
    assert all(
        (a.get("href") or "").startswith(("https://", "http://", "data:"))
        for a in page.all("a")
    )
    assert page.content.count(EVIL) >= 5  # shown as text, every time


def test_links_only_for_web_urls_and_unfetched_files_are_linked() -> None:
    p = prediction()
    page = Page(share_html(p))
    (link,) = page.all("a")
    assert link["href"] == p.output[0]
    assert link["rel"] == "noopener noreferrer"
    assert "Not embedded" in page.content


def test_data_uri_outputs_need_no_files() -> None:
    png = picture(64, 64)
    uri = "data:application/octet-stream;base64," + base64.b64encode(png).decode()
    page = Page(share_html(prediction(output=uri)))
    assert decode(page.all("img")[0]["src"]) == ("image/png", png)


def test_audio_is_embedded_when_small_and_linked_when_large() -> None:
    small, large = wav(0.5), wav(MAX_EMBED_BYTES / 44100 + 1)
    assert len(large) > MAX_EMBED_BYTES
    urls = ["https://x.test/a.wav", "https://x.test/b.wav"]
    p = prediction(output=urls)
    page = Page(share_html(p, {urls[0]: (small, "audio/wav"), urls[1]: (large, "")}))
    (audio,) = page.all("audio")
    assert decode(audio["src"]) == ("audio/wav", small)
    assert "controls" in audio
    assert "too large to embed" in page.content
    assert any(a.get("href") == urls[1] for a in page.all("a"))


def test_other_files_become_download_links_and_text_is_shown() -> None:
    urls = ["https://x.test/model.zip", "https://x.test/notes.txt"]
    zipped = b"PK\x03\x04" + b"\x00" * 100
    files = {urls[0]: (zipped, ""), urls[1]: (b"plain <b>text</b>", "text/plain")}
    page = Page(share_html(prediction(output=urls), files))
    (download,) = [a for a in page.all("a") if "download" in a]
    assert download["download"] == "model.zip"
    assert decode(download["href"]) == ("application/zip", zipped)
    assert "plain <b>text</b>" in page.content
    assert page.all("b") == []


def test_a_broken_image_is_offered_as_a_file() -> None:
    url = "https://x.test/out.png"
    broken = picture(50, 50)[:40]
    page = Page(share_html(prediction(output=url), {url: (broken, "image/png")}))
    assert page.all("img") == []
    assert any("download" in a for a in page.all("a"))


def test_streamed_text_reads_as_one_text() -> None:
    tokens = fixture("prediction-processing-streamed-tokens.json")["output"]
    assert isinstance(tokens, list)
    assert len(tokens) > 1
    page = Page(share_html(prediction(output=tokens)))
    assert "".join(tokens) in page.content
    # with a schema that says the output is a list of files, the list is not joined
    schema = parse(json.loads((GOLDEN / "output_list.json").read_text()))
    assert schema.output.kind != "text-stream"
    page = Page(share_html(prediction(output=["alpha-", "omega"]), schema=schema))
    assert "alpha-" in page.text  # each item its own block of text
    assert "omega" in page.text


def test_object_output_is_a_table() -> None:
    output = {"words": 3, "top_words": ["one", "two"], "signature": None}
    page = Page(share_html(prediction(output=output)))
    headers = [a for t, a in page.tags if t == "th"]
    assert len(headers) >= 3
    assert "top_words" in page.content
    assert '["one", "two"]' in page.content or "one" in page.content


def test_secrets_are_masked() -> None:
    schema = parse(json.loads((GOLDEN / "output_secret.json").read_text()))
    page = Page(share_html(prediction(input={"x": "hunter2"}), schema=schema))
    assert "hunter2" not in page.content
    assert "**********" in page.content
    page = Page(share_html(prediction(input={"api_key": "k-123", "max_tokens": 7})))
    assert "k-123" not in page.content
    assert "7" in page.content


def test_logs_are_collapsed_and_tailed() -> None:
    logs = "\x1b[32mgreen\x1b[0m\n" + "".join(f"line {i}\n" for i in range(500))
    logs += "  0%|   | 0/50\r 50%|#  | 25/50\r100%|##| 50/50\n"
    page = Page(share_html(prediction(logs=logs)))
    (details,) = [a for t, a in page.tags if t == "details" and "open" not in a]
    assert details is not None
    assert "last 200 of 502 lines" in page.content
    assert "line 499" in page.content
    assert "line 100\n" not in page.content
    assert "100%|##| 50/50" in page.content
    assert " 50%|#" not in page.content
    assert "\x1b" not in page.content


def test_failed_prediction_shows_its_error() -> None:
    page = Page(share_html(prediction(status="failed", error="CUDA out of memory")))
    assert "CUDA out of memory" in page.content
    assert "failed" in page.content


def test_inputs_follow_the_schema_order() -> None:
    sdxl = RESPONSES.parent / "schemas" / "stability-ai__sdxl.json"
    schema = parse(json.loads(sdxl.read_text()))
    p = prediction()
    page = Page(share_html(p, schema=schema))
    names = [text for text in page.text if text in p.input]
    order = [f.name for f in schema.inputs if f.name in p.input]
    assert names == order


def test_input_files_given_are_embedded_small() -> None:
    url = "https://x.test/in.png"
    p = prediction(input={"image": url, "prompt": "x"}, output=None)
    page = Page(share_html(p, {url: (picture(800, 400), "image/png")}))
    (img,) = page.all("img")
    assert img["width"] == "192"
    assert "(no output)" in page.content


def test_mistakes_are_explained() -> None:
    with pytest.raises(ValueError, match="positive"):
        share_html(prediction(), max_image_edge=0)
    with pytest.raises(TypeError, match="whole number"):
        share_html(prediction(), max_image_edge="big")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="takes a Prediction"):
        share_html(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="FileContent"):
        share_html(prediction(), {prediction().output[0]: "not bytes"})


def test_shared_run_displays_as_html() -> None:
    from IPython.core.formatters import DisplayFormatter

    p = prediction()
    run = SharedRun(p.raw, {p.output[0]: (picture(32, 32), "image/png")})
    assert run._repr_html_() == run.html
    bundle, _ = DisplayFormatter().format(run)
    assert bundle["text/html"] == run.html
    assert "vgcm4plb7tgzlyznry5d5jkgvu" in bundle["text/plain"]
    assert run._repr_mimebundle_(include={"text/plain"}) == {"text/plain": repr(run)}
    assert "text/html" not in run._repr_mimebundle_(exclude={"text/html"})


def test_shared_run_from_kept_outputs(tmp_path: Path) -> None:
    p = prediction()
    png = picture(300, 200)
    Keeper(tmp_path).save(p, {p.output[0]: (png, "image/png")})
    run = SharedRun.from_kept(Keeper(tmp_path).load(p.id), title="kept")
    (img,) = Page(run.html).all("img")
    assert decode(img["src"]) == ("image/png", png)


@pytest.mark.integration
def test_display_survives_in_saved_notebook_and_html_export(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    exporters = pytest.importorskip("nbconvert")
    p = prediction()
    png_path = tmp_path / "out.png"
    png_path.write_bytes(picture(900, 600))
    code = (
        "import json, pathlib\n"
        "from replicate_widgets._widgets.share import SharedRun\n"
        f"p = json.loads({json.dumps(json.dumps(p.raw))})\n"
        f"png = pathlib.Path({str(png_path)!r}).read_bytes()\n"
        "display(SharedRun(p, {p['output'][0]: (png, 'image/png')}))\n"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    root = Path(__file__).resolve().parents[1]
    nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": root}}
    ).execute()
    saved = tmp_path / "shared.ipynb"
    nbformat.write(nb, saved)
    # a fresh read of the file, no kernel: the run is in the cell's outputs
    outputs = nbformat.read(saved, as_version=4).cells[0].outputs
    (shown,) = [o for o in outputs if o.output_type == "display_data"]
    html_out = shown.data["text/html"]
    (img,) = Page(html_out).all("img")
    assert decode(img["src"])[0] in ("image/png", "image/jpeg")
    exported, _ = exporters.HTMLExporter().from_filename(str(saved))
    assert img["src"] in exported
