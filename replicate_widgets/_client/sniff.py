"""Judge a file's MIME type from its bytes: the one sniffer of the package.

Servers often label outputs ``application/octet-stream`` (``data:`` URIs included),
so the bytes decide first and the declared type, then the URL's extension, are only
fallbacks. Images are recognised by Pillow, which knows far more formats than a
table would; the other binary formats by their magic numbers.

A declared type comes from outside (a server's ``Content-Type``, a ``data:`` URI, a
browser upload, a kept record) and ends up in HTML attributes, ``data:`` URIs and
file names, so `clean_mime` is the one gate every declared type passes: a valid
``type/subtype`` token or ``application/octet-stream``. `sniff_mime` only ever
returns what `clean_mime` accepts.
"""

from __future__ import annotations

import codecs
import io
import mimetypes
import re
import urllib.parse
import warnings

__all__ = ["GENERIC_TYPES", "MIME_PATTERN", "OCTET_STREAM", "clean_mime", "sniff_mime"]

OCTET_STREAM = "application/octet-stream"
"""The type of bytes nothing is known about."""

_NAME = r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
MIME_PATTERN = f"{_NAME}/{_NAME}"
"""A lowercase RFC 6838 media type: ``type/subtype``, restricted-name characters only
(no quotes, spaces, ``;``, ``<`` or anything else that could end an attribute)."""
_MIME = re.compile(MIME_PATTERN)

GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
"""Declared types that say nothing about the content."""

_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"%PDF-", "application/pdf"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"\xff\xfb", "audio/mpeg"),  # MPEG-1 Layer III, the common MP3 frame
    (0, b"\xff\xf3", "audio/mpeg"),  # MPEG-2 Layer III
    (0, b"OggS", "audio/ogg"),
    (0, b"fLaC", "audio/flac"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"\x1f\x8b", "application/gzip"),
    (0, b"glTF", "model/gltf-binary"),
)
# Control characters that still occur in text: tab, newlines, form feed, and the
# escape that starts the ANSI colour codes of model logs.
_TEXT_CONTROLS = frozenset("\t\n\r\f\x1b")


def clean_mime(declared: object) -> str:
    """Return ``declared`` as a lowercase ``type/subtype``, parameters dropped.

    Anything that is not a valid RFC 6838 media type (not a string, empty, a
    ``"`` or ``<`` in it, non-ASCII letters, a missing subtype...) becomes
    ``application/octet-stream``: a type from outside is never passed on as it came.

    Examples
    --------
    >>> clean_mime("Text/CSV; charset=utf-8")
    'text/csv'
    >>> clean_mime('image/png" onerror="alert(1)')
    'application/octet-stream'
    """
    if not isinstance(declared, str):
        return OCTET_STREAM
    # Only ASCII whitespace around the type is HTTP's; anything else is kept and
    # then fails the match.
    label = declared.split(";", 1)[0].strip(" \t").lower()
    return label if _MIME.fullmatch(label) else OCTET_STREAM


def sniff_mime(
    data: bytes,
    declared: str | None = None,
    url: str | None = None,
    *,
    detect_json: bool = False,
) -> str:
    """Return the MIME type of ``data``, judged from its bytes first.

    Parameters
    ----------
    data
        The file's content.
    declared
        The type the server sent (``Content-Type`` or the ``data:`` URI's type),
        used when the bytes are not recognised.
    url
        The file's URL, whose extension is the fallback after ``declared``.
    detect_json
        Call UTF-8 text that starts with ``{`` or ``[`` ``application/json``.

    Returns
    -------
    str
        A valid ``type/subtype`` (see `clean_mime`); ``application/octet-stream``
        when nothing is known (empty bytes included).
    """
    # Every answer goes through the gate, wherever in the judging it came from.
    return clean_mime(_judge(data, declared, url, detect_json))


def _judge(
    data: bytes, declared: str | None, url: str | None, detect_json: bool
) -> str:
    head = data[:64]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    image = _pillow_mime(data)
    if image is not None:
        return image
    for offset, magic, mime in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return mime
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand.startswith(b"M4A"):
            return "audio/mp4"
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    label = clean_mime(declared)
    if label not in GENERIC_TYPES:
        return label
    # Checked after the declared type: 0xFFE0 and up also opens UTF-16 text and
    # other formats, so a loose frame sync only decides when nothing else spoke.
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "audio/mpeg"  # an MPEG audio frame without an ID3 tag
    if url:
        guessed, _ = mimetypes.guess_type(urllib.parse.urlsplit(url).path)
        if guessed:
            return guessed
    text = _as_text(data)
    if text is None:
        return "application/octet-stream"
    if detect_json and text.lstrip().startswith(("{", "[")):
        return "application/json"
    return "text/plain"


def _pillow_mime(data: bytes) -> str | None:
    # Imported here: the client sniffs files too, and importing it must not load
    # Pillow (about 40 ms) for a script that never looks at an image.
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # A huge image is still an image; size limits are applied when decoding.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # Image.open reads only the header; nothing is decoded here.
            with Image.open(io.BytesIO(data)) as im:
                fmt = im.format
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
    ):
        return None
    if fmt is None:
        return None
    return Image.MIME.get(fmt, f"image/{fmt.lower()}")


def _as_text(data: bytes) -> str | None:
    """Return the first 4096 bytes decoded when ``data`` looks like UTF-8 text."""
    if not data:
        return None
    try:
        # Not final: a multi-byte character cut at the 4096-byte mark is still text.
        text = codecs.getincrementaldecoder("utf-8")().decode(data[:4096], final=False)
    except UnicodeDecodeError:
        return None
    if any(ord(c) < 32 and c not in _TEXT_CONTROLS for c in text):
        return None
    return text
