"""Share a run: a finished prediction as one self-contained piece of static HTML.

Widget state is not kept in most saved notebooks and output URLs expire after an hour,
so `share_html` writes everything into the HTML itself: images downscaled and embedded
as ``data:`` URIs, small audio and video the same way, text escaped. Displaying a
`SharedRun` puts that HTML into the notebook's saved outputs, where nbconvert and
Voila exports show it without a kernel.

Everything a model or a person wrote (inputs, outputs, logs, errors, even the model
name) is escaped: a ``<script>`` in a prompt shows as text and never runs. The HTML is
built with :func:`~.html.tag`, which escapes every value; declared file types pass
:func:`~replicate_widgets._client.sniff.clean_mime` before they reach a ``data:`` URI.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from replicate_widgets._client.checks import short_ref
from replicate_widgets._client.files import data_url, decode_data_uri
from replicate_widgets._client.progress import strip_ansi
from replicate_widgets._client.sniff import sniff_mime
from replicate_widgets._client.types import Prediction
from replicate_widgets._schema.model_schema import ModelSchema

from .html import Markup, escape, is_web_url, join, link, tag
from .keep import KeptRecord
from .keep_files import as_bytes_and_mime, is_output_url, mask_secrets
from .media import file_name, media_kind, prepare_image

__all__ = ["MAX_EMBED_BYTES", "SharedRun", "inputs_table", "share_html"]

MAX_EMBED_BYTES = 5 * 1024 * 1024
"""Audio, video and other files up to this size are embedded; larger ones linked."""
_MAX_TEXT = 100_000
_LOG_LINES = 200
# ANSI colours (CSI) and operating system commands (OSC: window titles, OSC 8
# hyperlinks, ended by BEL or ESC \): a shared page shows the logs' text only.
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


def _pre(text: str) -> Markup:
    if len(text) > _MAX_TEXT:
        text = text[:_MAX_TEXT] + f"\n… ({len(text) - _MAX_TEXT:,} more characters)"
    return tag("pre", text, style=_PRE)


class _Renderer:
    """Turns output and input values into HTML, embedding the files it was given."""

    def __init__(self, files: Mapping[str, Any], max_edge: int) -> None:
        self.files = files
        self.max_edge = max_edge

    def file(self, url: str, index: int, edge: int | None = None) -> Markup:
        if url in self.files:
            data, declared = as_bytes_and_mime(self.files[url], url)
        elif url.startswith("data:"):
            try:
                data, declared = decode_data_uri(url)
            except ValueError:
                return Markup("(an unreadable data: URI)")
        else:
            return tag("div", "Not embedded: ", link(url), style=f"color: {_MUTED};")
        web = url if is_web_url(url) else None
        mime = sniff_mime(data, declared, web)
        name = file_name(url, mime, index)
        kind = media_kind(mime)
        if kind == "image":
            try:
                shown = prepare_image(data, edge or self.max_edge)
            except (ValueError, OSError):
                kind = "file"  # SVG or a broken image: offered as a file below
            else:
                return tag(
                    "img",
                    src=data_url(shown.data, shown.mime),
                    alt=name,
                    width=shown.width,
                    height=shown.height,
                    style="max-width: 100%; height: auto; border-radius: 4px;",
                )
        if kind == "text":
            return _pre(data.decode("utf-8", errors="replace"))
        if len(data) > MAX_EMBED_BYTES:
            return tag(
                "div",
                f"{name} ({mime}, {_size(len(data))}) is too large to embed",
                *((": ", link(web)) if web else ()),
                style=f"color: {_MUTED};",
            )
        src = data_url(data, mime)
        if kind in ("audio", "video"):
            return tag(
                kind, controls=True, src=src, title=name, style="max-width: 100%;"
            )
        return join(
            [
                tag("a", f"Download {name}", download=name, href=src),
                tag("span", f"({mime}, {_size(len(data))})", style=f"color: {_MUTED};"),
            ],
            " ",
        )

    def value(self, value: Any, join_text: bool, depth: int = 0) -> Markup:
        if is_output_url(value):
            return self.file(value, depth)
        if isinstance(value, str):
            return _pre(value)
        if isinstance(value, list):
            words = value and all(isinstance(v, str) for v in value)
            if join_text and words and not any(is_output_url(v) for v in value):
                return _pre("".join(value))  # streamed tokens read as one text
            if value and all(is_output_url(v) for v in value):
                items = (
                    tag("div", self.file(v, i), style="margin: 4px;")
                    for i, v in enumerate(value)
                )
                return tag("div", *items, style="display: flex; flex-wrap: wrap;")
            if all(isinstance(v, (int, float, bool)) or v is None for v in value):
                return _pre(json.dumps(value))  # an embedding: compact
            return join(tag("div", self.value(v, False, depth + 1)) for v in value)
        if isinstance(value, dict) and depth < 8:
            rows = (
                tag(
                    "tr",
                    tag("th", str(k), style=f"{_CELL} text-align: left;"),
                    tag("td", self.value(v, False, depth + 1), style=_CELL),
                )
                for k, v in value.items()
            )
            return tag("table", *rows, style="border-collapse: collapse;")
        if value is None:
            return tag("span", "(no output)", style=f"color: {_MUTED};")
        return _pre(json.dumps(value, indent=2, default=str))

    def input(self, value: Any) -> Markup:
        if is_output_url(value) and value in self.files:
            return self.file(value, 0, edge=min(self.max_edge, 192))
        if isinstance(value, str):
            if value.startswith("data:") and len(value) > 256:
                return escape(f"{value.split(',', 1)[0]},… ({len(value):,} characters)")
            if is_output_url(value):
                return link(value)
            if "\n" in value or len(value) > 120:
                return _pre(value)
            return escape(value)
        return tag("code", json.dumps(value, default=str))


def _logs_tail(logs: str) -> tuple[str, int]:
    # a tqdm bar redraws with \r: only the last state of each line is worth showing
    lines = [ln.split("\r")[-1] for ln in strip_ansi(logs).split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines[-_LOG_LINES:]), len(lines)


def _input_names(values: Mapping[str, Any], schema: ModelSchema | None) -> list[str]:
    names = list(values)
    if schema is None:
        return names
    order = {f.name: i for i, f in enumerate(schema.inputs)}
    return sorted(names, key=lambda n: (n not in order, order.get(n, 0)))


def inputs_table(
    values: Mapping[str, Any],
    schema: ModelSchema | None = None,
    files: Mapping[str, Any] | None = None,
    *,
    max_image_edge: int = 768,
) -> Markup | None:
    """Render a prediction's input as an HTML table, its secrets masked.

    Parameters
    ----------
    values : Mapping
        The input.
    schema : ModelSchema or None
        Orders the inputs and says which are secret; without it, inputs named like
        ``token``/``api_key`` are masked.
    files : Mapping or None
        Input files already fetched (as for `share_html`), shown small; other file
        URLs are linked, long ``data:`` URIs shortened.
    max_image_edge : int
        Longest side of an embedded image (at most 192 pixels here).

    Returns
    -------
    Markup or None
        A ``<table>``; ``None`` when there is no input.
    """
    masked = mask_secrets(values, schema)
    if not masked:
        return None
    render = _Renderer(files or {}, max_image_edge)
    rows = (
        tag(
            "tr",
            tag("th", n, style=f"{_CELL} text-align: left; font-weight: 600;"),
            tag("td", render.input(masked[n]), style=_CELL),
        )
        for n in _input_names(masked, schema)
    )
    return tag("table", *rows, style="border-collapse: collapse; margin: 4px 0;")


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
    facts: list[Markup | str] = []
    if prediction.version:
        facts.append(join(["version ", tag("code", short_ref(prediction.version))]))
    if prediction.created_at:
        facts.append(f"created {_when(prediction.created_at)}")
    for key in ("predict_time", "total_time"):
        value = prediction.metrics.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            facts.append(f"{key.replace('_', ' ')} {value:.2f} s")
    parts = [
        tag(
            "div",
            tag("strong", heading, style="font-size: 15px;"),
            tag(
                "span",
                status,
                style=(
                    f"color: #fff; background: {color}; border-radius: 10px; "
                    "padding: 1px 8px; font-size: 12px;"
                ),
            ),
            tag("span", join(facts, " · "), style=f"color: {_MUTED};"),
            style="display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap;",
        )
    ]
    if prediction.error:
        parts.append(
            tag("pre", prediction.error, style=f"{_PRE} color: {_STATUS['failed']};")
        )
    join_text = schema is None or schema.output.kind == "text-stream"
    parts.append(
        tag("div", render.value(prediction.output, join_text), style="margin: 10px 0;")
    )
    table = inputs_table(prediction.input, schema, files, max_image_edge=max_image_edge)
    if table is not None:
        parts.append(
            tag(
                "details",
                tag("summary", "Input", style="cursor: pointer;"),
                table,
                open=True,
            )
        )
    if prediction.logs:
        tail, count = _logs_tail(prediction.logs)
        shown = (
            f"last {_LOG_LINES} of {count} lines"
            if count > _LOG_LINES
            else (f"{count} lines")
        )
        parts.append(
            tag(
                "details",
                tag("summary", f"Logs ({shown})", style="cursor: pointer;"),
                _pre(tail),
            )
        )
    parts.append(
        tag(
            "div",
            f"prediction {prediction.id} · shared with replicate-widgets",
            style=f"color: {_MUTED}; font-size: 11px; margin-top: 6px;",
        )
    )
    return str(
        tag(
            "div",
            Markup("\n"),
            join(parts, "\n"),
            class_="replicate-widgets-share",
            style=_BOX,
        )
    )


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
