"""Media: type sniffed from bytes, images downscaled for display, originals kept."""

from __future__ import annotations

import io
import struct
import wave

import pytest
from PIL import Image

from replicate_widgets._widgets.media import (
    build_media,
    file_name,
    media_kind,
    prepare_image,
    sniff_mime,
)


def image_bytes(size=(64, 32), fmt="PNG", mode="RGB") -> bytes:
    im = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else (200, 30, 30, 128))
    out = io.BytesIO()
    im.save(out, format=fmt)
    return out.getvalue()


def wav_bytes() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 800)
    return out.getvalue()


def mp4_head() -> bytes:
    return struct.pack(">I", 24) + b"ftypisom" + b"\x00" * 16


@pytest.mark.parametrize(
    ("data", "declared", "expected"),
    [
        (image_bytes(fmt="PNG"), "application/octet-stream", "image/png"),
        (image_bytes(fmt="JPEG"), None, "image/jpeg"),
        (image_bytes(fmt="WEBP"), "image/png", "image/webp"),  # bytes beat the label
        (image_bytes(fmt="GIF"), None, "image/gif"),
        (wav_bytes(), "application/octet-stream", "audio/wav"),
        (b"ID3\x04\x00" + b"\x00" * 40, None, "audio/mpeg"),
        (mp4_head(), None, "video/mp4"),
        (b"\x1a\x45\xdf\xa3" + b"\x00" * 20, None, "video/webm"),
        (b"%PDF-1.7\n", None, "application/pdf"),
        (b"OggS\x00\x02", None, "audio/ogg"),
        (b'{"a": 1}', "application/json", "application/json"),
        ("héllo wörld".encode(), None, "text/plain"),
        (bytes(range(256)), None, "application/octet-stream"),
    ],
)
def test_sniff_from_bytes(data, declared, expected):
    assert sniff_mime(data, declared) == expected


def test_sniff_falls_back_to_the_url_extension():
    assert sniff_mime(b"\x00\x01\x02", None, "https://x/weights.safetensors?sig=1") in (
        "application/octet-stream",
    )
    assert sniff_mime(b"\x00\x01", None, "https://x/model.glb") == "model/gltf-binary"


def test_small_browser_images_are_sent_unchanged():
    data = image_bytes((64, 32))
    shown = prepare_image(data, max_edge=1024)
    assert shown.data == data
    assert (shown.width, shown.height) == (64, 32)
    assert not shown.scaled


def test_large_images_are_downscaled_keeping_aspect_ratio():
    data = image_bytes((2048, 1024))
    shown = prepare_image(data, max_edge=512)
    assert (shown.width, shown.height) == (512, 256)
    assert (shown.original_width, shown.original_height) == (2048, 1024)
    assert shown.scaled
    assert shown.mime == "image/jpeg"
    with Image.open(io.BytesIO(shown.data)) as im:
        assert im.size == (512, 256)


def test_transparency_survives_as_png():
    shown = prepare_image(image_bytes((800, 800), mode="RGBA"), max_edge=100)
    assert shown.mime == "image/png"
    with Image.open(io.BytesIO(shown.data)) as im:
        assert im.mode == "RGBA"
        assert im.size == (100, 100)


def test_formats_browsers_cannot_draw_are_reencoded():
    tiff = image_bytes((40, 40), fmt="TIFF")
    shown = prepare_image(tiff, max_edge=1024)
    assert shown.mime == "image/jpeg"
    assert (shown.width, shown.height) == (40, 40)


def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match="positive number of pixels"):
        prepare_image(image_bytes(), max_edge=0)
    with pytest.raises(ValueError, match="not an image"):
        prepare_image(b"plain text")


def test_build_media_keeps_the_original_and_sends_the_display_copy():
    original = image_bytes((3000, 1500))
    item = build_media(
        "m0", "https://replicate.delivery/a/out-0.png", original, max_edge=300
    )
    assert item.data == original
    assert item.kind == "image"
    assert item.name == "out-0.png"
    entry = item.to_trait(inline_limit=10_000_000)
    assert entry["width"] == 300
    assert entry["original_width"] == 3000
    assert isinstance(entry["data"], bytes)
    assert len(entry["data"]) < len(original)
    assert entry["size"] == len(original)


def test_audio_is_inlined_until_the_limit_then_becomes_a_link():
    item = build_media("m1", "data:application/octet-stream;base64,xx", wav_bytes())
    assert item.kind == "audio"
    assert item.name == "output-0.wav"
    assert item.to_trait(inline_limit=10**6)["data"] == item.data
    big = item.to_trait(inline_limit=10)
    assert big["kind"] == "file"
    assert big["data"] == b""


def test_unreadable_image_becomes_a_download():
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    item = build_media("m2", "https://x/logo.svg", svg, "image/svg+xml")
    assert item.kind == "file"  # never sent to the browser as an image
    assert item.to_trait(inline_limit=10**6)["data"] == b""


def test_media_kind_and_names():
    assert media_kind("image/png") == "image"
    assert media_kind("video/mp4") == "video"
    assert media_kind("application/json") == "text"
    assert media_kind("application/zip") == "file"
    assert file_name("https://x/a%20b.wav?x=1", "audio/wav") == "a b.wav"
    assert file_name("data:,hi", "text/plain", 3) == "output-3.txt"


@pytest.mark.parametrize(
    ("url", "mime", "expected"),
    [
        # the model's name and extension, as the backend serves it
        ("http://127.0.0.1:5/outputs/t/filtered.png", "image/png", "filtered.png"),
        ("https://replicate.delivery/x/photo.jpeg", "image/jpeg", "photo.jpeg"),
        # the bytes decide the extension: audio never downloads as .bin
        ("http://h/outputs/t/out-0.bin", "audio/wav", "out-0.wav"),
        ("http://h/outputs/t/tune", "audio/wav", "tune.wav"),
        ("https://h/a/song.mp3", "audio/mpeg", "song.mp3"),
        # a name that is not one: made from the type
        ("https://h/", "image/png", "output-2.png"),
        ("https://h/a/.htaccess", "text/plain", "htaccess.txt"),  # never hidden
        ("https://h/a/..%2F..%2Fetc%2Fpasswd", "text/plain", "passwd.txt"),
        ("https://h/a/%3Cb%3E.html", "text/html", "b.html"),
        ("data:audio/wav;base64,UklGRg==", "audio/wav", "output-2.wav"),
        # unknown bytes keep the name's own extension
        (
            "https://h/a/model.safetensors",
            "application/octet-stream",
            "model.safetensors",
        ),
    ],
)
def test_download_names_keep_the_models_name_with_the_bytes_extension(
    url: str, mime: str, expected: str
) -> None:
    assert file_name(url, mime, 2) == expected


def test_download_names_are_capped():
    name = file_name("https://h/" + "x" * 300 + ".png", "image/png")
    assert name == "x" * 100 + ".png"
