"""What the widgets share: name and URL checks, HTML snippets, buttons, error help.

:class:`~._create_model.CreateModel`, :class:`~._browser.ModelBrowser` and
:class:`~._trainer.Trainer` all check names and links the same way and show notices,
links and errors alike; the Playground, Trainer, Compare and Sweep share one header
(title and backend badge) and one kind of button, so they look alike. Those pieces
live here so each widget module keeps one job.

Replicate's OpenAPI document only says a model's ``name`` must be unique for its
owner; the name rules enforced by the service (and by the local backend) are:
lowercase letters, digits, ``-``, ``_`` and ``.``, starting and ending with a letter
or a digit. URLs must be ``http(s)``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import ipywidgets

from ._backend import describe_backend
from ._errors import (
    APIError,
    AuthenticationError,
    MissingTokenError,
    NotFoundError,
    ReplicateError,
)
from ._html import Markup, is_web_url, join, link, tag
from ._model_names import bundled_model_refs, is_model_name
from ._types import Model

if TYPE_CHECKING:
    from ._client import Client

__all__ = [
    "WIDTH",
    "bundled_model_names",
    "button",
    "check_model_name",
    "check_url",
    "explain_error",
    "header_html",
    "link_html",
    "model_links_html",
    "model_summary_html",
    "notice_html",
    "plain_message",
    "suggest_name",
]


# -- checks (pure) ---------------------------------------------------------------------


def suggest_name(text: str) -> str:
    """Turn free text into a valid name (``"My Model!"`` -> ``my-model``).

    Parameters
    ----------
    text
        What the person typed.

    Returns
    -------
    str
        Lowercase, runs of other characters replaced by ``-``, trimmed so it starts
        and ends with a letter or digit; ``""`` when nothing usable is left.
    """
    slug = re.sub(r"[^a-z0-9._-]+", "-", text.strip().lower())
    return re.sub(r"^[._-]+|[._-]+$", "", slug)


def check_model_name(value: str, what: str = "name") -> str | None:
    """Check an owner or model name against Replicate's rules.

    Parameters
    ----------
    value
        The name to check.
    what
        ``"name"`` or ``"owner"``, used in the message.

    Returns
    -------
    str or None
        ``None`` when the name is fine, else a message saying what to change.
    """
    if not value:
        return f"The {what} is required."
    if is_model_name(value):
        return None
    hint = suggest_name(value)
    tip = f" Try {hint!r}." if is_model_name(hint) else ""
    if value != value.lower():
        return f"The {what} must be lowercase.{tip}"
    if not value[0].isalnum() or not value[-1].isalnum():
        return f"The {what} must start and end with a letter or a digit.{tip}"
    bad = sorted({c for c in value if not (c.isalnum() or c in "-_.")})
    shown = " ".join(repr(c) for c in bad)
    return (
        f"The {what} may only use lowercase letters, digits, '-', '_' and '.'; "
        f"remove {shown}.{tip}"
    )


def check_url(value: str, label: str = "URL") -> str | None:
    """Check an optional link: empty, or an ``http(s)`` URL with a host.

    Returns
    -------
    str or None
        ``None`` when fine, else what to change.
    """
    if not value:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https"):
        return f"{label} must start with https:// (or http://), e.g. https://github.com/you/model."
    if not parts.netloc:
        return f"{label} has no host name after {parts.scheme}://."
    return None


# -- shared HTML helpers -------------------------------------------------------------


_NOTICE_COLOURS = {
    "error": "var(--jp-error-color1,#c62828)",
    "ok": "var(--jp-success-color1,#2e7d32)",
    "info": "var(--jp-brand-color1,#1976d2)",
}


def notice_html(text: str, kind: str = "error", title: str | None = None) -> Markup:
    """Return a boxed, escaped message (``kind``: ``error``, ``info`` or ``ok``).

    ``title`` is shown on hover (the full version id behind a shortened one, say).
    """
    if not text:
        return Markup("")
    kind = kind if kind in _NOTICE_COLOURS else "info"
    return tag(
        "div",
        text,
        class_=f"rw-notice rw-notice-{kind}",
        role="alert" if kind == "error" else None,
        title=title,
        style=(
            f"padding:6px 10px;border-left:4px solid {_NOTICE_COLOURS[kind]};"
            "background:var(--jp-layout-color2,#f6f6f6);"
            "color:var(--jp-ui-font-color1,#222);white-space:pre-wrap"
        ),
    )


_LOCAL_BG = "var(--jp-warn-color3,#fff3cd)"
_CLOUD_BG = "var(--jp-layout-color2,#eee)"

WIDTH = "860px"
"""The widest a form row grows (the InputForm's own limit); narrower cells shrink it."""


def header_html(title: str, base_url: str) -> Markup:
    """Return a widget's heading: its title and the backend badge, as the Playground's.

    The badge says ``local backend`` (or the host) whenever the widget is not
    talking to Replicate's cloud.
    """
    badge = describe_backend(base_url)
    local = badge == "local backend"
    return tag(
        "div",
        tag("b", title, style="font-size:var(--jp-content-font-size2,1.2em)"),
        tag(
            "span",
            badge,
            class_="rw-badge",
            data_backend="local" if local else "cloud",
            style=(
                "padding:1px 8px;border-radius:10px;font-size:11px;"
                "border:1px solid var(--jp-border-color1,#bbb);"
                # The local badge is pale in both themes: its text stays dark.
                f"color:{'#5c4400' if local else 'var(--jp-ui-font-color1,#222)'};"
                f"background:{_LOCAL_BG if local else _CLOUD_BG}"
            ),
        ),
        class_="rw-widget-header",
        style="display:flex;gap:8px;align-items:center;flex-wrap:wrap;"
        "font-family:var(--jp-ui-font-family);color:var(--jp-ui-font-color1)",
    )


def button(
    description: str,
    *,
    primary: bool = False,
    icon: str = "",
    class_: str | None = None,
    tooltip: str | None = None,
) -> ipywidgets.Button:
    """Return a button that looks like the Playground's.

    The main action is in the theme's brand colour (like Run), the others plain;
    each is as wide as its label.
    """
    made = ipywidgets.Button(
        description=description,
        button_style="primary" if primary else "",
        icon=icon,
        tooltip=tooltip or description,
        layout=ipywidgets.Layout(width="auto", flex="0 0 auto"),
    )
    if class_:
        made.add_class(class_)
    return made


def link_html(url: str | None, label: str) -> Markup:
    """Return a link for an http(s) URL, else ``""`` (no ``javascript:``)."""
    if not is_web_url(url):
        return Markup("")
    return link(
        url,
        label,
        style="color:var(--jp-content-link-color,#1976d2);text-decoration:underline",
    )


def model_links_html(model: Model) -> Markup:
    """Return the model's page, GitHub, paper and licence links, joined by dots."""
    links = (
        link_html(model.url, "page"),
        link_html(model.github_url, "GitHub"),
        link_html(model.paper_url, "paper"),
        link_html(model.license_url, "licence"),
    )
    return join((a for a in links if a), " · ")


def model_summary_html(model: Model) -> Markup:
    """Return an escaped summary of a model: name, visibility, description, links."""
    runs = "" if model.run_count is None else f" · {model.run_count:,} runs"
    return tag(
        "div",
        tag("b", model.ref, class_="rw-model-ref"),
        " ",
        tag("span", f"({model.visibility or '?'})", class_="rw-visibility"),
        runs,
        tag("div", model.description or ""),
        tag("div", model_links_html(model)),
        class_="rw-model-summary",
    )


def bundled_model_names() -> list[str]:
    """Return ``owner/name`` of the demo models the local backend ships with.

    Read from each folder's ``model.json``, so nothing is started or imported.
    """
    return sorted(f"{owner}/{name}" for owner, name in bundled_model_refs().values())


def plain_message(exc: BaseException) -> str:
    """Return what an error says to a person: what happened and what to do.

    The ``HTTP 404 Not found:`` that heads an API error's message (for logs and
    tracebacks) is left out; the server's explanation and the hint stay.
    """
    if isinstance(exc, APIError) and not isinstance(exc, MissingTokenError):
        said = (exc.detail or "").strip() or exc.title or f"Error {exc.status}"
        parts = [said, exc.hint] if exc.hint else [said]
        return ". ".join(p.strip().rstrip(".") for p in parts) + "."
    return str(exc) or type(exc).__name__


def explain_error(exc: BaseException, client: Client | None = None) -> str:
    """Turn an exception from background work into a message that says what to do.

    Call it off the kernel's main thread: for a model missing on the local backend
    it lists the backend's models.
    """
    if isinstance(exc, AuthenticationError):
        local = ", ".join(bundled_model_names()) or "its bundled demo models"
        return (
            f"{plain_message(exc)}\nNo valid token: models on api.replicate.com "
            "need one. Call replicate_widgets.login(), or pass backend='local' to "
            f"use the local backend, which has these models: {local}."
        )
    if isinstance(exc, NotFoundError) and client is not None and client.is_local:
        # Called from background work, so one more request to list them is fine.
        try:
            names = ", ".join(sorted(m.ref for m in client.models.list())) or "none"
        except ReplicateError:
            names = "(could not be listed)"
        return (
            f"{plain_message(exc)}\nThis is the local backend ({client.base_url}); "
            f"its models: {names}. For Replicate's cloud models, call "
            "replicate_widgets.login() and pass backend='cloud'."
        )
    if isinstance(exc, ReplicateError | ValueError | TypeError | RuntimeError):
        return plain_message(exc)
    return f"{type(exc).__name__}: {exc}"
