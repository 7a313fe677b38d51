"""Prediction inputs: validation against a version's schema, and clean-up.

Replicate validates ``input`` before queueing and answers 422 with
``invalid_fields``; the backend does the same so a bad input never reaches
coglet. Cog writes OpenAPI 3.0 schemas, so ``nullable`` is turned into a JSON
Schema ``null`` branch, and ``format: uri`` accepts ``data:`` URIs (Replicate
takes small files that way). Secrets (see ``replicate_widgets._secret_mask``) are
masked for storage and never quoted in an error.

An explicit ``null`` for a named input means "not given", as on Replicate: it
is dropped before validation, so the model gets the input's default (and a
required input is reported as missing). coglet alone would reject it, even for
an ``Optional`` input.
"""

from __future__ import annotations

import copy
import urllib.parse
from typing import Any

import jsonschema

from replicate_widgets._secret_mask import SecretMask


def _uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if value.startswith("data:"):
        return "," in value
    return bool(urllib.parse.urlsplit(value).scheme)


_FORMATS = jsonschema.FormatChecker(formats=())
_FORMATS.checks("uri")(_uri)


def _nullable_to_null(node: Any) -> Any:
    """Return a copy of a schema where ``nullable: true`` admits ``null``."""
    if isinstance(node, list):
        return [_nullable_to_null(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _nullable_to_null(value) for key, value in node.items()}
    if out.pop("nullable", False) is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


def input_properties(openapi: dict[str, Any], name: str = "Input") -> dict[str, Any]:
    """Return the ``properties`` of a version's ``Input`` (or ``name``) schema."""
    schemas = openapi.get("components", {}).get("schemas", {})
    props = schemas.get(name, {}).get("properties", {})
    return props if isinstance(props, dict) else {}


class InputSchema:
    """The checks and rewrites derived from one version's ``openapi_schema``.

    Parameters
    ----------
    openapi
        The version's ``openapi_schema``.
    name
        The schema to check against: ``Input``, or ``TrainingInput``.
    """

    def __init__(self, openapi: dict[str, Any], name: str = "Input") -> None:
        components = _nullable_to_null(copy.deepcopy(openapi.get("components", {})))
        schema = components.get("schemas", {}).get(name)
        has_input = schema is not None
        # The input schema itself is the root (with the components its own
        # references point into): through a top-level reference, each check
        # would resolve it again, which was half of checking a small input.
        root: dict[str, Any] = (
            {**schema, "components": components}
            if isinstance(schema, dict) and "$ref" not in schema
            else {
                "allOf": [{"$ref": f"#/components/schemas/{name}"}],
                "components": components,
            }
        )
        self._validator = (
            jsonschema.Draft4Validator(root, format_checker=_FORMATS)
            if has_input
            else None
        )
        props = input_properties(openapi, name)
        self.secrets = SecretMask(openapi, name)
        self.file_fields = frozenset(
            k
            for k, v in props.items()
            if v.get("format") == "uri" or v.get("items", {}).get("format") == "uri"
        )

    def errors(self, value: Any) -> list[dict[str, str]]:
        """Return Replicate-style ``invalid_fields`` for ``value`` (empty if ok)."""
        if not isinstance(value, dict):
            return [
                {
                    "type": "type",
                    "field": "input",
                    "description": "input must be a JSON object of named inputs",
                }
            ]
        if self._validator is None:
            return []
        value = self.for_model(value)
        out = []
        for error in sorted(self._validator.iter_errors(value), key=str):
            path = ".".join(str(p) for p in error.absolute_path)
            field = f"input.{path}" if path else "input"
            description = error.message
            if error.validator == "required":
                missing = str(error.message).split("'")[1]
                description = f"{missing} is required"
            elif self.secrets.hides(value, list(error.absolute_path)):
                # jsonschema's message quotes the value, here a secret
                description = _hidden_description(error)
            out.append(
                {
                    "type": str(error.validator),
                    "field": field,
                    "description": description,
                }
            )
        return out

    def for_model(self, value: dict[str, Any]) -> dict[str, Any]:
        """Return the input as the model gets it: explicit nulls omitted.

        Replicate treats ``"name": null`` as an input left out (the model gets
        its default); coglet would reject it, so the key is dropped.
        """
        return {k: v for k, v in value.items() if v is not None}

    def masked(self, value: dict[str, Any]) -> dict[str, Any]:
        """Return the input with every secret in it masked, for storage."""
        masked: dict[str, Any] = self.secrets.mask(value)
        return masked


_HIDDEN = {
    "type": "must be of type {}",
    "minItems": "must have at least {} item(s)",
    "maxItems": "must have at most {} item(s)",
    "minLength": "must be at least {} character(s) long",
    "maxLength": "must be at most {} character(s) long",
    "pattern": "must match the pattern {}",
    "anyOf": "does not match any of the forms this input accepts",
    "oneOf": "does not match exactly one of the forms this input accepts",
}


def _hidden_description(error: jsonschema.ValidationError) -> str:
    """Say what a secret value must be, without quoting it."""
    expected = error.validator_value
    if error.validator == "type" and isinstance(expected, list):
        expected = " or ".join(map(str, expected))
    template = _HIDDEN.get(str(error.validator))
    what = (
        template.format(expected)
        if template
        else f"does not satisfy the schema's {error.validator!r} rule"
    )
    return f"{what} (the value is not shown because it is secret)"


def output_is_iterator(openapi: dict[str, Any]) -> bool:
    """Return whether the version's output is a list (iterator or list return)."""
    output = openapi.get("components", {}).get("schemas", {}).get("Output", {})
    return isinstance(output, dict) and output.get("type") == "array"


def format_invalid_fields(fields: list[dict[str, str]]) -> str:
    """Return the ``detail`` text that lists ``invalid_fields``."""
    return "".join(f"- {f['field']}: {f['description']}\n" for f in fields)
