"""A model as markup: its links, its run count and a short summary.

Every value comes from the backend and goes through
:mod:`replicate_widgets._widgets.html`, which escapes it; a link is drawn only for an
``http(s)`` URL.
"""

from __future__ import annotations

from replicate_widgets._client.types import Model
from replicate_widgets._widgets.html import Markup, is_web_url, join, link, tag

__all__ = ["link_html", "model_links_html", "model_summary_html", "runs_text"]


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


def runs_text(count: int | None) -> str:
    """``"1 run"``, ``"1,234 runs"``; ``""`` when the count is not known."""
    if count is None:
        return ""
    return f"{count:,} run{'' if count == 1 else 's'}"


def model_summary_html(model: Model) -> Markup:
    """Return an escaped summary of a model: name, visibility, description, links."""
    runs = "" if model.run_count is None else f" · {runs_text(model.run_count)}"
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
