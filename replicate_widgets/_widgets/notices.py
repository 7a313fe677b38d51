"""What a widget says about itself: its header, notices, and errors in plain words.

Playground, Compare, Sweep, Trainer, ModelBrowser and CreateModel share one
header (title and backend badge) and one kind of notice, so they look alike, and
they explain an error the same way: what happened and what to do next.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from replicate_widgets._client.errors import (
    APIError,
    AuthenticationError,
    MissingTokenError,
    NotFoundError,
    ReplicateError,
)
from replicate_widgets._model_names import bundled_model_refs

from .backend import describe_backend
from .html import Markup, tag

if TYPE_CHECKING:
    from replicate_widgets._client.client import Client

__all__ = [
    "bundled_model_names",
    "explain_error",
    "header_html",
    "notice_html",
    "plain_message",
]


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
