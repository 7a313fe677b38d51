"""HTML built in Python: the one builder, which escapes every value it is given.

Widgets show HTML through ``ipywidgets.HTML`` and `share_html` writes a static page
into the notebook, where it runs on the Jupyter origin (and again in every nbconvert
or Voila export). Model names, inputs, outputs, logs, errors and server messages all
come from outside, so no module writes HTML by hand: each builds it with `tag`, which
escapes every text and attribute value (markupsafe does the escaping), refuses event
handler attributes, and accepts in ``href``/``src`` only http(s) URLs and ``data:``
URIs of the form ``data:<type/subtype>;base64,...`` (what
:func:`~replicate_widgets._client.files.data_url` makes).

`markupsafe.Markup` marks what is already HTML: a `tag` result, or a constant. Plain
``str`` is always text; `escape` (markupsafe's) turns text alone into HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from replicate_widgets._client.sniff import MIME_PATTERN

__all__ = ["Markup", "escape", "is_data_uri", "is_web_url", "join", "link", "tag"]

Child = Markup | str | int | float | None
"""What `tag` takes as content: Markup is inserted as is, anything else is text."""
Attr = str | int | float | bool | None
"""An attribute value: ``True`` writes a bare attribute; ``False``/``None`` omit it."""

# Every tag the package draws; anything else (script, iframe, object, ...) is a bug.
_TAGS = frozenset(
    {"a", "audio", "b", "br", "code", "details", "div", "figure", "h3", "i", "img"}
    | {"pre", "span", "strong", "summary", "table", "td", "th", "tr", "video"}
)
_VOID = frozenset({"br", "img"})
_ATTR_NAME = re.compile(r"[a-z][a-z0-9-]*")
# Attributes whose value is a URL the browser loads or navigates to.
_URL_ATTRS = frozenset({"href", "src"})
# Attributes that run code or load documents whatever their value looks like.
_FORBIDDEN = frozenset({"srcdoc", "formaction", "action", "srcset"})
# What the package's own data: URIs look like (see _files.data_url): a validated
# RFC 6838 type, base64 and nothing else, so no value can end the attribute.
_DATA_URI = re.compile(f"data:{MIME_PATTERN};base64,[A-Za-z0-9+/]*={{0,2}}")
# Browsers drop whitespace and controls before reading a URL's scheme
# ("java\tscript:" runs); quotes, angle brackets and backticks are never part of a
# well-formed URL (RFC 3986 percent-encodes them), only of attempts to leave one.
_URL_NOISE = re.compile(r"[\x00-\x20\x7f\"'<>`]")


def is_web_url(url: object) -> bool:
    """Tell whether ``url`` is an ``http(s)`` URL with a host, safe to link to.

    Whitespace and control characters anywhere make it unsafe (browsers strip them
    before reading the scheme, so a check that did not would let a ``javascript:``
    URL through), and so do quotes, ``<``, ``>`` and backticks.
    """
    if not isinstance(url, str) or _URL_NOISE.search(url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def is_data_uri(url: object) -> bool:
    """Tell whether ``url`` is a base64 ``data:`` URI with a valid ``type/subtype``."""
    return isinstance(url, str) and _DATA_URI.fullmatch(url) is not None


def _attribute(key: str, value: Attr) -> Markup:
    name = key.rstrip("_").replace("_", "-")  # class_ -> class, data_x -> data-x
    if not _ATTR_NAME.fullmatch(name) or name.startswith("on") or name in _FORBIDDEN:
        raise ValueError(f"tag(): attribute {name!r} is not allowed in built HTML")
    if value is None or value is False:
        return Markup("")
    if value is True:
        return Markup(" {}").format(name)
    text = str(value)  # str() of Markup is plain str: attribute values are text
    if name in _URL_ATTRS and not (is_web_url(text) or is_data_uri(text)):
        raise ValueError(
            f"tag(): {name} must be an http(s) URL or a base64 data: URI, got "
            f"{text[:60]!r}; show other values as text (see link())"
        )
    return Markup(' {}="{}"').format(name, text)


def tag(name: str, *children: Child, **attrs: Attr) -> Markup:
    """Build one element; every text child and attribute value is escaped.

    Parameters
    ----------
    name
        The element, one of the tags the package draws.
    *children
        Its content, in order: `Markup` (another `tag`, a constant) is inserted as
        is, ``None`` is skipped, anything else is escaped text.
    **attrs
        Attributes; a trailing ``_`` is dropped and ``_`` becomes ``-`` (``class_``,
        ``data_backend``). ``True`` writes a bare attribute, ``False``/``None`` omit it.

    Returns
    -------
    Markup
        The element.

    Raises
    ------
    ValueError
        For an unknown tag, an event handler (``on...``) or other active attribute,
        or an ``href``/``src`` that is neither an http(s) URL nor a base64
        ``data:`` URI: the caller must decide to show such values as text.
    """
    if name not in _TAGS:
        raise ValueError(f"tag(): <{name}> is not one of the tags built HTML may use")
    opening = join(_attribute(k, v) for k, v in attrs.items())
    if name in _VOID:
        if children:
            raise ValueError(f"tag(): <{name}> cannot have content")
        return Markup("<{}{}>").format(name, opening)
    return Markup("<{}{}>{}</{}>").format(name, opening, join(children), name)


def join(parts: Iterable[Child], sep: str = "") -> Markup:
    """Join ``parts`` (Markup as is, the rest escaped) with the text ``sep``."""
    return escape(sep).join(escape(p) for p in parts if p is not None)


def link(url: str | None, text: str | None = None, **attrs: Attr) -> Markup:
    """Return a link that opens ``url`` in a new tab, or just the text.

    Only http(s) URLs are clickable (no ``javascript:``); anything else is shown as
    text: ``text``, else the URL itself.
    """
    label = text if text is not None else (url or "")
    if url is None or not is_web_url(url):
        return escape(label)
    return tag(
        "a", label, href=url, target="_blank", rel="noopener noreferrer", **attrs
    )
