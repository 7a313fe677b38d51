"""What the input form keeps out of its traits: uploaded bytes and secret values.

A widget's traits are saved with the notebook, so they may only ever hold *markers*:
``{"__file__": key, "name", "size", "type"}`` for a file and ``{"__secret__": key}``
for a secret. The real bytes and strings live here, in the kernel's memory, keyed by
those markers, and are swapped back in when the prediction input is built.
"""

from __future__ import annotations

import io
import mimetypes
import pathlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from replicate_widgets._client.sniff import OCTET_STREAM, clean_mime

__all__ = ["HiddenValues", "StaleMarker", "Upload"]


@dataclass(frozen=True)
class Upload:
    """A file's bytes, with the name and media type it came with."""

    name: str
    type: str
    data: bytes


class StaleMarker(Exception):
    """A marker whose bytes or secret this kernel no longer has."""


def _guess_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or OCTET_STREAM


def _markers(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for kind in ("__file__", "__secret__"):
            if isinstance(value.get(kind), str):
                yield value[kind]
        for item in value.values():
            yield from _markers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _markers(item)


class HiddenValues:
    """The kernel-side store behind the form's file and secret markers."""

    def __init__(self) -> None:
        self.uploads: dict[str, Upload] = {}
        self.secrets: dict[str, str] = {}

    def clear(self) -> None:
        """Forget every upload and secret."""
        self.uploads.clear()
        self.secrets.clear()

    def copy(self) -> HiddenValues:
        """Return a copy (the bytes and strings themselves are shared, immutable)."""
        other = HiddenValues()
        other.uploads, other.secrets = dict(self.uploads), dict(self.secrets)
        return other

    def replace(self, other: HiddenValues) -> None:
        """Hold exactly what ``other`` holds."""
        self.uploads, self.secrets = dict(other.uploads), dict(other.secrets)

    # -- from the browser -------------------------------------------------------------

    def receive_file(self, content: dict[str, Any], buffers: Any) -> None:
        """Keep the bytes of a ``file`` message; ignore malformed ones."""
        key, name = content.get("__file__"), content.get("name")
        if not (isinstance(key, str) and isinstance(name, str) and buffers):
            return
        # The browser's word is checked like any declared type (it ends up in a
        # data: URI); browsers leave the type empty for unknown ones.
        mime = clean_mime(content.get("type") or _guess_type(name))
        self.uploads[key] = Upload(name, mime, bytes(buffers[0]))

    def receive_secret(self, content: dict[str, Any]) -> None:
        """Keep (or, when empty, forget) the value of a ``secret`` message."""
        key, value = content.get("key"), content.get("value")
        if not (isinstance(key, str) and isinstance(value, str)):
            return
        if value:
            self.secrets[key] = value
        else:
            self.secrets.pop(key, None)

    # -- from Python ------------------------------------------------------------------

    def secret_marker(self, value: str) -> dict[str, str]:
        """Keep ``value`` and return the marker that stands for it."""
        key = f"py-{uuid.uuid4().hex}"
        self.secrets[key] = value
        return {"__secret__": key}

    def file_marker(self, name: str, value: Any) -> Any:
        """Turn a file given from Python into a trait value.

        A string (URL or data URI) is kept as it is; a :class:`pathlib.Path`, bytes or
        a binary file object is read and replaced by a marker.
        """
        if isinstance(value, str):
            return value
        if isinstance(value, pathlib.Path):
            upload = Upload(value.name, _guess_type(value.name), value.read_bytes())
        elif isinstance(value, (bytes, bytearray, memoryview)):
            upload = Upload(f"{name}.bin", OCTET_STREAM, bytes(value))
        elif hasattr(value, "read"):
            data = value.read()
            if not isinstance(data, bytes):
                raise TypeError(f"{name}: open the file in binary mode ('rb').")
            fname = pathlib.Path(str(getattr(value, "name", f"{name}.bin"))).name
            upload = Upload(fname, _guess_type(fname), data)
        else:
            raise TypeError(
                f"{name} is a file input: give a URL string, a pathlib.Path, bytes or "
                f"a file opened with 'rb', not {type(value).__name__}."
            )
        key = f"py-{uuid.uuid4().hex}"
        self.uploads[key] = upload
        return {
            "__file__": key,
            "name": upload.name,
            "size": len(upload.data),
            "type": upload.type,
        }

    # -- using the markers ------------------------------------------------------------

    def keep_only(self, values: Any) -> None:
        """Drop what no marker in ``values`` refers to any more (replaced, cleared)."""
        used = set(_markers(values))
        for store in (self.uploads, self.secrets):
            for key in [k for k in store if k not in used]:
                del store[key]

    def stand_in(self, value: Any) -> Any:
        """Return ``value`` as the schema can check it: secrets real, files tiny.

        Raises
        ------
        StaleMarker
            When a marker's bytes or secret are gone (kernel restarted, notebook
            reopened from its saved state).
        """
        if isinstance(value, list):
            return [self.stand_in(v) for v in value]
        if isinstance(value, dict) and isinstance(value.get("__file__"), str):
            upload = self.uploads.get(value["__file__"])
            if upload is None:
                raise StaleMarker(
                    f"{value.get('name', 'The file')} is no longer in this kernel (it "
                    "restarted, or the notebook was reopened). Choose the file again."
                )
            # A data URI passes the schema's file check without copying the bytes.
            return f"data:{upload.type};base64,"
        if isinstance(value, dict) and isinstance(value.get("__secret__"), str):
            secret = self.secrets.get(value["__secret__"])
            if secret is None:
                raise StaleMarker(
                    "Enter the secret again: secrets live only in the kernel's memory "
                    "and are never saved with the notebook."
                )
            return secret
        return value

    def real(self, marker: Any, plain: Any) -> Any:
        """Put file objects back where `stand_in` left data URIs."""
        if isinstance(marker, list) and isinstance(plain, list):
            return [self.real(m, p) for m, p in zip(marker, plain, strict=True)]
        if isinstance(marker, dict) and isinstance(marker.get("__file__"), str):
            upload = self.uploads[marker["__file__"]]
            buf = io.BytesIO(upload.data)
            buf.name = upload.name  # the client names uploads and guesses types by it
            return buf
        return plain

    def scrub(self, message: str) -> str:
        """Mask secret values in ``message`` (jsonschema quotes offending values)."""
        for secret in self.secrets.values():
            if secret:
                message = message.replace(secret, "•••")
        return message
