"""Files going in and out of predictions.

In: ``pathlib.Path``, ``bytes`` and binary file objects anywhere in an ``input`` dict
become ``data:`` URLs when at most 256 KB (the API's advice: not stored, no extra
request), and are uploaded through the Files API otherwise. Files over 100 MB fail
before anything is uploaded.

Out: output URLs and ``data:`` URIs are read back as bytes, or streamed into a file
(:class:`SavedFile`) when they are large; the content type is sniffed from the bytes
(Pillow for images, magic numbers for the rest) because sync-mode data URIs often say
``application/octet-stream``.
"""

from __future__ import annotations

import base64
import contextlib
import io
import mimetypes
import os
import pathlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import unquote_to_bytes

from .sniff import clean_mime, sniff_mime

MAX_DATA_URL_BYTES = 256 * 1024
"""Largest file sent inline as a ``data:`` URL."""

MAX_UPLOAD_BYTES = 100 * 1024 * 1024
"""Largest file the Files API accepts."""


FileInput = pathlib.Path | bytes | bytearray | memoryview | BinaryIO
"""What can be passed where a model expects a file."""


def _too_big(where: str, size: int) -> ValueError:
    return ValueError(
        f"{where} is {size / 1e6:.1f} MB; the Files API accepts at most 100 MB. Upload "
        "it somewhere that gives an https URL and pass the URL instead."
    )


def is_file_input(value: Any) -> bool:
    """Tell whether ``value`` is a file input (path, bytes, binary file)."""
    if isinstance(value, (bytes, bytearray, memoryview, os.PathLike)):
        return True
    # Text-mode files count too, so that read_file_input can explain the fix.
    return hasattr(value, "read") and not isinstance(value, str)


def read_file_input(value: Any, where: str = "file") -> tuple[bytes, str, str]:
    """Read a file input into ``(data, filename, content_type)``.

    Raises
    ------
    ValueError
        When the file is larger than 100 MB (checked before reading paths) or missing.
    TypeError
        For text-mode file objects and unsupported types.
    """
    if isinstance(value, os.PathLike):
        path = pathlib.Path(value)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise ValueError(
                f"{where}: no file at {str(path)!r}; check the path."
            ) from None
        if size > MAX_UPLOAD_BYTES:
            raise _too_big(where, size)
        data = path.read_bytes()
        name = path.name
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        name = "file"
    elif isinstance(value, io.TextIOBase):
        raise TypeError(f"{where} is a text-mode file; open it with mode 'rb'.")
    elif hasattr(value, "read"):
        # Read one byte past the limit so an oversized stream is caught without
        # loading all of it.
        chunk = value.read(MAX_UPLOAD_BYTES + 1)
        if isinstance(chunk, str):
            raise TypeError(f"{where} is a text-mode file; open it with mode 'rb'.")
        data = bytes(chunk)
        name = os.path.basename(str(getattr(value, "name", "") or "")) or "file"
    else:
        raise TypeError(
            f"{where} must be a pathlib.Path, bytes or a binary file object, not "
            f"{type(value).__name__}."
        )
    if len(data) > MAX_UPLOAD_BYTES:
        raise _too_big(where, len(data))
    guessed = mimetypes.guess_type(name)[0] if name != "file" else None
    return data, name, guessed or sniff(data)


def data_url(data: bytes, content_type: str) -> str:
    """Encode bytes as a base64 ``data:`` URL: the package's one builder of them.

    ``content_type`` passes `clean_mime` first, so the URL is always
    ``data:<type/subtype>;base64,...`` and safe in an HTML attribute.
    """
    payload = base64.b64encode(data).decode("ascii")
    return f"data:{clean_mime(content_type)};base64,{payload}"


@dataclass
class Upload:
    """A file too large for a data URL, waiting to go through the Files API."""

    data: bytes = field(repr=False)
    filename: str
    content_type: str


@dataclass
class PreparedInput:
    """An ``input`` with small files inlined and large ones waiting to be uploaded."""

    value: dict[str, Any]
    uploads: list[Upload]

    def resolve(self, urls: list[str]) -> dict[str, Any]:
        """Put the uploaded files' URLs (in :attr:`uploads` order) into the input."""
        if len(urls) != len(self.uploads):
            raise ValueError("one URL is needed per upload")
        return _fill(self.value, urls)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class _Pending:
    index: int


def _fill(value: Any, urls: list[str]) -> Any:
    if isinstance(value, _Pending):
        return urls[value.index]
    if isinstance(value, dict):
        return {k: _fill(v, urls) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, urls) for v in value]
    return value


def prepare_input(input: Any) -> PreparedInput:
    """Replace file values in ``input`` (at any depth) by data URLs or pending uploads.

    Raises
    ------
    TypeError
        If ``input`` is not a dict with string keys.
    ValueError
        If a file is over 100 MB; raised before anything is uploaded.
    """
    if not isinstance(input, dict):
        raise TypeError(
            "input must be a dict of input names to values, not "
            f"{type(input).__name__}."
        )
    uploads: list[Upload] = []

    def walk(value: Any, where: str) -> Any:
        if is_file_input(value):
            data, name, ctype = read_file_input(value, where)
            if len(data) <= MAX_DATA_URL_BYTES:
                return data_url(data, ctype)
            uploads.append(Upload(data, name, ctype))
            return _Pending(len(uploads) - 1)
        if isinstance(value, dict):
            return {k: walk(v, f"{where}[{k!r}]") for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return value

    value = {}
    for key, item in input.items():
        if not isinstance(key, str):
            raise TypeError(f"Input names must be strings, got {key!r}.")
        value[key] = walk(item, f"input[{key!r}]")
    return PreparedInput(value, uploads)


# -- reading outputs ----------------------------------------------------------------


def sniff(data: bytes, declared: str | None = None) -> str:
    """Guess a MIME type from the bytes; fall back to ``declared``, then text/binary.

    UTF-8 text that starts with ``{`` or ``[`` is ``application/json``.
    """
    return sniff_mime(data, declared, detect_json=True)


def decode_data_uri(uri: str) -> tuple[bytes, str]:
    """Decode a ``data:`` URI into ``(bytes, declared type)``.

    The declared type has passed `clean_mime`: ``application/octet-stream`` unless
    it is a valid ``type/subtype``.
    """
    header, sep, payload = uri.partition(",")
    if not header.startswith("data:") or not sep:
        raise ValueError(f"Not a valid data: URI (starts {uri[:40]!r}).")
    params = header[5:].split(";")
    declared = clean_mime(params[0] or "text/plain")
    if "base64" in params[1:]:
        try:
            return base64.b64decode(payload, validate=False), declared
        except ValueError as exc:
            raise ValueError(f"The data: URI has broken base64 ({exc}).") from None
    return unquote_to_bytes(payload), declared


@dataclass(frozen=True)
class SavedFile:
    """An output file written to disk by ``Client.download``."""

    path: pathlib.Path
    """Where it was written."""
    content_type: str
    """The MIME type, sniffed from the file's first bytes where possible."""
    size: int
    """Its length in bytes."""


@contextlib.contextmanager
def atomic_file(path: pathlib.Path) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path`` that replaces ``path`` once complete.

    A reader sees the old file or the new one, never half of it; when the block
    raises, the temporary file is removed and ``path`` is left as it was.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w+b") as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise
