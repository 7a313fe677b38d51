"""The one byte sniffer: the edges where the two former sniffers disagreed."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from replicate_widgets._client.files import sniff
from replicate_widgets._client.sniff import sniff_mime as shared
from replicate_widgets._widgets.media import sniff_mime


def test_both_modules_use_the_same_function() -> None:
    assert sniff_mime is shared


@pytest.mark.parametrize("declared", [None, "", "application/octet-stream"])
def test_empty_bytes_are_binary_not_text(declared: str | None) -> None:
    assert sniff_mime(b"", declared) == "application/octet-stream"
    assert sniff(b"", declared) == "application/octet-stream"


def test_empty_bytes_keep_a_declared_type() -> None:
    assert sniff_mime(b"", "text/csv") == "text/csv"


def test_a_few_invalid_utf8_bytes_are_binary() -> None:
    # A cut multi-byte character is forgiven only at the end, not at the start.
    assert sniff_mime(b"\x80\x81\x82") == "application/octet-stream"


def test_control_characters_make_binary_but_ansi_colours_stay_text() -> None:
    assert sniff_mime(b"\x01\x02\x03abc") == "application/octet-stream"
    assert sniff_mime(b"\x1b[32mok\x1b[0m\n") == "text/plain"


def test_json_is_detected_only_when_asked() -> None:
    assert sniff_mime(b" [1, 2]") == "text/plain"
    assert sniff_mime(b" [1, 2]", detect_json=True) == "application/json"
    assert sniff(b'{"a": 1}') == "application/json"
    assert sniff(b'{"a": 1}', "text/plain") == "text/plain"


def test_declared_type_is_normalised_to_lowercase_without_parameters() -> None:
    assert sniff_mime(b"a,b\n", "Text/CSV; charset=utf-8") == "text/csv"


def test_loose_mpeg_frame_sync_yields_to_a_declared_type() -> None:
    frame = b"\xff\xe3" + b"\x00" * 30
    assert sniff_mime(frame) == "audio/mpeg"
    assert sniff_mime(frame, "application/x-thing") == "application/x-thing"
    # the common MP3 frames are sure enough to beat a label
    assert sniff_mime(b"\xff\xfb" + b"\x00" * 30, "text/plain") == "audio/mpeg"


def test_m4a_and_quicktime_brands() -> None:
    assert sniff(b"\x00\x00\x00\x18ftypM4A \x00\x00") == "audio/mp4"
    assert sniff(b"\x00\x00\x00\x14ftypqt  \x00\x00") == "video/quicktime"


def test_url_extension_comes_after_the_declared_type() -> None:
    data = b"\x00\x01\x02"
    assert sniff_mime(data, "application/x-npy", "https://x/a.glb") == (
        "application/x-npy"
    )
    assert sniff_mime(data, None, "https://x/a.csv?sig=1") == "text/csv"


def test_an_image_format_pillow_knows_without_a_mime_entry_still_is_an_image() -> None:
    # QOI has no entry in Image.MIME; the old client sniffer called it binary.
    assert "QOI" not in Image.MIME
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, format="QOI")
    assert sniff_mime(buf.getvalue()) == "image/qoi"
    assert sniff(buf.getvalue()) == "image/qoi"
