"""Writing kept outputs: find, fetch, name and write a prediction's files to disk.

`Keeper` (in :mod:`.keep`) decides what to keep; `FileSaver` here writes each output
file (and each large ``data:`` input) once, under a name whose extension matches its
sniffed type, atomically. Files fetched with a `Downloader` go straight to disk in
chunks, so an output of any size is kept without passing through memory.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replicate_widgets._client.files import atomic_file, decode_data_uri
from replicate_widgets._client.sniff import clean_mime, sniff_mime
from replicate_widgets._schema.model_schema import ModelSchema
from replicate_widgets._schema.secrets import mask_values
from replicate_widgets._secret_mask import SECRET_MASK

from .media import file_name, safe_file_name

__all__ = [
    "RECORD",
    "Downloader",
    "FileSaver",
    "Reader",
    "as_bytes_and_mime",
    "is_output_url",
    "mask_secrets",
    "replace_urls",
    "shorten_data_uris",
    "write_atomic",
]

RECORD = "record.json"
"""The name of a kept prediction's description."""

Reader = Callable[[str], Any]
"""Reads a URL: returns ``(bytes, mime)`` or an object with ``data`` and
``content_type`` (what ``Client.read`` returns)."""

Downloader = Callable[[str, Path], Any]
"""Writes a URL's content into a file (what ``Client.download`` does); a
``content_type`` attribute of what it returns is taken as the declared type."""

# Enough of a file's start to sniff its type from; files are hashed in pieces this big.
_CHUNK = 1024 * 1024

# Without a schema, inputs whose names say they are secret are masked anyway.
# ("hf_token" is masked, "max_tokens" is not.)
_SECRET_NAME = re.compile(
    r"(?:^|[_-])(?:token|secret|password|passwd|api[_-]?key)(?:$|[_-])", re.I
)
# Data URIs in inputs above this size are saved as files rather than into the record.
_INLINE_INPUT = 1024


def is_output_url(value: Any) -> bool:
    """Tell whether an output value is a file to download (an http(s) or data: URL)."""
    return (
        isinstance(value, str)
        and value.startswith(("https://", "http://", "data:"))
        and not any(c.isspace() for c in value[:2048])
    )


def _urls(value: Any) -> Iterator[str]:
    if is_output_url(value):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _urls(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _urls(v)


def replace_urls(value: Any, names: Mapping[str, str]) -> Any:
    """Return ``value`` with every string that is a key of ``names`` replaced."""
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, list):
        return [replace_urls(v, names) for v in value]
    if isinstance(value, dict):
        return {k: replace_urls(v, names) for k, v in value.items()}
    return value


def shorten_data_uris(value: Any, note: str = ", not kept here") -> Any:
    """Return ``value`` with every long data: URI cut to a note (records stay small)."""
    if isinstance(value, str) and value.startswith("data:") and len(value) > 256:
        return f"{value.split(',', 1)[0]},… ({len(value):,} characters{note})"
    if isinstance(value, list):
        return [shorten_data_uris(v, note) for v in value]
    if isinstance(value, dict):
        return {k: shorten_data_uris(v, note) for k, v in value.items()}
    return value


def as_bytes_and_mime(got: Any, url: str) -> tuple[bytes, str]:
    """Return ``(bytes, mime)`` from what a caller holds for ``url``.

    Accepts ``(bytes, mime)``, a ``FileContent`` (``data``, ``content_type``) and the
    panel's ``MediaItem`` (``data``, ``mime``).
    """
    if isinstance(got, tuple) and len(got) == 2:
        data, mime = got
    else:
        data = getattr(got, "data", None)
        mime = getattr(got, "content_type", None) or getattr(got, "mime", None)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"the file for {url[:60]!r} must be (bytes, mime), a FileContent or a "
            f"MediaItem, not {type(got).__name__}"
        )
    return bytes(data), clean_mime(mime)


def _safe_name(name: str, mime: str, index: int, prefix: str = "") -> str:
    """Make a kept file's name safe (see `safe_file_name`); never the record's."""
    name = prefix + safe_file_name(name, mime, index)
    return "record_.json" if name == RECORD else name


def write_atomic(path: Path, data: bytes) -> None:
    """Write atomically: a reader sees the old file or the new one, never half."""
    with atomic_file(path) as handle:
        handle.write(data)


def mask_secrets(
    values: Mapping[str, Any], schema: ModelSchema | None
) -> dict[str, Any]:
    """Return a prediction's input with its secrets masked, at any depth.

    Parameters
    ----------
    values : Mapping
        The input.
    schema : ModelSchema or None
        The model's schema: every place it marks secret is masked (items of a
        ``list[Secret]``, properties of objects, behind ``$ref``). Without it,
        inputs named like ``token``, ``password`` or ``api_key`` are masked whole.
    """
    if schema is not None:
        return mask_values(values, schema.raw, schema.component)
    return {
        name: SECRET_MASK if value is not None and _SECRET_NAME.search(name) else value
        for name, value in values.items()
    }


@dataclass
class _Fetched:
    """One file's content: bytes in memory, or a file on disk.

    A ``temporary`` file was downloaded for this save: it is moved into place or
    removed.
    """

    declared: str
    content: bytes | Path
    temporary: bool = False

    def sample(self) -> bytes:
        """Return the bytes to sniff: all of them in memory, the start of a file."""
        if isinstance(self.content, bytes):
            return self.content
        with self.content.open("rb") as handle:
            return handle.read(_CHUNK)

    def digest(self) -> tuple[str, int]:
        """Return the hex SHA-256 and the size."""
        if isinstance(self.content, bytes):
            return hashlib.sha256(self.content).hexdigest(), len(self.content)
        return _sha256(self.content), self.content.stat().st_size

    def place(self, target: Path) -> None:
        """Put the content at ``target``, atomically."""
        if isinstance(self.content, bytes):
            write_atomic(target, self.content)
        elif self.temporary:
            os.replace(self.content, target)
            self.temporary = False
        else:  # a file kept before under another name: copy it, in pieces
            with self.content.open("rb") as source, atomic_file(target) as handle:
                shutil.copyfileobj(source, handle, _CHUNK)

    def discard(self) -> None:
        """Remove a downloaded file that was not put in place."""
        if self.temporary and isinstance(self.content, Path):
            self.content.unlink(missing_ok=True)


class FileSaver:
    """Writes a prediction's files into its folder, naming each once.

    Parameters
    ----------
    folder : Path
        The prediction's folder (it exists).
    given : Mapping
        URL to ``(bytes, mime)`` or ``FileContent`` already in memory.
    read : callable or None
        Fetches other URLs into memory when there is no `download`; failures are
        noted in `missing`, never raised.
    kept : Mapping
        URL to ``(path, mime)`` of files a previous save wrote.
    download : callable or None
        Fetches other URLs straight into a file (preferred over `read`); failures
        are noted in `missing`, never raised.
    """

    def __init__(
        self,
        folder: Path,
        given: Mapping[str, Any],
        read: Reader | None,
        kept: Mapping[str, tuple[Path, str]],
        download: Downloader | None = None,
    ) -> None:
        self.folder = folder
        self.given = given
        self.read = read
        self.download = download
        # url -> (path, mime) of files an earlier save wrote: never fetched twice
        self.kept = {u: v for u, v in kept.items() if v[0].is_file()}
        self.entries: list[dict[str, Any]] = []
        self.missing: list[dict[str, Any]] = []
        self.used: set[str] = set()

    def outputs(self, output: Any) -> dict[str, str]:
        names: dict[str, str] = {}
        for index, url in enumerate(dict.fromkeys(_urls(output))):
            name = self.one(url, index)
            if name is not None:
                names[url] = name
        return names

    def inputs(self, values: dict[str, Any]) -> dict[str, Any]:
        out = dict(values)
        for index, (key, value) in enumerate(values.items()):
            big = isinstance(value, str) and len(value) > _INLINE_INPUT
            if big and value.startswith("data:"):
                name = self.one(value, index, role="input", stem=key)
                out[key] = name if name is not None else shorten_data_uris(value)
        return out

    def one(
        self, url: str, index: int, role: str = "output", stem: str | None = None
    ) -> str | None:
        fetched = self.fetch(url)
        if fetched is None:
            return None
        try:
            return self._write(fetched, url, index, role, stem)
        finally:
            fetched.discard()

    def _write(
        self, fetched: _Fetched, url: str, index: int, role: str, stem: str | None
    ) -> str:
        mime = sniff_mime(
            fetched.sample(),
            fetched.declared,
            None if url.startswith("data:") else url,
        )
        digest, size = fetched.digest()
        base = file_name(url, mime, index) if stem is None else f"{stem}.bin"
        name = _safe_name(base, mime, index, "input-" if role == "input" else "")
        stem_, ext = posixpath.splitext(name)
        n = 1
        while name in self.used:
            name, n = f"{stem_}-{n}{ext}", n + 1
        self.used.add(name)
        target = self.folder / name
        if not (target.is_file() and _sha256(target) == digest):
            fetched.place(target)
        self.entries.append(
            {
                "name": name,
                "mime": mime,
                "size": size,
                "sha256": digest,
                "url": shorten_data_uris(url),
                "role": role,
            }
        )
        return name

    def note(self, url: str, exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {exc}"[:300]
        self.missing.append({"url": shorten_data_uris(url), "reason": reason})

    def fetch(self, url: str) -> _Fetched | None:
        if url in self.given:
            data, mime = as_bytes_and_mime(self.given[url], url)
            return _Fetched(mime, data)
        if url in self.kept:  # saved before: no second download
            path, mime = self.kept[url]
            return _Fetched(mime, path)
        if url.startswith("data:"):
            try:
                data, mime = decode_data_uri(url)
            except ValueError as exc:
                self.note(url, exc)
                return None
            return _Fetched(mime, data)
        if self.download is not None:
            return self._download(url, self.download)
        if self.read is None:
            self.missing.append({"url": url, "reason": "not downloaded: no reader"})
            return None
        try:
            data, mime = as_bytes_and_mime(self.read(url), url)
        except Exception as exc:  # one expired URL must not lose the rest
            self.note(url, exc)
            return None
        return _Fetched(mime, data)

    def _download(self, url: str, download: Downloader) -> _Fetched | None:
        fd, name = tempfile.mkstemp(dir=self.folder, prefix=".download-", suffix=".tmp")
        os.close(fd)
        path = Path(name)
        try:
            got = download(url, path)
        except Exception as exc:  # one expired URL must not lose the rest
            path.unlink(missing_ok=True)
            self.note(url, exc)
            return None
        declared = getattr(got, "content_type", None)
        return _Fetched(
            declared if isinstance(declared, str) else "", path, temporary=True
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
