"""Share a run: a finished prediction as one self-contained piece of static HTML.

Widget state is not kept in most saved notebooks and output URLs expire after an hour,
so `share_html` writes everything into the HTML itself: images downscaled and embedded
as ``data:`` URIs, small audio and video the same way, text escaped. Displaying a
`SharedRun` puts that HTML into the notebook's saved outputs, where nbconvert and
Voila exports show it without a kernel.

Everything a model or a person wrote (inputs, outputs, logs, errors, even the model
name) is escaped: a ``<script>`` in a prompt shows as text and never runs.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Mapping
from typing import Any

from ._files import decode_data_uri
from ._keep import KeptRecord
from ._keep_files import as_bytes_and_mime, is_output_url, mask_secrets
from ._media import file_name, media_kind, prepare_image, sniff_mime
from ._schema import ModelSchema
from ._types import Prediction

__all__ = ["MAX_EMBED_BYTES", "SharedRun", "share_html"]

MAX_EMBED_BYTES = 5 * 1024 * 1024
"""Audio, video and other files up to this size are embedded; larger ones linked."""
_MAX_TEXT = 100_000
_LOG_LINES = 200
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_UTC = re.compile(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?(?:Z|\+00:00)$")

# JupyterLab's theme variables, with fallbacks for nbconvert and plain browsers.
_FG = "var(--jp-ui-font-color1, #1f1f1f)"
_MUTED = "var(--jp-ui-font-color2, #616161)"
_BORDER = "var(--jp-border-color2, #e0e0e0)"
_CODE_BG = "var(--jp-layout-color2, #f5f5f5)"
_STATUS = {
    "succeeded": "var(--jp-success-color1, #2e7d32)",
    "failed": "var(--jp-error-color1, #c62828)",
    "canceled": "var(--jp-warn-color1, #ef6c00)",
    "aborted": "var(--jp-warn-color1, #ef6c00)",
}
_BOX = (
    f"font-family: var(--jp-ui-font-family, system-ui, sans-serif); color: {_FG}; "
    f"border: 1px solid {_BORDER}; border-radius: 6px; padding: 12px 14px; "
    "max-width: 980px; line-height: 1.4; font-size: 13px;"
)
_PRE = (
    f"background: {_CODE_BG}; padding: 8px; border-radius: 4px; margin: 4px 0; "
    "white-space: pre-wrap; word-break: break-word; max-height: 480px; "
    "overflow: auto; font-family: var(--jp-code-font-family, monospace); "
    "font-size: 12px;"
)
_CELL = f"border-top: 1px solid {_BORDER}; padding: 4px 8px; vertical-align: top;"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _link(url: str, text: str | None = None) -> str:
    if not url.startswith(("https://", "http://")):
        return _e(text or url)  # only web links are clickable: no javascript: URLs
    return (
        f'<a href="{_e(url)}" target="_blank" rel="noopener noreferrer">'
        f"{_e(text or url)}</a>"
    )


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _size(n: int) -> str:
    if n < 1024:
        return f"{n:,} bytes"
    if n < 1024**2:
        return f"{n / 1024:.1f} KB"
    if n < 1024**3:
        return f"{n / 1024**2:.1f} MB"
    return f"{n / 1024**3:.1f} GB"


def _when(stamp: str) -> str:
    """``2023-08-16T18:57:08.36Z`` as ``2023-08-16 18:57:08 UTC``; others unchanged."""
    match = _UTC.match(stamp)
    return f"{match[1]} {match[2]} UTC" if match else stamp


def _pre(text: str) -> str:
    if len(text) > _MAX_TEXT:
        text = text[:_MAX_TEXT] + f"\n… ({len(text) - _MAX_TEXT:,} more characters)"
    return f'<pre style="{_PRE}">{_e(text)}</pre>'


class _Renderer:
    """Turns output and input values into HTML, embedding the files it was given."""

    def __init__(self, files: Mapping[str, Any], max_edge: int) -> None:
        self.files = files
        self.max_edge = max_edge

    def file(self, url: str, index: int, edge: int | None = None) -> str:
        if url in self.files:
            data, declared = as_bytes_and_mime(self.files[url], url)
        elif url.startswith("data:"):
            try:
                data, declared = decode_data_uri(url)
            except ValueError:
                return _e("(an unreadable data: URI)")
        else:
            return f'<div style="color: {_MUTED};">Not embedded: {_link(url)}</div>'
        web = url if url.startswith(("https://", "http://")) else None
        mime = sniff_mime(data, declared, web)
        name = file_name(url, mime, index)
        kind = media_kind(mime)
        if kind == "image":
            try:
                shown = prepare_image(data, edge or self.max_edge)
            except (ValueError, OSError):
                kind = "file"  # SVG or a broken image: offered as a file below
            else:
                return (
                    f'<img src="{_data_uri(shown.data, shown.mime)}" alt="{_e(name)}" '
                    f'width="{shown.width}" height="{shown.height}" '
                    'style="max-width: 100%; height: auto; border-radius: 4px;">'
                )
        if kind == "text":
            return _pre(data.decode("utf-8", errors="replace"))
        if len(data) > MAX_EMBED_BYTES:
            where = f": {_link(web)}" if web else ""
            return (
                f'<div style="color: {_MUTED};">{_e(name)} ({_e(mime)}, '
                f"{_size(len(data))}) is too large to embed{where}</div>"
            )
        src = _data_uri(data, mime)
        if kind in ("audio", "video"):
            return (
                f'<{kind} controls src="{src}" title="{_e(name)}" '
                f'style="max-width: 100%;"></{kind}>'
            )
        return (
            f'<a download="{_e(name)}" href="{src}">Download {_e(name)}</a> '
            f'<span style="color: {_MUTED};">({_e(mime)}, {_size(len(data))})</span>'
        )

    def value(self, value: Any, join: bool, depth: int = 0) -> str:
        if is_output_url(value):
            return self.file(value, depth)
        if isinstance(value, str):
            return _pre(value)
        if isinstance(value, list):
            words = value and all(isinstance(v, str) for v in value)
            if join and words and not any(is_output_url(v) for v in value):
                return _pre("".join(value))  # streamed tokens read as one text
            if value and all(is_output_url(v) for v in value):
                items = "".join(
                    f'<div style="margin: 4px;">{self.file(v, i)}</div>'
                    for i, v in enumerate(value)
                )
                return f'<div style="display: flex; flex-wrap: wrap;">{items}</div>'
            if all(isinstance(v, (int, float, bool)) or v is None for v in value):
                return _pre(json.dumps(value))  # an embedding: compact
            return "".join(
                f"<div>{self.value(v, False, depth + 1)}</div>" for v in value
            )
        if isinstance(value, dict) and depth < 8:
            rows = "".join(
                f'<tr><th style="{_CELL} text-align: left;">{_e(k)}</th>'
                f'<td style="{_CELL}">{self.value(v, False, depth + 1)}</td></tr>'
                for k, v in value.items()
            )
            return f'<table style="border-collapse: collapse;">{rows}</table>'
        if value is None:
            return f'<span style="color: {_MUTED};">(no output)</span>'
        return _pre(json.dumps(value, indent=2, default=str))

    def input(self, value: Any) -> str:
        if is_output_url(value) and value in self.files:
            return self.file(value, 0, edge=min(self.max_edge, 192))
        if isinstance(value, str):
            if value.startswith("data:") and len(value) > 256:
                return _e(f"{value.split(',', 1)[0]},… ({len(value):,} characters)")
            if is_output_url(value):
                return _link(value)
            if "\n" in value or len(value) > 120:
                return _pre(value)
            return _e(value)
        return f"<code>{_e(json.dumps(value, default=str))}</code>"


def _logs_tail(logs: str) -> tuple[str, int]:
    # a tqdm bar redraws with \r: only the last state of each line is worth showing
    lines = [ln.split("\r")[-1] for ln in _ANSI.sub("", logs).split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines[-_LOG_LINES:]), len(lines)


def _input_names(prediction: Prediction, schema: ModelSchema | None) -> list[str]:
    names = list(prediction.input)
    if schema is None:
        return names
    order = {f.name: i for i, f in enumerate(schema.inputs)}
    return sorted(names, key=lambda n: (n not in order, order.get(n, 0)))


def share_html(
    prediction: Prediction | Mapping[str, Any],
    files: Mapping[str, Any] | None = None,
    *,
    schema: ModelSchema | None = None,
    max_image_edge: int = 768,
    title: str | None = None,
) -> str:
    """Render a prediction as self-contained static HTML.

    Parameters
    ----------
    prediction : Prediction or Mapping
        The prediction (or its JSON). Any status works; a finished one is the point.
    files : Mapping or None
        Output (and input) files already fetched: URL to ``(bytes, mime)``, to a
        ``FileContent`` (what ``Client.read`` returns) or to the panel's
        ``MediaItem`` (``{m.url: m for m in panel.files}``). ``data:`` URIs are decoded
        on their own; other URLs missing here are linked, not embedded.
    schema : ModelSchema or None
        Orders the inputs, masks ``secret`` ones and tells whether a list output is
        streamed text. Without it, inputs named like ``token``/``api_key`` are masked.
    max_image_edge : int
        Longest side of embedded images in pixels; larger images are downscaled.
    title : str or None
        The heading; defaults to the model's name.

    Returns
    -------
    str
        One ``<div>`` with inline styles (JupyterLab theme variables with fallbacks),
        safe to embed anywhere: every text is escaped.
    """
    if isinstance(prediction, Mapping):
        prediction = Prediction.from_json(dict(prediction))
    if not isinstance(prediction, Prediction):
        raise TypeError(
            f"share_html() takes a Prediction, not {type(prediction).__name__}"
        )
    if isinstance(max_image_edge, bool) or not isinstance(max_image_edge, int):
        raise TypeError("max_image_edge must be a whole number of pixels, e.g. 768")
    if max_image_edge <= 0:
        raise ValueError(f"max_image_edge must be positive, got {max_image_edge}")
    render = _Renderer(files or {}, max_image_edge)
    status = prediction.status
    color = _STATUS.get(status, "var(--jp-brand-color1, #1565c0)")
    heading = title or prediction.model or "Prediction"
    facts = []
    if prediction.version:
        facts.append(f"version <code>{_e(prediction.version[:12])}</code>")
    if prediction.created_at:
        facts.append(f"created {_e(_when(prediction.created_at))}")
    for key in ("predict_time", "total_time"):
        value = prediction.metrics.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            facts.append(f"{_e(key.replace('_', ' '))} {value:.2f} s")
    parts = [
        f'<div class="replicate-widgets-share" style="{_BOX}">',
        '<div style="display: flex; gap: 10px; align-items: baseline; '
        'flex-wrap: wrap;">',
        f'<strong style="font-size: 15px;">{_e(heading)}</strong>',
        f'<span style="color: #fff; background: {color}; border-radius: 10px; '
        f'padding: 1px 8px; font-size: 12px;">{_e(status)}</span>',
        f'<span style="color: {_MUTED};">{" · ".join(facts)}</span>',
        "</div>",
    ]
    if prediction.error:
        parts.append(
            f'<pre style="{_PRE} color: {_STATUS["failed"]};">'
            f"{_e(prediction.error)}</pre>"
        )
    join = schema is None or schema.output.kind == "text-stream"
    parts.append(
        f'<div style="margin: 10px 0;">{render.value(prediction.output, join)}</div>'
    )
    masked = mask_secrets(prediction.input, schema)
    if masked:
        rows = "".join(
            f'<tr><th style="{_CELL} text-align: left; font-weight: 600;">{_e(n)}</th>'
            f'<td style="{_CELL}">{render.input(masked[n])}</td></tr>'
            for n in _input_names(prediction, schema)
        )
        parts.append(
            f'<details open><summary style="cursor: pointer;">Input</summary>'
            f'<table style="border-collapse: collapse; margin: 4px 0;">{rows}</table>'
            "</details>"
        )
    if prediction.logs:
        tail, count = _logs_tail(prediction.logs)
        shown = (
            f"last {_LOG_LINES} of {count} lines"
            if count > _LOG_LINES
            else (f"{count} lines")
        )
        parts.append(
            f'<details><summary style="cursor: pointer;">Logs ({shown})</summary>'
            f"{_pre(tail)}</details>"
        )
    parts.append(
        f'<div style="color: {_MUTED}; font-size: 11px; margin-top: 6px;">'
        f"prediction {_e(prediction.id)} · shared with replicate-widgets</div></div>"
    )
    return "\n".join(parts)


class SharedRun:
    """A finished prediction that displays as static HTML and stays in the notebook.

    ``display(SharedRun(prediction, files))`` writes the HTML of `share_html` into
    the cell's saved output, so the run survives without a kernel, in nbconvert and
    in Voila. Parameters are those of `share_html`.

    Attributes
    ----------
    html : str
        The rendered HTML (rendered once, when created).
    prediction : Prediction
        The prediction shown.
    """

    def __init__(
        self,
        prediction: Prediction | Mapping[str, Any],
        files: Mapping[str, Any] | None = None,
        *,
        schema: ModelSchema | None = None,
        max_image_edge: int = 768,
        title: str | None = None,
    ) -> None:
        if isinstance(prediction, Mapping):
            prediction = Prediction.from_json(dict(prediction))
        self.prediction = prediction
        self.html = share_html(
            prediction,
            files,
            schema=schema,
            max_image_edge=max_image_edge,
            title=title,
        )

    @classmethod
    def from_kept(cls, record: KeptRecord, **kwargs: Any) -> SharedRun:
        """Share a prediction read back by `Keeper.load` (its kept files embedded)."""
        return cls(record.prediction(), record.read_files(), **kwargs)

    def __repr__(self) -> str:
        p = self.prediction
        return f"SharedRun({p.id!r}, model={p.model!r}, status={p.status!r})"

    def _repr_html_(self) -> str:
        return self.html

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> dict[str, str]:
        bundle = {"text/html": self.html, "text/plain": repr(self)}
        if include:
            bundle = {k: v for k, v in bundle.items() if k in include}
        if exclude:
            bundle = {k: v for k, v in bundle.items() if k not in exclude}
        return bundle
