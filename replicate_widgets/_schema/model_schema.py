"""A model's ``openapi_schema`` as an ordered list of form fields, plus its output kind.

Pure functions and values: no widgets and no network. `parse` accepts whatever the API
hands out (a model, a version, the document itself), `ModelSchema.validate` explains
what is wrong with a set of values, and `ModelSchema.to_input` builds the ``input`` of
a prediction request from them.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from jsonschema.protocols import Validator
from referencing import Registry

from replicate_widgets._secret_mask import SECRET_MASK

from .fields import build_field, pretty_title
from .output import build_output
from .refs import RefError, locate_document, resolve, schemas_of
from .types import Field, OutputSpec, SchemaError, UnknownInputError
from .validate import build_registry, check, compile_field, for_checking

__all__ = ["ModelSchema", "parse"]

UNREADABLE = "this input's schema could not be read"
"""Start of the ``problem`` of a field whose schema broke the reader itself."""


def _is_unset(f: Field, value: Any) -> bool:
    """Whether a form value means "leave this input out".

    None always does; so do a secret's mask, an empty string where text is not what the
    field holds (or where there is no default to override), and an empty list where
    there is no default to override.
    """
    if value is None:
        return True
    if isinstance(value, str):
        if f.secret and value == SECRET_MASK:
            return True
        if value == "":
            return f.kind not in ("string", "text") or not f.has_default
    if isinstance(value, (list, tuple)) and not value:
        return not f.has_default
    return False


def _same(a: Any, b: Any) -> bool:
    # True == 1 in Python, but a checkbox is not an integer input
    return a is b or (type(a) is type(b) and a == b)


def _strip_masks(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [v for v in value if v != SECRET_MASK]
    return value


@dataclass(frozen=True, eq=False)  # identity: hashable, usable as a cache key
class ModelSchema:
    """The inputs and output of one model (or of its training), ready for a form.

    Attributes
    ----------
    inputs : list of Field
        Sorted by ``x-order`` (fields without one last, in document order).
    output : OutputSpec
        How the prediction's output should be shown (``json`` when unknown).
    component : str
        Which component the inputs came from (``Input`` or ``TrainingInput``).
    raw : dict
        The OpenAPI document the schema was read from.
    """

    inputs: list[Field]
    output: OutputSpec
    component: str = "Input"
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def _by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.inputs}

    @cached_property
    def _registry(self) -> Registry[Any]:
        return build_registry(self.raw)

    @cached_property
    def _validators(self) -> dict[str, Validator | None]:
        # filled lazily: most forms only ever check the few fields a person touched
        return {}

    @property
    def has_training(self) -> bool:
        """Whether the document also describes a training form (``TrainingInput``)."""
        try:
            return isinstance(schemas_of(self.raw).get("TrainingInput"), Mapping)
        except (KeyError, TypeError, AttributeError):
            return False

    def field(self, name: str) -> Field:
        """Return the input called ``name``.

        Raises
        ------
        KeyError
            With the closest input names, when there is no such input.
        """
        try:
            return self._by_name[name]
        except (KeyError, TypeError):
            raise UnknownInputError(self._unknown(name), field=str(name)) from None

    def _unknown(self, name: Any) -> str:
        close = difflib.get_close_matches(str(name), list(self._by_name), n=3)
        if close:
            options = " or ".join(close)
            return f"{name!r} is not an input of this model; did you mean {options}?"
        names = list(self._by_name)
        shown = ", ".join(names[:12]) + (
            f" … ({len(names)} inputs)" if len(names) > 12 else ""
        )
        return f"{name!r} is not an input of this model (its inputs: {shown or 'none'})"

    def defaults(self) -> dict[str, Any]:
        """Return the form's initial values: every usable default, secrets left empty.

        Returns
        -------
        dict
            Field name to default, in field order.
        """
        return {
            f.name: f.default for f in self.inputs if f.has_default and not f.secret
        }

    def _validator(self, f: Field) -> Validator | None:
        if f.name not in self._validators:
            self._validators[f.name] = compile_field(f, self._registry)
        return self._validators[f.name]

    def validate(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Check form values; return what is wrong with each field.

        Parameters
        ----------
        values : Mapping
            Field name to value. Missing keys, None and empty text mean "not set".
            File inputs take URLs, ``data:`` URIs, local paths (``str`` or
            ``pathlib.Path``), bytes or open files.

        Returns
        -------
        dict of str to str
            Field name to a message such as ``"must be at most 50"``; empty when every
            value is acceptable. A value equal to the schema's own default is always
            accepted, even when the schema contradicts itself.
        """
        if not isinstance(values, Mapping):
            return {"": "values must be a dict of input name to value"}
        errors: dict[str, str] = {}
        for name in values:
            if name not in self._by_name:
                errors[str(name)] = self._unknown(name)
        for f in self.inputs:
            present = f.name in values
            value = values.get(f.name)
            if not present or _is_unset(f, value):
                null_sent = present and value is None and f.nullable
                if f.required and not f.has_default and not null_sent:
                    errors[f.name] = "is required"
                continue
            if f.has_default and _same(value, f.default):
                continue
            validator = self._validator(f)
            if validator is None:
                continue
            message = check(validator, for_checking(value), f.choices)
            if message is not None:
                errors[f.name] = message
        return errors

    def to_input(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Build a prediction's ``input`` from form values.

        Only set fields are sent: unset optional fields are left to the model's own
        defaults, a secret's mask is never sent, and files stay as given (the client
        turns paths and bytes into data URLs or uploads).

        Parameters
        ----------
        values : Mapping
            Field name to value, as for `validate`.

        Returns
        -------
        dict
            The request's ``input``, in field order.

        Raises
        ------
        SchemaError
            When ``values`` names an input the model does not have.
        """
        for name in values:
            if name not in self._by_name:
                raise SchemaError(self._unknown(name), field=str(name))
        out: dict[str, Any] = {}
        for f in self.inputs:
            if f.name not in values:
                if f.required and f.has_default:
                    out[f.name] = f.default  # a default the API insists on receiving
                continue
            value = values[f.name]
            if _is_unset(f, value):
                if value is None and f.required and f.nullable:
                    out[f.name] = None
                continue
            if f.secret:
                value = _strip_masks(value)
            if f.kind == "integer" and isinstance(value, float) and value.is_integer():
                value = int(value)
            if (
                f.kind == "integer"
                and _same(value, f.default)
                and not isinstance(value, int)
            ):
                # a non-integer default (13.5) is the model's own: let it apply itself
                continue
            out[f.name] = value
        return out

    def to_json(self) -> dict[str, Any]:
        """Describe the whole form for the browser: component, fields, output kind."""
        return {
            "component": self.component,
            "fields": [f.to_json() for f in self.inputs],
            "output": {"kind": self.output.kind, "iterator": self.output.iterator},
        }


def _output_name(component: str) -> str:
    if component.endswith("Input"):
        return component[: -len("Input")] + "Output"
    return component + "Output"


def _field_or_fallback(
    document: Mapping[str, Any], name: str, prop: Any, required: bool
) -> Field:
    try:
        return build_field(document, name, prop, required)
    except Exception as exc:  # one odd input must not hide the whole form
        order = prop.get("x-order") if isinstance(prop, Mapping) else None
        return Field(
            name=name,
            kind="json",
            title=pretty_title(name),
            required=required,
            x_order=order
            if isinstance(order, int) and not isinstance(order, bool)
            else None,
            problem=f"{UNREADABLE} ({type(exc).__name__}); edit it as JSON",
        )


def parse(doc: Mapping[str, Any], component: str = "Input") -> ModelSchema:
    """Read a model's inputs and output from its OpenAPI schema.

    Parameters
    ----------
    doc : Mapping
        A full OpenAPI document, a version object (``openapi_schema``), a model object
        (``latest_version.openapi_schema``) or a bare
        ``{"components": {"schemas": ...}}``. A missing ``Output`` is fine.
    component : str
        ``"Input"`` for the prediction form, ``"TrainingInput"`` for the training form.

    Returns
    -------
    ModelSchema
        Fields sorted by ``x-order``; constructs the form cannot draw become ``json``
        fields carrying a ``problem``.

    Raises
    ------
    SchemaError
        When the document has no such component, or the component is not an object
        schema; the message says what to pass instead.
    """
    if not isinstance(component, str):
        raise SchemaError(
            f"component must be a name such as 'Input', got {component!r}"
        )
    document = locate_document(doc)
    schemas = schemas_of(document)
    if component not in schemas:
        if component == "TrainingInput":
            raise SchemaError(
                "this model cannot be trained: its schema has no TrainingInput; "
                "use component='Input' for predictions"
            )
        found = ", ".join(str(k) for k in schemas if str(k).endswith("Input")) or "none"
        raise SchemaError(
            f"the schema has no {component!r} component (input components found: "
            f"{found}); pass component='Input' for predictions"
        )
    try:
        spec = resolve(document, schemas[component])
    except RefError as exc:
        raise SchemaError(f"the {component} schema cannot be read: {exc}") from None
    props = spec.get("properties", {})
    if not isinstance(props, Mapping):
        raise SchemaError(
            f"{component}.properties must be an object mapping input names to schemas; "
            "the document is damaged, fetch the version's openapi_schema again"
        )
    listed = spec.get("required")
    required = (
        {r for r in listed if isinstance(r, str)} if isinstance(listed, list) else set()
    )
    fields = [
        _field_or_fallback(document, str(name), prop, str(name) in required)
        for name, prop in props.items()
    ]
    position = {id(f): i for i, f in enumerate(fields)}
    fields.sort(key=lambda f: (f.x_order is None, f.x_order or 0, position[id(f)]))
    output = build_output(document, schemas.get(_output_name(component)))
    return ModelSchema(inputs=fields, output=output, component=component, raw=document)
