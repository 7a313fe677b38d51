"""Checking input values against a model's schema with ``jsonschema`` + ``referencing``.

Cog documents are OpenAPI 3.0: Draft 4 semantics plus ``nullable``, file inputs written
as ``format: uri`` that really take data: URIs and local files, and a handful of quirks
a strict validator would hold against the person instead of the schema. So each
property is first lowered to plain JSON Schema (`lower`), keeping only keywords that
constrain values, and every check that cannot run on a broken schema lets the value
through rather than blaming it.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any, TypeGuard

from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator
from jsonschema.validators import extend
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from .fields import coerce_choice
from .types import Field

DOCUMENT_URI = "urn:replicate-widgets:openapi-document"
"""Where the lowered document lives in the registry; local ``$ref``s point here."""

_TYPES = frozenset(
    {"string", "integer", "number", "boolean", "array", "object", "null"}
)
_NUMERIC = ("minimum", "maximum", "multipleOf")
_COUNTS = (
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
)
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf")
_MAX_CHOICES_SHOWN = 6
_MAX_CHOICE_CHARS = 40

FILE_MESSAGE = "must be a URL, a data: URI or an existing file"


def _integer(_checker: Any, value: Any) -> bool:
    # JSON does not tell 5 from 5.0; models accept both for an int parameter
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


# types-jsonschema leaves `extend` unannotated; it returns a Validator class
_Validator = extend(  # type: ignore[no-untyped-call]
    Draft4Validator,
    type_checker=Draft4Validator.TYPE_CHECKER.redefine("integer", _integer),
)

FORMATS = FormatChecker(formats=())


@FORMATS.checks("uri")
def is_file_reference(value: object) -> bool:
    """Whether ``value`` is something the client can send for a file input.

    A ``data:`` URI, an ``http(s)`` URL, or the path of an existing local file (the
    client uploads it). Values that are not strings are left to the type check.
    """
    if not isinstance(value, str):
        return True
    if value.startswith("data:"):
        return "," in value
    if re.match(r"https?://[^\s/]+", value):
        return True
    try:
        return os.path.isfile(os.path.expanduser(value))
    except (OSError, ValueError):  # NUL bytes, over-long names
        return False


def _number(value: Any) -> TypeGuard[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return not isinstance(value, float) or math.isfinite(value)


def lower(schema: Any, top: bool = False, _depth: int = 0) -> Any:
    """Rewrite an OpenAPI 3.0 schema as JSON Schema Draft 4 that only constrains values.

    Parameters
    ----------
    schema : Any
        A (possibly broken) schema from a Cog document.
    top : bool
        True for an input's own schema: its ``nullable`` is handled by the caller
        (an empty value is "unset"), so it is not turned into a null branch here.

    Returns
    -------
    Any
        A schema ``jsonschema`` can run without raising: annotations are dropped, bad
        keyword values are dropped, local ``$ref``s point into `DOCUMENT_URI`, enums
        also accept their values converted to the declared type, and ``nullable``
        becomes ``anyOf`` with ``null``.
    """
    if isinstance(schema, bool):
        return schema
    if not isinstance(schema, Mapping) or _depth > 48:
        return {}
    out: dict[str, Any] = {}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        out["$ref"] = DOCUMENT_URI + ref
    declared = schema.get("type")
    if isinstance(declared, str) and declared in _TYPES:
        out["type"] = declared
    elif isinstance(declared, list):
        names = [t for t in declared if isinstance(t, str) and t in _TYPES]
        if names:
            out["type"] = names
    for key in _NUMERIC:
        if _number(schema.get(key)):
            out[key] = schema[key]
    if "multipleOf" in out and out["multipleOf"] <= 0:
        del out["multipleOf"]
    for key, alias in (("minimum", "ge"), ("maximum", "le")):
        if key not in out and _number(schema.get(alias)):
            out[key] = schema[alias]  # pydantic's names, leaked by Cog 0.8.6
    for key in ("exclusiveMinimum", "exclusiveMaximum"):
        if isinstance(schema.get(key), bool):
            out[key] = schema[key]
    for key in _COUNTS:
        value = schema.get(key)
        if _number(value) and value >= 0 and value == int(value):
            out[key] = int(value)
    if isinstance(schema.get("uniqueItems"), bool):
        out["uniqueItems"] = schema["uniqueItems"]
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
            out["pattern"] = pattern
        except (re.error, RecursionError, OverflowError):
            pass  # a broken pattern constrains nothing we could explain
    if schema.get("format") == "uri":
        out["format"] = "uri"
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        wanted = {declared} if isinstance(declared, str) else set(out.get("type", []))
        values = list(enum)
        for value in enum:
            converted = coerce_choice(value, wanted)
            if converted is not value and converted not in values:
                values.append(converted)
        out["enum"] = values
        out.pop("type", None)  # the listed values are the whole truth
    _lower_children(schema, out, _depth)
    if schema.get("nullable") is True and not top:
        return {"anyOf": [{"type": "null"}, out]}
    return out


def _lower_children(schema: Mapping[str, Any], out: dict[str, Any], depth: int) -> None:
    items = schema.get("items")
    if isinstance(items, (Mapping, bool)):
        out["items"] = lower(items, _depth=depth + 1)
    elif isinstance(items, list):
        out["items"] = [lower(i, _depth=depth + 1) for i in items]
    props = schema.get("properties")
    if isinstance(props, Mapping):
        out["properties"] = {
            str(k): lower(v, _depth=depth + 1) for k, v in props.items()
        }
    extra = schema.get("additionalProperties")
    if isinstance(extra, (Mapping, bool)):
        out["additionalProperties"] = lower(extra, _depth=depth + 1)
    required = schema.get("required")
    if isinstance(required, list) and required:
        names = sorted({r for r in required if isinstance(r, str)})
        if names:
            out["required"] = names
    for key in _SUBSCHEMA_LISTS:
        parts = schema.get(key)
        if isinstance(parts, list) and parts:
            out[key] = [lower(p, _depth=depth + 1) for p in parts]
    if isinstance(schema.get("not"), Mapping):
        out["not"] = lower(schema["not"], _depth=depth + 1)


def build_registry(document: Mapping[str, Any]) -> Registry[Any]:
    """Return a registry holding the document's lowered components."""
    components = document.get("components")
    schemas = components.get("schemas") if isinstance(components, Mapping) else None
    lowered: dict[str, Any] = {}
    if isinstance(schemas, Mapping):
        lowered = {str(k): lower(v) for k, v in schemas.items()}
    root = {"components": {"schemas": lowered}}
    resource: Resource[Any] = DRAFT4.create_resource(root)
    registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, resource)
    return registry


def compile_field(field: Field, registry: Registry[Any]) -> Validator | None:
    """Compile a validator for one input; None when its schema cannot be checked."""
    try:
        validator: Validator = _Validator(
            lower(field.schema, top=True), registry=registry, format_checker=FORMATS
        )
    except Exception:  # a schema we cannot compile must not block input
        return None
    return validator


def for_checking(value: Any) -> Any:
    """Stand in for file objects the client accepts (paths, bytes, open files)."""
    if isinstance(value, PurePath):
        return os.fspath(value)
    if isinstance(value, (bytes, bytearray, memoryview, io.IOBase)) or hasattr(
        value, "read"
    ):
        return "data:application/octet-stream;base64,"
    if isinstance(value, (list, tuple)):
        return [for_checking(v) for v in value]
    return value


def check(
    validator: Validator, value: Any, choices: tuple[Any, ...] | None = None
) -> str | None:
    """Return the most relevant problem with ``value`` as a sentence, or None.

    ``choices`` are the field's choices as the form shows them, used in the message
    instead of the validator's own (wider) list of accepted spellings.
    """
    try:
        error = best_match(validator.iter_errors(value))
    except Exception:  # a broken schema is not the person's mistake
        return None
    return None if error is None else describe(error, choices)


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    if isinstance(value, str):
        if len(value) > _MAX_CHOICE_CHARS:
            value = value[: _MAX_CHOICE_CHARS - 1] + "…"
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def choices_text(choices: list[Any] | tuple[Any, ...]) -> str:
    """``choose one of "a", "b" … (1001 choices)`` with long lists cut short."""
    shown = ", ".join(_show(c) for c in choices[:_MAX_CHOICES_SHOWN])
    if len(choices) > _MAX_CHOICES_SHOWN:
        shown += f", … ({len(choices)} choices)"
    return f"choose one of {shown}"


_TYPE_NAMES = {
    "integer": "a whole number",
    "number": "a number",
    "string": "text",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object (JSON)",
    "null": "empty",
}


def describe(error: ValidationError, choices: tuple[Any, ...] | None = None) -> str:
    """Turn a ``jsonschema`` error into a short message for the person.

    Messages never contain the offending value (it may be a secret); they say what
    the value must be instead.
    """
    keyword = error.validator
    expected: Any = error.validator_value
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    where = "".join(
        f"item {p + 1}: " if isinstance(p, int) else f"{p}: " for p in error.path
    )
    if keyword == "type":
        names = [expected] if isinstance(expected, str) else list(expected)
        text = " or ".join(_TYPE_NAMES.get(str(n), str(n)) for n in names)
        message = f"must be {text}"
    elif keyword == "enum":
        shown = choices if choices and not error.path else expected
        message = choices_text(list(shown))
    elif keyword == "minimum":
        word = "greater than" if schema.get("exclusiveMinimum") is True else "at least"
        message = f"must be {word} {_show(expected)}"
    elif keyword == "maximum":
        word = "less than" if schema.get("exclusiveMaximum") is True else "at most"
        message = f"must be {word} {_show(expected)}"
    elif keyword == "minLength":
        unit = "character" if expected == 1 else "characters"
        message = f"must be at least {expected} {unit} long"
    elif keyword == "maxLength":
        message = f"must be at most {expected} characters long"
    elif keyword == "pattern":
        message = f"must match the pattern {expected}"
    elif keyword == "format":
        message = FILE_MESSAGE
    elif keyword == "minItems":
        message = f"must have at least {expected} item{'s' if expected != 1 else ''}"
    elif keyword == "maxItems":
        message = f"must have at most {expected} item{'s' if expected != 1 else ''}"
    elif keyword == "multipleOf":
        message = f"must be a multiple of {_show(expected)}"
    elif keyword == "uniqueItems":
        message = "must not list the same item twice"
    elif keyword in ("anyOf", "oneOf"):
        message = "does not match any of the forms this input accepts"
    elif keyword == "required":
        given = error.instance if isinstance(error.instance, Mapping) else {}
        missing = [str(n) for n in expected if n not in given]
        message = (
            f"needs the key{'s' if len(missing) != 1 else ''} {', '.join(missing)}"
        )
    else:
        # never error.message: it quotes the value, which may be a secret
        message = f"does not satisfy the schema's {keyword!r} rule"
    return where + message
