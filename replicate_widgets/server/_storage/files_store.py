"""Files on disk: uploads (the Files API) and prediction output files.

Replicate clients expect output files at URLs they can download, so each one is
written under the data dir and served by the backend at
``/outputs/<random token>/<name>``; the token makes the URL a capability, like
Replicate's ``replicate.delivery`` links. Documents hold these URLs as
:class:`LocalURL` values, which only the server creates.

An output keeps the name the model gave it (``filtered.png``), as on Replicate:
coglet, started with ``--upload-url``, PUTs each file to
``<upload url><its file name>``, and the backend stores it
(:meth:`FileStore.receive_output`) and answers with a one-time marker that coglet
puts in the output in its place; the lifecycle swaps the marker for the file's URL
(:meth:`FileStore.claim_output`). coglet (0.23) uploads the files of a list or an
iterator at once and lists them in the order the uploads finished, not the
model's, so only models whose output is one file get an upload URL
(:func:`uploads_keep_order`); it sends the files of objects as ``data:`` URLs
anyway. ``data:`` URLs have no name: those files become ``out-N`` with the
extension of their type. Either way :func:`output_name` makes the name safe.

Uploads live under ``files/<id>`` and can be fetched with a token or with a
signed download URL, which is also how coglet (which has no token) downloads
them as inputs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import mimetypes
import re
import secrets
import shutil
import time
import urllib.parse
from collections.abc import AsyncIterable
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from replicate_widgets.server._problem import Problem

MAX_FILE_SIZE = 100 * 1024 * 1024
"""The Files API limit (Replicate documents 100 MB)."""

FORM_OVERHEAD = 64 * 1024
"""Room for the multipart framing and form fields around an uploaded file."""


def max_upload_body() -> int:
    """Return the largest body ``POST /v1/files`` takes: one file and its fields."""
    return MAX_FILE_SIZE + FORM_OVERHEAD


_COPY_CHUNK = 1 << 20

MAX_OUTPUT_SIZE = 4 * 1024 * 1024 * 1024
"""The largest output file coglet may upload (4 GB): videos and weights are big."""

MAX_NAME = 120
"""Longest output file name kept, extension included."""

UPLOAD_MARKER = "rwupload:"
"""What a received output is called until the lifecycle claims it."""
_MAX_UNCLAIMED = 10_000

# mimetypes knows no extension for some types models write (audio/wav on most
# systems) and an odd one for others (.oga for Ogg audio, .jpe): these win.
_EXTENSIONS = {
    "audio/wav": ".wav",
    "audio/wave": ".wav",
    "audio/x-wav": ".wav",
    "audio/vnd.wave": ".wav",
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/ogg": ".ogg",
    "audio/flac": ".flac",
    "audio/x-flac": ".flac",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "audio/webm": ".weba",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "video/webm": ".webm",
    "video/mp4": ".mp4",
    "text/plain": ".txt",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def uploads_keep_order(openapi_schema: Any, component: str = "Output") -> bool:
    """Whether coglet may upload this version's outputs: its output is one file.

    Parameters
    ----------
    openapi_schema
        The version's OpenAPI document.
    component
        ``"Output"``, or ``"TrainingOutput"`` for trainings.
    """
    try:
        schemas = openapi_schema["components"]["schemas"]
        node = schemas[component]
        ref = node.get("$ref")
        if isinstance(ref, str):
            node = schemas[ref.rsplit("/", 1)[-1]]
    except (KeyError, TypeError, AttributeError):
        return False
    return (
        isinstance(node, dict)
        and node.get("type") == "string"
        and node.get("format") == "uri"
    )


def extension_for(mime: str) -> str:
    """Return the usual file extension of ``mime`` (``.bin`` when unknown)."""
    mime = mime.split(";", 1)[0].strip().lower()
    return _EXTENSIONS.get(mime) or mimetypes.guess_extension(mime) or ".bin"


def output_name(hint: str | None, mime: str, index: int = 0) -> str:
    """Return a safe file name for an output: the model's own when it has one.

    Parameters
    ----------
    hint
        The name the model gave the file (``filtered.png``), or ``None``.
    mime
        The file's type, for the extension of a name that has none.
    index
        The output's position, for ``out-<index>`` when ``hint`` is unusable.

    Returns
    -------
    str
        Only letters, digits, ``.``, ``_`` and ``-`` (runs of anything else become
        ``_``), no leading dot, at most :data:`MAX_NAME` characters: safe in a URL
        path and on every file system.
    """
    base = (hint or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = _UNSAFE.sub("_", stem).strip("._-")
    ext = _UNSAFE.sub("", ext).lower()[:16]
    if not stem:
        stem = f"out-{index}"
    suffix = f".{ext}" if ext else extension_for(mime)
    return stem[: MAX_NAME - len(suffix)] + suffix


def download_name(name: str, content_type: str) -> str:
    """Return the URL path segment that carries an upload's file name.

    coglet names the temporary file it hands the model after the last path
    segment of the input's URL, so a model that checks the suffix (``.jpg``)
    needs the original name there. Only the last component of ``name`` is kept,
    without control characters; an empty, ``.`` or ``..`` name becomes
    ``input``, and a name without a suffix gets one from ``content_type``. The
    result is percent-quoted, so it is always exactly one path segment.
    """
    base = "".join(c for c in re.split(r"[/\\]", name)[-1] if c.isprintable())
    base = base.strip()
    if base in ("", ".", ".."):
        base = "input"
    if not PurePosixPath(base).suffix:
        base += mimetypes.guess_extension(content_type.split(";")[0].strip()) or ""
    return urllib.parse.quote(base, safe="")


_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


def new_id() -> str:
    """Return a random id shaped like Replicate's (26 lowercase base32 chars).

    Each character takes 5 bits of its own random byte (130 bits in all);
    ``base64.b32encode`` is pure Python before 3.13 and takes 2.5 times as long.
    """
    return "".join([_BASE32[b & 31] for b in secrets.token_bytes(26)])


def parse_data_url(url: str) -> tuple[str, bytes]:
    """Split a ``data:`` URL into ``(mime type, bytes)``.

    Raises
    ------
    ValueError
        When ``url`` is not a well-formed data URL.
    """
    if not url.startswith("data:") or "," not in url:
        raise ValueError("not a data URL")
    header, payload = url[5:].split(",", 1)
    parts = header.split(";")
    mime = parts[0] or "text/plain"
    if "base64" in parts[1:]:
        try:
            return mime, base64.b64decode(payload, validate=False)
        except binascii.Error as exc:
            raise ValueError("bad base64 in data URL") from exc
    return mime, urllib.parse.unquote_to_bytes(payload)


class FileStore:
    """Upload and output storage under one directory.

    Parameters
    ----------
    root
        Directory that holds ``files/`` and ``outputs/``.
    secret
        Key for signing download URLs.
    """

    def __init__(self, root: Path, secret: bytes) -> None:
        self.root = root
        self._secret = secret
        self.upload_key = secrets.token_urlsafe(32)
        """The capability in coglet's upload URL; new at every start."""
        # Received outputs by marker, until a prediction's output claims them.
        self._received: dict[str, LocalURL] = {}
        (root / "files").mkdir(parents=True, exist_ok=True)
        (root / "outputs").mkdir(parents=True, exist_ok=True)

    # --------------------------------------------------------------- uploads
    def upload_path(self, file_id: str) -> Path:
        """Return where the bytes of upload ``file_id`` live."""
        return self.root / "files" / file_id

    def save_upload(
        self,
        source: BinaryIO,
        *,
        filename: str,
        content_type: str,
        metadata: dict[str, Any],
        created_at: str,
    ) -> dict[str, Any]:
        """Copy an uploaded stream to disk and return its file document.

        Raises
        ------
        Problem
            413 when the content is larger than :data:`MAX_FILE_SIZE`.
        """
        file_id = new_id()
        target = self.upload_path(file_id)
        digest = hashlib.sha256()
        size = 0
        with target.open("wb") as out:
            while chunk := source.read(_COPY_CHUNK):
                size += len(chunk)
                if size > MAX_FILE_SIZE:
                    out.close()
                    target.unlink()
                    raise too_large()
                digest.update(chunk)
                out.write(chunk)
        return {
            "id": file_id,
            "name": filename,
            "content_type": content_type,
            "size": size,
            "etag": digest.hexdigest(),
            "checksums": {"sha256": digest.hexdigest()},
            "metadata": metadata,
            "created_at": created_at,
            "expires_at": None,
        }

    def delete_upload(self, file_id: str) -> None:
        """Remove the bytes of an upload (missing is fine)."""
        self.upload_path(file_id).unlink(missing_ok=True)

    def sign(self, file_id: str, expiry: int) -> str:
        """Return the signature for a download URL of ``file_id``."""
        mac = hmac.new(self._secret, f"{file_id}:{expiry}".encode(), hashlib.sha256)
        return mac.hexdigest()

    def signed_query(self, file_id: str, lifetime: float = 24 * 3600) -> str:
        """Return ``owner=&expiry=&signature=`` for a download URL."""
        expiry = int(time.time() + lifetime)
        return urllib.parse.urlencode(
            {
                "owner": "local",
                "expiry": expiry,
                "signature": self.sign(file_id, expiry),
            }
        )

    def check_signature(self, file_id: str, expiry: str, signature: str) -> bool:
        """Return whether a signed download URL is genuine and unexpired."""
        try:
            when = int(expiry)
        except ValueError:
            return False
        if when < time.time():
            return False
        return hmac.compare_digest(self.sign(file_id, when), signature)

    # --------------------------------------------------------------- outputs
    def save_output(self, data: bytes, mime: str, name: str) -> LocalURL:
        """Write one output file and return its ``rwlocal:/outputs/...`` URL.

        ``name`` is made safe by :func:`output_name`; one without an extension
        gets that of ``mime``.
        """
        token = new_id()
        name = output_name(name, mime)
        folder = self.root / "outputs" / token
        folder.mkdir()
        (folder / name).write_bytes(data)
        return local_url(f"/outputs/{token}/{name}")

    async def receive_output(
        self, chunks: AsyncIterable[bytes], mime: str, name: str
    ) -> str:
        """Store an output file coglet uploads; return the marker it stands for.

        The bytes go to disk as they arrive. The marker is what coglet puts in
        the prediction's output; :meth:`claim_output` turns it into the URL.

        Raises
        ------
        Problem
            413 past :data:`MAX_OUTPUT_SIZE` (nothing is kept).
        """
        token = new_id()
        name = output_name(name, mime)
        folder = self.root / "outputs" / token
        folder.mkdir()
        size = 0
        try:
            with (folder / name).open("wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > MAX_OUTPUT_SIZE:
                        raise Problem(
                            413,
                            f"Output files may be at most {MAX_OUTPUT_SIZE >> 30} "
                            "GB; write a smaller file or return a URL to it.",
                        )
                    out.write(chunk)
        except BaseException:  # too big, or the upload broke off: keep nothing
            shutil.rmtree(folder, ignore_errors=True)
            raise
        marker = UPLOAD_MARKER + new_id()
        self._received[marker] = local_url(f"/outputs/{token}/{name}")
        while len(self._received) > _MAX_UNCLAIMED:  # outputs of runs that died
            del self._received[next(iter(self._received))]
        return marker

    def claim_output(self, value: object) -> LocalURL | None:
        """Return the URL of the received output ``value`` names, once.

        Only a marker this store handed out counts; anything else (a string a
        model returned, a marker already claimed) is ``None``.
        """
        if not isinstance(value, str) or not value.startswith(UPLOAD_MARKER):
            return None
        return self._received.pop(value, None)

    def output_path(self, token: str, name: str) -> Path | None:
        """Return the file behind ``/outputs/<token>/<name>``, if it exists."""
        if not (token.isascii() and token.isalnum() and len(token) <= 64):
            return None
        if "/" in name or "\0" in name or name.startswith("."):
            return None
        path = self.root / "outputs" / token / name
        try:
            return path if path.is_file() else None
        except OSError:  # a name longer than the file system allows
            return None

    def local_output(self, url: Any) -> Path | None:
        """Return the output file behind one of this server's output URLs.

        Only a :class:`LocalURL` counts: a string a model returned is not a path
        into the data directory, whatever it looks like.
        """
        if not isinstance(url, LocalURL):
            return None
        parts = url.path.split("/")
        if len(parts) != 4 or parts[1] != "outputs":
            return None
        return self.output_path(parts[2], parts[3])


def too_large() -> Problem:
    """Return the 413 problem for an over-sized upload."""
    return Problem(
        413,
        "Files must be less than 100MB in size. Pass a larger file as an HTTP URL "
        "in the prediction input instead of uploading it.",
    )


LOCAL_PREFIX = "rwlocal:"
_ESCAPED = LOCAL_PREFIX + "="


class LocalURL(str):
    """A URL of this server, kept as ``rwlocal:/path`` until it is rendered.

    Stored documents keep the server's own URLs without an origin, so they survive
    a restart on another port and can be shown at whichever origin a client used.
    Only values of this type are rewritten by :func:`absolutize`: a string a user
    or a model sent that merely starts with ``rwlocal:`` stays as it was.
    """

    __slots__ = ()

    @property
    def path(self) -> str:
        """The path part, ``/outputs/...``."""
        return self[len(LOCAL_PREFIX) :]


def local_url(path: str) -> LocalURL:
    """Return the :class:`LocalURL` of ``path`` (which starts with ``/``)."""
    return LocalURL(LOCAL_PREFIX + path)


# Values that never hold a URL, taken as they are without a call: every
# document is walked at each write and each answer, and most of its leaves are
# these.
_PLAIN = frozenset({str, int, float, bool, type(None)})
# The same without ``str``, which :func:`to_stored` escapes.
_NOT_TEXT = _PLAIN - {str}


def absolutize(value: Any, origin: str) -> Any:
    """Return ``value`` with every :class:`LocalURL` made absolute at ``origin``."""
    if isinstance(value, LocalURL):
        return origin + value.path
    if isinstance(value, list):
        return [v if type(v) in _PLAIN else absolutize(v, origin) for v in value]
    if isinstance(value, dict):
        return {
            k: v if type(v) in _PLAIN else absolutize(v, origin)
            for k, v in value.items()
        }
    return value


def to_stored(value: Any) -> Any:
    """Return ``value`` in its stored JSON form.

    A :class:`LocalURL` is stored as its ``rwlocal:/path`` text; any other string
    that starts with ``rwlocal:`` is escaped as ``rwlocal:=<string>``, so
    :func:`from_stored` never mistakes it for one of the server's URLs.
    """
    if isinstance(value, LocalURL):
        return str(value)
    if isinstance(value, str):
        return _ESCAPED + value if value.startswith(LOCAL_PREFIX) else value
    if isinstance(value, list):
        return [v if type(v) in _NOT_TEXT else to_stored(v) for v in value]
    if isinstance(value, dict):
        return {
            k: v if type(v) in _NOT_TEXT else to_stored(v) for k, v in value.items()
        }
    return value


def from_stored(value: Any) -> Any:
    """Invert :func:`to_stored`: ``rwlocal:/path`` strings become :class:`LocalURL`."""
    if isinstance(value, str):
        if value.startswith(_ESCAPED):
            return value[len(_ESCAPED) :]
        if value.startswith(LOCAL_PREFIX + "/"):
            return LocalURL(value)
        return value
    if isinstance(value, list):
        return [from_stored(v) for v in value]
    if isinstance(value, dict):
        return {k: from_stored(v) for k, v in value.items()}
    return value
