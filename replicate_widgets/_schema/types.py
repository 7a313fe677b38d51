"""The value types of the schema layer: `Field`, `OutputSpec` and `SchemaError`.

They are plain frozen dataclasses so the form, the client and the tests can build,
compare and print them without touching any widget code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

FieldKind = Literal[
    "string",
    "text",
    "integer",
    "number",
    "boolean",
    "choice",
    "file",
    "secret",
    "array",
    "json",
]
"""How an input is edited: one widget per kind."""

OutputKind = Literal[
    "text",
    "text-stream",
    "file",
    "files",
    "file-stream",
    "object",
    "number",
    "boolean",
    "embedding",
    "json",
]
"""How an output is shown."""


class SchemaError(ValueError):
    """A model schema (or a value checked against it) that cannot be used as it is.

    Parameters
    ----------
    message : str
        What is wrong and what to do about it.
    field : str or None
        The input the problem is about, or None when it concerns the whole document.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnknownInputError(SchemaError, KeyError):
    """An input name the model does not take; the message names the close ones.

    A :class:`KeyError` too, as looking a name up in a mapping would raise.
    """

    def __str__(self) -> str:
        # KeyError would show the message quoted, as a key.
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Field:
    """One input of a model, ready to be drawn as a form control.

    Attributes
    ----------
    name : str
        The key sent in the prediction's ``input``.
    kind : FieldKind
        Which control edits it.
    title : str
        The label.
    description : str or None
        Help text (free text; may contain URLs or markdown).
    default : Any
        The schema's default (a ``number`` default is a float); None when there is none.
    has_default : bool
        Whether the schema gives a usable (non-null) default.
    required : bool
        Whether the API rejects a request without this key.
    nullable : bool
        Whether ``null`` is an accepted value (OpenAPI ``nullable``, ``anyOf`` with
        null, or ``default: null``).
    choices : tuple or None
        The allowed values of a ``choice`` field, with their JSON types kept.
    minimum, maximum : float or None
        Inclusive numeric bounds.
    min_length, max_length : int or None
        Bounds on the length of a string.
    pattern : str or None
        A regular expression the whole value must match somewhere (JSON Schema rules).
    accept : str or None
        Accepted media types of a ``file`` field (``x-cog-accept``), e.g. ``"image/*"``.
    deprecated : bool
        The model author marked the input as deprecated.
    items : Field or None
        For ``array`` fields: the field describing one element.
    x_order : int or None
        The position the model author gave the input.
    format : str or None
        The JSON Schema ``format`` (``uri``, ``password`` ...).
    schema : dict
        The resolved JSON schema of the property (``$ref``/``allOf`` merged).
    problem : str or None
        Why a field fell back to ``json`` (an unsupported or broken construct), so the
        form can tell the person; None for ordinary fields.
    """

    name: str
    kind: FieldKind
    title: str
    description: str | None = None
    default: Any = None
    has_default: bool = False
    required: bool = False
    nullable: bool = False
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    accept: str | None = None
    deprecated: bool = False
    items: Field | None = None
    x_order: int | None = None
    format: str | None = None
    schema: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    problem: str | None = None

    @property
    def multiline(self) -> bool:
        """Whether the value is long text (a prompt) rather than a one-line string."""
        return self.kind == "text"

    @property
    def secret(self) -> bool:
        """Whether the value is a secret, or a list of them (``list[Secret]``)."""
        return self.kind == "secret" or (
            self.items is not None and self.items.kind == "secret"
        )

    @property
    def optional(self) -> bool:
        """Whether the form may leave the field empty (it is then not sent)."""
        return not self.required or self.nullable

    def to_json(self) -> dict[str, Any]:
        """Describe the field as a JSON-safe dict for the browser.

        A secret's default is never included: the browser only ever sees None there.

        Returns
        -------
        dict
            The keys of the dataclass except ``schema``, plus ``multiline``.
        """
        secret = self.secret
        return {
            "name": self.name,
            "kind": self.kind,
            "title": self.title,
            "description": self.description,
            "default": None if secret else json_safe(self.default),
            "has_default": self.has_default and not secret,
            "required": self.required,
            "nullable": self.nullable,
            "choices": None
            if self.choices is None
            else [json_safe(c) for c in self.choices],
            "minimum": _finite(self.minimum),
            "maximum": _finite(self.maximum),
            "min_length": self.min_length,
            "max_length": self.max_length,
            "pattern": self.pattern,
            "accept": self.accept,
            "deprecated": self.deprecated,
            "items": None if self.items is None else self.items.to_json(),
            "x_order": self.x_order,
            "format": self.format,
            "multiline": self.multiline,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class OutputSpec:
    """What a model returns, reduced to how it should be shown.

    Attributes
    ----------
    kind : OutputKind
        ``text``; ``text-stream`` (tokens to concatenate as they arrive); ``file``;
        ``files``; ``file-stream`` (files arriving one by one, possibly in batches);
        ``object`` (see ``properties``); ``number``; ``boolean``; ``embedding``
        (numbers, or lists of numbers); ``json`` (anything else, or no Output).
    schema : dict
        The resolved JSON schema of the output.
    properties : dict of str to OutputSpec, or None
        For ``object``: one spec per property, in schema order.
    items : OutputSpec or None
        For array outputs: the spec of one element.
    iterator : bool
        Whether the model yields the output progressively (``x-cog-array-type``).
    """

    kind: OutputKind
    schema: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    properties: dict[str, OutputSpec] | None = None
    items: OutputSpec | None = None
    iterator: bool = False


def json_safe(value: Any, _depth: int = 0) -> Any:
    """Return ``value`` reduced to what ``JSON.parse`` can produce.

    Parameters
    ----------
    value : Any
        A value from a schema document (normally already JSON, but documents built in
        Python may hold anything).

    Returns
    -------
    Any
        None, bool, int, finite float, str, list or dict with string keys; anything
        else becomes its ``str``.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if _depth > 64:  # a self-containing list would otherwise recurse forever
        return None
    if isinstance(value, (list, tuple)):
        return [json_safe(v, _depth + 1) for v in value]
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, _depth + 1) for k, v in value.items()}
    return str(value)


def _finite(value: float | None) -> float | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
