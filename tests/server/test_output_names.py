"""Output files keep the model's file name (``filtered.png``, not ``out-0.png``).

coglet uploads a version's single-file output to the backend, which stores it under
the model's name made safe; lists and iterators of files keep their order (coglet
would list uploads in the order they finished) and are named ``out-N``.
"""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path

import httpx
import pytest
from _backend import BUNDLED, TEST_MODELS
from PIL import Image

from replicate_widgets.server import serve
from replicate_widgets.server._cog.models import load_model
from replicate_widgets.server._storage.files_store import (
    MAX_NAME,
    FileStore,
    extension_for,
    output_name,
    uploads_keep_order,
)


# ------------------------------------------------------------------ pure rules
@pytest.mark.parametrize(
    ("hint", "mime", "expected"),
    [
        ("filtered.png", "image/png", "filtered.png"),
        ("tune.wav", "audio/x-wav", "tune.wav"),
        ("result", "audio/wav", "result.wav"),  # no extension: the type's
        ("../../etc/passwd", "text/plain", "passwd.txt"),
        ("..\\..\\boot.ini", "text/plain", "boot.ini"),
        (".env", "text/plain", "out-3.env"),  # never a hidden file
        ("...", "image/png", "out-3.png"),
        ("my photo (1).PNG", "image/png", "my_photo_1.png"),
        ("café<script>.html", "text/html", "caf_script.html"),
        ("", "audio/mpeg", "out-3.mp3"),
        (None, "application/octet-stream", "out-3.bin"),
    ],
)
def test_output_name_keeps_the_models_name_made_safe(
    hint: str | None, mime: str, expected: str
) -> None:
    assert output_name(hint, mime, 3) == expected


def test_output_name_is_capped_and_keeps_its_extension() -> None:
    name = output_name("x" * 500 + ".png", "image/png")
    assert len(name) == MAX_NAME
    assert name.endswith(".png")


@pytest.mark.parametrize(
    ("mime", "ext"),
    [
        ("audio/wav", ".wav"),
        ("audio/x-wav", ".wav"),
        ("audio/mpeg", ".mp3"),
        ("audio/ogg", ".ogg"),
        ("image/jpeg", ".jpg"),
        ("image/png; charset=binary", ".png"),
        ("application/x-unknown-thing", ".bin"),
    ],
)
def test_extensions_of_the_types_models_write(mime: str, ext: str) -> None:
    assert extension_for(mime) == ext


def test_only_single_file_outputs_are_uploaded() -> None:
    def schema(name: str) -> dict:
        return load_model(BUNDLED / name).openapi_schema

    assert uploads_keep_order(schema("image-filter"))
    assert uploads_keep_order(schema("chiptune"))
    assert not uploads_keep_order(schema("fractal"))  # an iterator of files
    assert not uploads_keep_order(schema("text-stats"))
    assert not uploads_keep_order(load_model(TEST_MODELS / "kitchen").openapi_schema)
    assert uploads_keep_order(schema("text-stream"), "TrainingOutput")
    assert not uploads_keep_order({}, "Output")


def test_a_received_output_is_claimed_once_and_only_by_its_marker(
    tmp_path: Path,
) -> None:
    files = FileStore(tmp_path, b"k" * 32)

    async def chunks():
        yield b"RIFF"
        yield b"...."

    marker = asyncio.run(files.receive_output(chunks(), "audio/wav", "../tune.wav"))
    assert files.claim_output("rwupload:" + "a" * 26) is None  # made up
    assert files.claim_output(marker + "x") is None
    url = files.claim_output(marker)
    assert url is not None
    assert url.path.endswith("/tune.wav")
    assert files.local_output(url).read_bytes() == b"RIFF...."
    assert files.claim_output(marker) is None  # once


def test_an_upload_that_breaks_off_leaves_nothing(tmp_path: Path) -> None:
    files = FileStore(tmp_path, b"k" * 32)

    async def broken():
        yield b"part"
        raise ConnectionError("gone")

    with pytest.raises(ConnectionError):
        asyncio.run(files.receive_output(broken(), "image/png", "x.png"))
    assert list((tmp_path / "outputs").iterdir()) == []


# ------------------------------------------------------------ through coglet
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    models = [
        BUNDLED / "image-filter",
        BUNDLED / "chiptune",
        BUNDLED / "fractal",
        BUNDLED / "echo",
        TEST_MODELS / "kitchen",
        TEST_MODELS / "named-file",
    ]
    data = tmp_path_factory.mktemp("names")
    with serve(port=0, models=models, bundled=False, data_dir=data) as running:
        yield running


@pytest.fixture
def api(server):
    with httpx.Client(base_url=server.url + "/", timeout=120) as client:
        yield client


def _run(api: httpx.Client, model: str, inputs: dict) -> dict:
    doc = api.post(
        f"models/{model}/predictions",
        headers={"Prefer": "wait"},
        json={"input": inputs},
    ).json()
    assert doc["status"] == "succeeded", doc
    return doc


def _png() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def test_image_filter_output_keeps_its_name(api: httpx.Client) -> None:
    url = _run(api, "demo/image-filter", {"image": _png()})["output"]
    assert url.rsplit("/", 1)[1] == "filtered.png"
    got = api.get(url)
    assert got.headers["content-type"] == "image/png"
    assert got.content.startswith(b"\x89PNG")


def test_chiptune_output_is_a_wav(api: httpx.Client) -> None:
    url = _run(api, "demo/chiptune", {"notes": ["C4", "E4"]})["output"]
    assert url.rsplit("/", 1)[1] == "tune.wav"
    assert api.get(url).content.startswith(b"RIFF")


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("notes v2 (final).md", "notes_v2_final.md"),
        (".bashrc", "out-0.bashrc"),
        ("a" * 200 + ".txt", "a" * (MAX_NAME - 4) + ".txt"),
        ("<img src=x onerror=alert(1)>.html", "img_src_x_onerror_alert_1.html"),
    ],
)
def test_a_models_file_name_is_made_safe(
    api: httpx.Client, name: str, stored: str
) -> None:
    url = _run(api, "test/named-file", {"name": name, "text": "T"})["output"]
    assert url.rsplit("/", 1)[1] == stored
    assert api.get(url).text == "T"


def test_files_of_lists_and_iterators_keep_their_order(api: httpx.Client) -> None:
    urls = _run(api, "test/kitchen", {"count": 8})["output"]
    assert [api.get(u).text[0] for u in urls] == [str(i) for i in range(8)]
    frames = _run(api, "demo/fractal", {"steps": 3, "width": 256})["output"]
    names = [u.rsplit("/", 1)[1] for u in frames]
    assert names == ["out-0.png", "out-1.png", "out-2.png"]


def test_a_string_that_looks_like_an_upload_stays_text(api: httpx.Client) -> None:
    # Only a marker the server handed coglet for a file becomes a file.
    text = "rwupload:" + "a" * 26
    assert _run(api, "demo/echo", {"text": text})["output"] == text


def test_the_upload_route_needs_its_key(server) -> None:
    origin = server.url.removesuffix("/v1")
    put = httpx.put(f"{origin}/_coglet/outputs/wrong-key/x.png", content=b"x")
    assert put.status_code == 404
    assert "location" not in put.headers
