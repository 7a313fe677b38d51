"""Turning one ``Input`` property into a `Field`: kind, label, default, constraints.

Every branch here is written for the quirks of real Cog documents (see
``docs/rationale.md``): enums behind ``allOf``, float bounds on integers, integer
defaults on numbers, inline enums whose values do not match their ``type``, and
``default: null``. Anything that cannot be drawn as a specific control becomes a
``json`` field with a ``problem`` that says why, never an exception.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Mapping
from typing import Any, cast

from replicate_widgets._secret_mask import is_secret

from .refs import RefError, resolve
from .types import Field, FieldKind

_TEXT_WORDS = frozenset(
    {
        "prompt",
        "prompts",
        "text",
        "texts",
        "caption",
        "captions",
        "system",
        "negative",
        "message",
        "messages",
        "template",
        "instruction",
        "instructions",
        "lyrics",
        "transcript",
        "question",
        "context",
        "content",
        "story",
        "script",
        "sentence",
        "sentences",
    }
)
"""Name words that mean "a person writes prose here" (prompts, captions, chat)."""

_MULTILINE_HINTS = (
    "multi-line",
    "multiline",
    "new line",
    "newline",
    "one per line",
    "each line",
    "separate line",
    "line break",
)

_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z])(?=[A-Z])")

_SIMPLE_ITEM_KINDS = frozenset(
    {"string", "text", "integer", "number", "boolean", "choice", "file", "secret"}
)


def pretty_title(name: str) -> str:
    """Title-case a name the way Cog does (``num_outputs`` → ``Num Outputs``)."""
    return name.replace("_", " ").title().strip() or name


def _number(value: Any) -> float | None:
    """Return a finite real number from a schema keyword, or None (not bools)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _count(value: Any) -> int | None:
    """Return a non-negative integer from ``minLength``/``maxLength``, or None."""
    number = _number(value)
    if number is None or number < 0 or number != int(number):
        return None
    return int(number)


def _order(value: Any) -> int | None:
    number = _number(value)
    if number is None or number != int(number):
        return None
    return int(number)


def _pattern(value: Any) -> str | None:
    """Return the pattern if Python can compile it; a broken one is not enforced."""
    if not isinstance(value, str):
        return None
    try:
        re.compile(value)
    except (re.error, RecursionError, OverflowError):
        return None
    return value


def _types(schema: Mapping[str, Any]) -> tuple[set[str], bool]:
    """Return the declared types without ``null``, and whether ``null`` was there."""
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}, declared == "null"
    if isinstance(declared, list):
        names = {t for t in declared if isinstance(t, str)}
        return names - {"null"}, "null" in names
    return set(), False


def coerce_choice(value: Any, declared: set[str]) -> Any:
    """Convert an enum value to the declared type when that is exact (``"512"`` → 512).

    Old Cog wrote ``{"enum": ["512", "256"], "type": "integer", "default": 512}``;
    the model accepts the integers.
    """
    if not isinstance(value, str):
        return value
    if "integer" in declared and re.fullmatch(r"[-+]?\d+", value.strip()):
        return int(value)
    if "number" in declared:
        try:
            number = float(value)
        except ValueError:
            return value
        if math.isfinite(number):
            return number
    return value


def _unwrap_any_of(schema: dict[str, Any]) -> tuple[dict[str, Any], bool, bool]:
    """Reduce ``anyOf``/``oneOf`` with a null branch to the other branch.

    Returns the schema to use, whether null is allowed, and whether a union remains
    that no single control can edit.
    """
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if branches is None:
            continue
        if not isinstance(branches, list):
            return schema, False, True
        others = [
            b
            for b in branches
            if not (isinstance(b, Mapping) and b.get("type") == "null")
        ]
        nullable = len(others) < len(branches)
        if len(others) == 1 and isinstance(others[0], Mapping):
            rest = {k: v for k, v in schema.items() if k != key}
            return {**others[0], **rest}, nullable, False
        if not others:
            return schema, nullable, False
        return schema, nullable, True
    return schema, False, False


def _is_text(name: str, schema: Mapping[str, Any], description: str | None) -> bool:
    words = {w.lower() for w in _WORD_SPLIT.split(name) if w}
    if words & _TEXT_WORDS:
        return True
    max_length = _count(schema.get("maxLength"))
    if max_length is not None and max_length > 200:
        return True
    default = schema.get("default")
    if isinstance(default, str) and ("\n" in default or len(default) > 120):
        return True
    text = (description or "").lower()
    return any(hint in text for hint in _MULTILINE_HINTS)


def _kind(
    name: str,
    schema: Mapping[str, Any],
    declared: set[str],
    description: str | None,
    union: bool,
) -> tuple[FieldKind, str | None]:
    """Choose the control for a resolved schema, and say why when it is ``json``."""
    if union:
        return "json", "this input accepts several types; edit it as JSON"
    fmt = schema.get("format")
    enum = schema.get("enum")
    if is_secret(schema):
        return "secret", None
    if isinstance(enum, list):
        if enum:
            return "choice", None
        return "json", "the schema lists no allowed values for this input"
    if "enum" in schema:
        return "json", "the schema's list of allowed values is not a list"
    if len(declared) > 1:
        return "json", "this input accepts several types; edit it as JSON"
    kind = next(iter(declared), None)
    if fmt == "uri" and kind in (None, "string"):
        return "file", None
    if kind == "string":
        return ("text" if _is_text(name, schema, description) else "string"), None
    if kind in ("integer", "number", "boolean", "array"):
        return cast(FieldKind, kind), None
    if kind == "object":
        return "json", None
    if kind is None:
        return "json", "the schema gives this input no type; edit it as JSON"
    return "json", f"the schema's type {kind!r} is not one the form knows"


def _default(schema: Mapping[str, Any], kind: FieldKind) -> tuple[Any, bool, bool]:
    """Return the default as the form holds it, whether it is usable, and null-ness."""
    if "default" not in schema:
        return None, False, False
    default = schema["default"]
    if default is None:
        return None, False, True
    if isinstance(default, float) and not math.isfinite(default):
        return None, False, False  # JSON cannot carry NaN/inf to the model anyway
    if kind == "number" and isinstance(_number(default), int):
        # JSON has no int/float split; a number input shows 7 as 7.0
        try:
            return float(default), True, False
        except OverflowError:  # an integer beyond any float stays as written
            return default, True, False
    if kind == "integer" and isinstance(default, float) and default.is_integer():
        return int(default), True, False
    return default, True, False


def build_field(
    root: Mapping[str, Any],
    name: str,
    prop: Any,
    required: bool,
    _depth: int = 0,
) -> Field:
    """Describe one property of an ``Input`` component as a `Field`.

    Parameters
    ----------
    root : Mapping
        The document, for resolving references.
    name : str
        The property name.
    prop : Any
        The property's schema as written in the document.
    required : bool
        Whether the property is listed in ``required``.

    Returns
    -------
    Field
        Always a field: constructs the form cannot draw become ``json`` fields.
    """
    own: Mapping[str, Any] = prop if isinstance(prop, Mapping) else {}
    title_raw = own.get("title")
    title = (
        title_raw.strip()
        if isinstance(title_raw, str) and title_raw.strip() and title_raw != name
        else pretty_title(name)
    )
    problem: str | None = None
    if not isinstance(prop, Mapping):
        # JSON Schema allows `true`/`false` as schemas; nothing to draw from either
        schema: dict[str, Any] = {}
        problem = "the schema of this input is not an object; edit it as JSON"
    else:
        try:
            schema = resolve(root, prop)
        except RefError as exc:
            schema = {k: v for k, v in prop.items() if k not in ("$ref", "allOf")}
            problem = f"{exc}; edit this input as JSON"
    schema, null_branch, union = _unwrap_any_of(schema)
    declared, null_type = _types(schema)
    description = own.get("description")
    if not isinstance(description, str):
        inherited = schema.get("description")
        description = (
            inherited
            if isinstance(inherited, str) and inherited != "An enumeration."
            else None
        )
    # docstring-style indentation from Python predictors reads badly in a form
    description = inspect.cleandoc(description) or None if description else None
    kind, why = _kind(name, schema, declared, description, union)
    problem = problem or why
    default, has_default, null_default = _default(schema, kind)
    nullable = (
        schema.get("nullable") is True or null_branch or null_type or null_default
    )

    choices: tuple[Any, ...] | None = None
    if kind == "choice":
        values = [coerce_choice(v, declared) for v in schema["enum"]]
        default = coerce_choice(default, declared)
        if has_default and default not in values:
            # a default outside the list would leave the dropdown without a value
            values.insert(0, default)
        choices = tuple(values)

    items: Field | None = None
    if kind == "array":
        item_schema = schema.get("items")
        if item_schema is None:
            item_schema = {}
        if _depth < 4:
            items = build_field(root, f"{name}[]", item_schema, False, _depth + 1)
            items = _item_view(items, title)
        if items is None or items.kind not in _SIMPLE_ITEM_KINDS:
            # lists of objects or of lists are ordinary JSON, not a broken schema
            kind = "json"

    accept = schema.get("x-cog-accept")
    fmt = schema.get("format")
    minimum = _number(schema.get("minimum"))
    maximum = _number(schema.get("maximum"))
    if minimum is None:  # Cog 0.8.6 leaked pydantic's `ge`/`le` into some documents
        minimum = _number(schema.get("ge"))
    if maximum is None:
        maximum = _number(schema.get("le"))
    return Field(
        name=name,
        kind=kind,
        title=title,
        description=description,
        default=default,
        has_default=has_default,
        required=required,
        nullable=bool(nullable),
        choices=choices,
        minimum=minimum,
        maximum=maximum,
        min_length=_count(schema.get("minLength")),
        max_length=_count(schema.get("maxLength")),
        pattern=_pattern(schema.get("pattern")),
        accept=accept if isinstance(accept, str) else None,
        deprecated=schema.get("deprecated") is True,
        items=items,
        x_order=_order(own.get("x-order", schema.get("x-order"))),
        format=fmt if isinstance(fmt, str) else None,
        schema=schema,
        problem=problem,
    )


def _item_view(item: Field, parent_title: str) -> Field:
    """Label an array element by its list; it is never required on its own."""
    return Field(
        name=item.name,
        kind=item.kind,
        title=parent_title,
        description=None,
        default=None,
        has_default=False,
        required=False,
        nullable=item.nullable,
        choices=item.choices,
        minimum=item.minimum,
        maximum=item.maximum,
        min_length=item.min_length,
        max_length=item.max_length,
        pattern=item.pattern,
        accept=item.accept,
        deprecated=False,
        items=item.items,
        x_order=None,
        format=item.format,
        schema=item.schema,
        problem=item.problem,
    )
