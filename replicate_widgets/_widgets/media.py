"""Output files for display: sniff the type from the bytes, downscale images.

Files are fetched in the kernel (the browser never sees the token) and travel to the
browser as binary buffers. Servers often label outputs ``application/octet-stream``
(``data:`` URIs included), so the declared type is only a fallback: the bytes decide.
Images larger than the display edge are downscaled for the browser; the original bytes
stay in the kernel for downloads and for :attr:`PredictionPanel.files`.
"""

from __future__ import annotations

import io
import mimetypes
import posixpath
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from replicate_widgets._client.sniff import sniff_mime

# Pillow loads with the first image (a form's first showing has none to show).
if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "DisplayImage",
    "MediaItem",
    "MediaKind",
    "build_media",
    "extension_for",
    "file_name",
    "media_kind",
    "prepare_image",
    "safe_file_name",
    "thumbnail",
]

MediaKind = Literal["image", "audio", "video", "text", "file"]

# Formats every current browser draws natively; anything else is re-encoded.
_BROWSER_IMAGES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif"}
_BROWSER_IMAGES["WEBP"] = "image/webp"


# mimetypes knows no extension for some types sniff_mime returns (audio/wav on most
# systems) and an odd one for others (.oga for Ogg audio): these win.
_EXTENSIONS = {
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/mpeg": ".mp3",
    "audio/ogg": ".ogg",
    "audio/flac": ".flac",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "audio/webm": ".weba",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "text/plain": ".txt",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9 ._-]+")
_MAX_STEM = 100


def media_kind(mime: str) -> MediaKind:
    """Return how the panel shows a file of type ``mime``."""
    major = mime.split("/", 1)[0]
    if major in ("image", "audio", "video"):
        return major  # type: ignore[return-value]
    if major == "text" or mime in ("application/json", "application/x-ndjson"):
        return "text"
    return "file"


def extension_for(mime: str) -> str:
    """Return the usual extension of files of type ``mime`` (``.bin`` if unknown)."""
    return _EXTENSIONS.get(mime) or mimetypes.guess_extension(mime) or ".bin"


def safe_file_name(name: str, mime: str, index: int = 0) -> str:
    """Make ``name`` a file name safe on every platform, its extension the bytes'.

    Parameters
    ----------
    name
        The name a server or model gave the file (may be empty).
    mime
        The sniffed type of the bytes.
    index
        Position among the outputs, for ``output-<index>`` when ``name`` is unusable.

    Returns
    -------
    str
        Letters, digits, spaces, ``.``, ``_`` and ``-`` only, no leading dot, at
        most 100 characters before the extension. The extension is the sniffed
        type's unless the name's already means that type (``.jpeg`` for a JPEG
        stays); a name's own extension is kept only for bytes of unknown type.
    """
    stem, ext = posixpath.splitext(posixpath.basename(name.replace("\\", "/")))
    stem = _UNSAFE.sub("_", stem).strip(" ._-")[:_MAX_STEM] or f"output-{index}"
    ext = re.sub(r"[^A-Za-z0-9.]+", "", ext).lower()[:16]
    wanted = extension_for(mime)
    same = bool(ext) and mimetypes.guess_type("x" + ext)[0] == mime
    if not same and (wanted != ".bin" or not ext):
        ext = wanted
    return stem + ext


def file_name(url: str, mime: str, index: int = 0) -> str:
    """Return a file name for a download of ``url``: its own when it has one.

    The URL's last path segment names the file (Replicate's outputs and the local
    backend's keep the model's names, ``filtered.png``); ``data:`` URIs have none,
    so one is made from the type and ``index``. See :func:`safe_file_name`.
    """
    name = ""
    if not url.startswith("data:"):
        name = urllib.parse.unquote(posixpath.basename(urllib.parse.urlsplit(url).path))
    return safe_file_name(name, mime, index)


@dataclass(frozen=True)
class DisplayImage:
    """An image made ready for the browser."""

    data: bytes = field(repr=False)
    """Bytes to send: the original when it already fits, else a downscaled copy."""
    mime: str
    """Type of :attr:`data`."""
    width: int
    """Width of :attr:`data` in pixels."""
    height: int
    """Height of :attr:`data` in pixels."""
    original_width: int
    """Width of the original."""
    original_height: int
    """Height of the original."""

    @property
    def scaled(self) -> bool:
        """True when :attr:`data` is a smaller copy of the original."""
        return (self.width, self.height) != (self.original_width, self.original_height)


def prepare_image(data: bytes, max_edge: int = 1024) -> DisplayImage:
    """Fit an image inside ``max_edge`` pixels for display, keeping its aspect ratio.

    Parameters
    ----------
    data
        The encoded image, in any format Pillow reads.
    max_edge
        Longest side of the display copy, in pixels.

    Returns
    -------
    DisplayImage
        The original bytes when the image already fits and browsers draw its format;
        otherwise a re-encoded copy: PNG when it has transparency, else JPEG.

    Raises
    ------
    ValueError
        When ``max_edge`` is not positive or the bytes are not an image.
    """
    if max_edge <= 0:
        raise ValueError(
            f"max_edge must be a positive number of pixels, got {max_edge}"
        )
    with _open_image(data) as im:
        width, height = im.size
        fmt = im.format or ""
        if max(width, height) <= max_edge and fmt in _BROWSER_IMAGES:
            return DisplayImage(
                data, _BROWSER_IMAGES[fmt], width, height, width, height
            )
        frame = _downscale(im, max_edge)
    out = io.BytesIO()
    if _has_alpha(frame):
        frame.convert("RGBA").save(out, format="PNG")
        mime = "image/png"
    else:
        frame.convert("RGB").save(out, format="JPEG", quality=88)
        mime = "image/jpeg"
    return DisplayImage(out.getvalue(), mime, frame.width, frame.height, width, height)


def thumbnail(data: bytes, max_edge: int) -> bytes:
    """Return ``data`` as a PNG no larger than ``max_edge`` on its longest side.

    Raises
    ------
    ValueError
        When the bytes are not an image Pillow reads.
    PIL.Image.DecompressionBombError
        When the image claims more pixels than Pillow's bomb limit.
    """
    with _open_image(data) as im:
        frame = _downscale(im, max_edge)
    out = io.BytesIO()
    frame.convert("RGBA" if _has_alpha(frame) else "RGB").save(out, format="PNG")
    return out.getvalue()


def _open_image(data: bytes) -> Image.Image:
    """Open (not decode) an image; Pillow's decompression-bomb check runs here."""
    from PIL import Image, UnidentifiedImageError

    try:
        return Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"not an image Pillow can read: {exc}") from exc


def _downscale(im: Image.Image, max_edge: int) -> Image.Image:
    """Decode ``im`` at most ``max_edge`` pixels on its longest side."""
    from PIL import Image

    # draft() lets the JPEG decoder skip to a smaller scale: much less work.
    im.draft("RGB", (max_edge, max_edge))
    frame = im.copy()
    frame.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
    return frame


def _has_alpha(frame: Image.Image) -> bool:
    return frame.mode in ("RGBA", "LA", "PA") or (
        frame.mode == "P" and "transparency" in frame.info
    )


@dataclass
class MediaItem:
    """One output file: the original, kept in the kernel, and what the browser shows."""

    key: str
    """Stable id within the panel (``m0``, ``m1`` ...), used by download requests."""
    url: str = field(repr=False)
    """Where the file came from (an ``https:`` or ``data:`` URL)."""
    data: bytes = field(repr=False)
    """The original bytes, unchanged."""
    mime: str
    """The sniffed type."""
    kind: MediaKind
    """How it is shown: image, audio, video, text or file."""
    name: str
    """File name for downloads."""
    display: DisplayImage | None = field(default=None, repr=False)
    """For images: the copy sized for display."""

    def to_trait(self, inline_limit: int) -> dict[str, Any]:
        """Return the dict synced to the browser; bytes go in binary buffers.

        Parameters
        ----------
        inline_limit
            Audio, video and text larger than this many bytes are offered as a
            download instead of being sent up front.
        """
        entry: dict[str, Any] = {
            "key": self.key,
            "kind": self.kind,
            "mime": self.mime,
            "name": self.name,
            "size": len(self.data),
            "data": b"",
        }
        if self.display is not None:
            entry.update(
                data=self.display.data,
                mime=self.display.mime,
                width=self.display.width,
                height=self.display.height,
                original_width=self.display.original_width,
                original_height=self.display.original_height,
                original_mime=self.mime,
            )
        elif self.kind in ("audio", "video", "text") and len(self.data) <= inline_limit:
            entry["data"] = self.data
        elif self.kind != "file":
            entry["kind"] = "file"  # too big to send up front: a download link
        return entry


def build_media(
    key: str,
    url: str,
    data: bytes,
    declared: str | None = None,
    *,
    max_edge: int = 1024,
    index: int = 0,
) -> MediaItem:
    """Sniff ``data`` and prepare it for display.

    Parameters
    ----------
    key
        The item's id within the panel.
    url
        Where the bytes came from.
    data
        The file's bytes.
    declared
        The type the server declared, if any.
    max_edge
        Longest side of image display copies.
    index
        Position among the outputs, for naming ``data:`` URI files.

    Returns
    -------
    MediaItem
        Images that Pillow cannot decode fully fall back to a download link.
    """
    mime = sniff_mime(data, declared, url)
    kind = media_kind(mime)
    display = None
    if kind == "image":
        from PIL import Image

        try:
            display = prepare_image(data, max_edge)
        except (ValueError, OSError, Image.DecompressionBombError):
            kind = "file"  # an SVG, a truncated file or a bomb: offer the original
    name = file_name(url, mime, index)
    return MediaItem(key, url, data, mime, kind, name, display)
