"""``GET /v1/search``: the local models and collection, in Replicate's shape.

The answer is ``{query, models: [{model, metadata}], collections, pages}``. A
model matches when every word of the query occurs in its ``owner/name`` or its
description, so ``hello world`` finds ``replicate/hello-world``; the score
ranks name hits above owner and description hits. There are no documentation
pages locally, so ``pages`` is always empty.
"""

from __future__ import annotations

from typing import Any

from replicate_widgets.server._problem import Problem

DEFAULT_LIMIT = 20
MAX_LIMIT = 50
_EXAMPLE = "GET /v1/search?query=hello"


def parse_params(query: str | None, limit: str | None) -> tuple[str, int]:
    """Check the query string; return ``(query, limit)`` or raise a 400 problem."""
    if query is None or not query.strip():
        raise Problem(
            400,
            f'Query parameter "query" is required: say what to look for, e.g. '
            f"{_EXAMPLE}.",
        )
    if limit is None:
        return query, DEFAULT_LIMIT
    try:
        number = int(limit)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_LIMIT:
        raise Problem(
            400,
            f"limit={limit} is invalid: use a whole number from 1 to {MAX_LIMIT} "
            f"(default {DEFAULT_LIMIT}), e.g. {_EXAMPLE}&limit=5.",
        )
    return query, number


def _score(words: list[str], model: dict[str, Any]) -> float:
    """Return how well ``model`` matches every word (0: it does not)."""
    owner = str(model.get("owner", "")).lower()
    name = str(model.get("name", "")).lower()
    description = str(model.get("description") or "").lower()
    score = 0.0
    for word in words:
        hit = 2.0 * (word in name) + 1.0 * (word in owner) + 0.5 * (word in description)
        if not hit:
            return 0.0
        score += hit
    if " ".join(words) in (name, f"{owner}/{name}"):
        score += 3.0
    return score


def search(
    query: str,
    limit: int,
    models: list[dict[str, Any]],
    collection: dict[str, Any],
) -> dict[str, Any]:
    """Return the ``GET /v1/search`` document for ``query``.

    Parameters
    ----------
    query, limit
        From :func:`parse_params`.
    models
        Every model document (rendered), in the order ``GET /v1/models`` uses.
    collection
        The local collection (``slug``, ``name``, ``description``); it holds
        every model, so it matches when any model does or its own text does.
    """
    words = query.lower().split()
    scored = [(_score(words, m), m) for m in models]
    hits = sorted(
        ((s, m) for s, m in scored if s > 0),
        key=lambda pair: (-pair[0], f"{pair[1]['owner']}/{pair[1]['name']}"),
    )
    text = " ".join(str(collection.get(k, "")) for k in ("slug", "name", "description"))
    collections = []
    if hits or all(word in text.lower() for word in words):
        collections.append(
            {
                **collection,
                "models": [f"{m['owner']}/{m['name']}" for m in models],
            }
        )
    return {
        "query": query,
        "models": [
            {
                "model": model,
                "metadata": {
                    "generated_description": None,
                    "tags": [],
                    "score": score,
                },
            }
            for score, model in hits[:limit]
        ],
        "collections": collections,
        "pages": [],
    }
