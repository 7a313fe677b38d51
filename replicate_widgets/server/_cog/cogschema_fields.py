"""Cog's rules for one predictor's inputs and output, as JSON Schema fragments.

Part of the schema generator (see ``_cogschema``); it imports cog, so only the
short-lived ``_schema_worker`` process loads it.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import inspect
import os
import pathlib
import typing
from collections.abc import Callable
from typing import Any

import cog
from cog import _adt as adt
from cog.input import FieldInfo
from cog.model import BaseModel as CogBaseModel
from cog.types import AsyncConcatenateIterator, ConcatenateIterator

from replicate_widgets._secret_mask import SECRET_MASK

__all__ = [
    "JSON",
    "SchemaError",
    "function_node",
    "input_schema",
    "is_named",
    "output_schema",
    "title_case",
]

JSON = dict[str, Any]


class SchemaError(ValueError):
    """A predictor uses a construct Cog cannot describe in a schema."""


def title_case(name: str) -> str:
    """Title-case a parameter name like Cog's Go ``TitleCase``.

    Parameters
    ----------
    name
        A Python identifier such as ``max_new_tokens``.

    Returns
    -------
    str
        ``"Max New Tokens"``: only first letters are upper-cased, the rest is kept.
    """
    return " ".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _json_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return _json_value(value.value)
    if isinstance(value, cog.Secret):
        # Cog renders a Secret default as a mask so the value never leaks.
        return SECRET_MASK
    if isinstance(value, (os.PathLike, pathlib.PurePath)):
        return str(value)
    if isinstance(value, (list, tuple, set)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


# ------------------------------------------------------------------ ast helpers
def function_node(fn: Callable[..., Any]) -> ast.FunctionDef | ast.AsyncFunctionDef:
    source = inspect.getsource(fn)
    if source[:1].isspace():  # a method: dedent so ast can parse it alone
        source = inspect.cleandoc("\n" + source)
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.name == fn.__name__
        ):
            return node
    raise SchemaError(f"cannot find the source of {fn.__qualname__}()")


def is_named(expr: ast.expr, name: str) -> bool:
    target = expr.func if isinstance(expr, ast.Call) else expr
    return (isinstance(target, ast.Name) and target.id == name) or (
        isinstance(target, ast.Attribute) and target.attr == name
    )


def _explicit_defaults(node: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, bool]:
    """Map each parameter with a default to whether that default is explicit.

    ``x: int = Input(description=...)`` has a ``FieldInfo`` default at run time but
    no default in Cog's eyes; only ``Input(default=...)`` or a
    plain ``= value`` count.
    """
    params = node.args.args
    defaults = node.args.defaults
    out: dict[str, bool] = {}
    for param, default in zip(
        params[len(params) - len(defaults) :], defaults, strict=True
    ):
        if isinstance(default, ast.Call) and is_named(default, "Input"):
            out[param.arg] = bool(default.args) or any(
                k.arg == "default" for k in default.keywords
            )
        else:
            out[param.arg] = True
    return out


# --------------------------------------------------------------------- outputs
_PRIMITIVES: dict[Any, str] = {
    str: "STRING",
    int: "INTEGER",
    float: "FLOAT",
    bool: "BOOL",
    cog.Path: "PATH",
    cog.File: "FILE",
    cog.Secret: "SECRET",
}
_ITERATORS = {
    typing.get_origin(typing.Iterator),
    typing.get_origin(typing.AsyncIterator),
}
_CONCATENATE = (ConcatenateIterator, AsyncConcatenateIterator)


def _primitive(tp: Any) -> JSON | None:
    name = _PRIMITIVES.get(tp)
    return dict(adt.PrimitiveType[name].json_type()) if name else None


def _optional_inner(tp: Any) -> tuple[Any, bool]:
    if adt._is_union(tp):
        args = typing.get_args(tp)
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and len(args) == 2:
            return rest[0], True
    return tp, False


def _model_fields(tp: Any) -> list[tuple[str, Any, bool]] | None:
    """Return ``(name, annotation, has_default)`` for an object-like output type."""
    hints = typing.get_type_hints(tp, include_extras=True)
    if dataclasses.is_dataclass(tp) or issubclass(tp, CogBaseModel):
        return [
            (
                f.name,
                hints.get(f.name, f.type),
                f.default is not dataclasses.MISSING
                or f.default_factory is not dataclasses.MISSING,
            )
            for f in dataclasses.fields(tp)
        ]
    if hasattr(tp, "model_fields"):  # a pydantic v2 model
        return [
            (n, hints.get(n, fi.annotation), not fi.is_required())
            for n, fi in tp.model_fields.items()
        ]
    if adt._is_dict_like(tp) and tp is not dict:  # a TypedDict
        required = getattr(tp, "__required_keys__", set(hints))
        # Required/NotRequired exist from Python 3.11 only.
        wrappers = {
            getattr(typing, "Required", None),
            getattr(typing, "NotRequired", None),
        }
        fields = []
        for n, t in hints.items():
            inner = typing.get_args(t)[0] if typing.get_origin(t) in wrappers else t
            fields.append((n, inner, n not in required))
        return fields
    return None


def output_schema(tp: Any, seen: tuple[Any, ...] = ()) -> JSON:
    """Describe a return annotation as Cog's ``SchemaType`` does.

    Parameters
    ----------
    tp
        The annotation (``str``, ``list[Path]``, ``Iterator[str]``, a BaseModel...).
    seen
        Object types being expanded, to cut recursion to ``{"type": "object"}``.

    Returns
    -------
    dict
        The JSON Schema fragment (without the top-level ``title``).
    """
    inner, opaque = adt._unwrap_opaque(tp)
    if opaque:
        base = typing.get_origin(inner) or inner
        if base in (list, typing.List):  # noqa: UP006
            return {"type": "array", "items": {"type": "object"}}
        return {"type": "object"}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return output_schema(args[0], seen)
    primitive = _primitive(tp)
    if primitive is not None:
        return primitive
    if tp in (Any, dict, typing.Dict):  # noqa: UP006
        return {"type": "object"}
    if tp in (list, typing.List):  # noqa: UP006
        return {"type": "array", "items": {"type": "object"}}
    if origin is dict:
        if not args:
            return {"type": "object"}
        return {"type": "object", "additionalProperties": output_schema(args[1], seen)}
    if origin is list:
        return {"type": "array", "items": output_schema(args[0], seen)}
    if origin in _CONCATENATE or tp in _CONCATENATE:
        if args and args[0] is not str:
            raise SchemaError("ConcatenateIterator must yield str")
        return {
            "type": "array",
            "items": {"type": "string"},
            "x-cog-array-type": "iterator",
            "x-cog-array-display": "concatenate",
        }
    if origin in _ITERATORS:
        return {
            "type": "array",
            "items": output_schema(args[0], seen),
            "x-cog-array-type": "iterator",
        }
    if adt._is_union(tp):
        raise SchemaError(
            "Optional or Union return types are not supported; return one type "
            "(use a BaseModel with optional fields instead)"
        )
    fields = _model_fields(tp) if inspect.isclass(tp) else None
    if fields is None:
        raise SchemaError(f"unsupported output type {tp!r}")
    if tp in seen:
        return {"type": "object"}
    props: JSON = {}
    required: list[str] = []
    for name, field_tp, has_default in fields:
        field_inner, nullable = _optional_inner(field_tp)
        prop = output_schema(field_inner, (*seen, tp))
        prop["title"] = title_case(name)
        if nullable:
            prop["nullable"] = True
        elif not has_default:
            required.append(name)
        props[name] = prop
    schema: JSON = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


# ---------------------------------------------------------------------- inputs
_NUMERIC_KEYS = (
    ("minimum", "ge"),
    ("maximum", "le"),
    ("minLength", "min_length"),
    ("maxLength", "max_length"),
    ("pattern", "regex"),
)


def _input_property(
    name: str, field: Any, param: inspect.Parameter, explicit: bool, enums: JSON
) -> tuple[JSON, bool]:
    """Build one ``Input`` property; return it and whether it is required."""
    ft = field.type
    raw = param.default
    info = raw if isinstance(raw, FieldInfo) else None
    has_default = raw is not inspect.Parameter.empty and explicit
    default = info.default if info is not None else raw

    prop: JSON = {"x-order": field.order}
    if field.choices is not None:
        enums[name] = {
            "title": name,
            "description": "An enumeration.",
            "enum": [_json_value(c) for c in field.choices],
            "type": ft.primitive.json_type().get("type", "string"),
        }
        prop["allOf"] = [{"$ref": f"#/components/schemas/{name}"}]
    else:
        prop["title"] = title_case(name)
        fragment = ft.json_type()
        if ft.union_variants is not None and ft.repetition is adt.Repetition.OPTIONAL:
            for variant in fragment["anyOf"]:
                variant["nullable"] = True
        prop.update(fragment)

    optional = (adt.Repetition.OPTIONAL, adt.Repetition.OPTIONAL_REPEATED)
    nullable = ft.repetition in optional
    if (
        ft.primitive is adt.PrimitiveType.SECRET
        and ft.repetition is adt.Repetition.REQUIRED
        and has_default
        and default is None
    ):
        nullable = True  # the `api_key: Secret = Input(default=None)` idiom
    # Go drops `default=None` on a non-nullable type: such a field is required.
    effective = has_default and not (default is None and not nullable)
    required = not effective and (
        ft.union_variants is not None
        or ft.repetition in (adt.Repetition.REQUIRED, adt.Repetition.REPEATED)
    )
    if effective:
        prop["default"] = _json_value(default)
    if nullable:
        prop["nullable"] = True
    if field.description is not None:
        prop["description"] = field.description
    for key, attr in _NUMERIC_KEYS:
        value = getattr(field, attr)
        if value is not None:
            # Go prints integral bounds as integers (`1`, not `1.0`).
            integral = isinstance(value, float) and value.is_integer()
            prop[key] = int(value) if integral else value
    if field.deprecated:
        prop["deprecated"] = True
    if info is not None and info.accept is not None:
        prop["x-cog-accept"] = info.accept
    return prop, required


def input_schema(info: Any, fn: Callable[..., Any]) -> tuple[JSON, JSON]:
    """Build ``Input`` and the enum components for a run/predict/train function.

    Parameters
    ----------
    info
        ``cog._adt.PredictorInfo`` from cog's inspector.
    fn
        The unwrapped function, for its signature and source.

    Returns
    -------
    tuple of dict
        The ``Input`` schema and a mapping of enum component name to schema.
    """
    signature = inspect.signature(fn)
    explicit = _explicit_defaults(function_node(fn))
    props: JSON = {}
    required: list[str] = []
    enums: JSON = {}
    for name, field in info.inputs.items():
        prop, is_required = _input_property(
            name, field, signature.parameters[name], explicit.get(name, False), enums
        )
        props[name] = prop
        if is_required:
            required.append(name)
    schema: JSON = {"title": "Input", "type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema, enums
