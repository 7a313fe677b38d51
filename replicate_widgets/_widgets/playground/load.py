"""How a Playground finds its model, and turns outputs into Python values."""

from __future__ import annotations

import difflib
import io
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from replicate_widgets._client.checks import short_ref
from replicate_widgets._client.errors import NotFoundError, ReplicateError
from replicate_widgets._client.types import Model, Version
from replicate_widgets._schema.secrets import has_mask
from replicate_widgets._widgets.model_lookup import find_model, split_ref

if TYPE_CHECKING:
    from replicate_widgets._client.client import Client
    from replicate_widgets._schema.model_schema import ModelSchema
    from replicate_widgets._widgets.media import MediaItem


class Resolved(NamedTuple):
    """What a Playground needs to know about its model."""

    doc: Mapping[str, Any]
    """The version's ``openapi_schema`` (or a document holding it)."""
    ref: str | None
    """What to run: ``owner/name:version``, ``owner/name`` or a version id."""
    title: str
    """The Playground's heading."""
    example: Mapping[str, Any] | None = None
    """The model's default example input, when the model was looked up by name."""


def resolve(
    client: Client, model: str | Version | Model | Mapping[str, Any]
) -> Resolved:
    """Return the schema, reference to run, title and default example of ``model``."""
    if isinstance(model, str):
        owner, name, version_id = split_ref(model)
        found = find_model(client, model)
        if version_id:
            # A 64-character id would crowd the title: its first digits identify it.
            return Resolved(
                _schema_of(found.version or {}), found.ref, short_ref(found.ref)
            )
        if not found.version_id and not found.official:
            raise ValueError(
                f"{owner}/{name} has no versions yet, so there is nothing to run. "
                "Push a version (or run a training) first."
            )
        return Resolved(
            _schema_of(found.version or {}), found.ref, f"{owner}/{name}", found.example
        )
    if isinstance(model, Model):
        return resolve(client, f"{model.owner}/{model.name}")
    if isinstance(model, Version):
        return Resolved(_schema_of(model), model.id, f"version {short_ref(model.id)}")
    if isinstance(model, Mapping):
        if "owner" in model and "name" in model and "latest_version" in model:
            return resolve(client, f"{model['owner']}/{model['name']}")
        vid = model.get("id")
        version_ref = vid if isinstance(vid, str) and vid else None
        return Resolved(
            _schema_of(model), version_ref, f"version {short_ref(str(vid))}"
        )
    raise TypeError(
        "Playground() takes 'owner/name', 'owner/name:version', a Version, a Model "
        f"or their JSON, not {type(model).__name__}."
    )


def _schema_of(version: Version | Mapping[str, Any]) -> Mapping[str, Any]:
    doc = (
        version.openapi_schema
        if isinstance(version, Version)
        else version.get("openapi_schema", version)
    )
    if not doc:
        raise ValueError(
            "This version has no openapi_schema, so no form can be built for it. "
            "Pick another version, or run it with client.run(...) and raw input."
        )
    return doc


def pythonic(value: Any, files: Mapping[str, MediaItem], client: Client) -> Any:
    if isinstance(value, str) and (value.startswith(("http://", "https://", "data:"))):
        item = files.get(value)
        data, kind = (item.data, item.kind) if item else _read(client, value)
        if kind == "image":
            from PIL import Image

            return Image.open(io.BytesIO(data))
        return data
    if isinstance(value, list):
        return [pythonic(v, files, client) for v in value]
    if isinstance(value, dict):
        return {k: pythonic(v, files, client) for k, v in value.items()}
    return value


def _read(client: Client, url: str) -> tuple[bytes, str]:
    from replicate_widgets._client.sniff import sniff_mime
    from replicate_widgets._widgets.media import media_kind

    content = client.read(url)
    return content.data, media_kind(sniff_mime(content.data, content.content_type, url))


def explain(exc: BaseException, model: object, client: Client | None) -> str:
    if isinstance(exc, NotFoundError) and client is not None and client.is_local:
        return _not_found_locally(model, client)
    return str(exc) or type(exc).__name__


def local_model_names(client: Client) -> list[str]:
    """Return ``owner/name`` of every model on a local backend (``[]`` for the cloud).

    The local backend lists a handful of models in one page; the cloud has far too
    many to list for a hint.
    """
    if not client.is_local:
        return []
    try:
        return sorted(f"{m.owner}/{m.name}" for m in client.models.list())
    except ReplicateError:
        return []


def did_you_mean(model: object, names: list[str]) -> str:
    """Return `` Did you mean a/b?`` for a mistyped model reference, or ``""``."""
    wanted = model.strip().split(":")[0] if isinstance(model, str) else ""
    close = difflib.get_close_matches(wanted, names, n=3)
    return f" Did you mean {' or '.join(close)}?" if close else ""


def _not_found_locally(model: object, client: Client) -> str:
    names = local_model_names(client)
    listing = "\n".join(f"  - {n}" for n in names) or "  (none)"
    return (
        f"{model} is not on the local backend ({client.base_url})."
        f"{did_you_mean(model, names)}\n"
        f"Models you can run locally:\n{listing}\n"
        "To use Replicate's cloud models, call replicate_widgets.login() or set "
        "REPLICATE_API_TOKEN, then create the Playground again (or pass "
        'backend="cloud").'
    )


def example_values(
    example: Mapping[str, Any] | None, schema: ModelSchema
) -> dict[str, Any]:
    """Return the inputs of a default example that this version's form can take.

    The example may come from an older version, so inputs the schema does not
    know, values it rejects, and secrets (shown masked) are left out; the form
    keeps its defaults for those.
    """
    if not example:
        return {}
    fields = {f.name: f for f in schema.inputs}
    usable = {
        name: value
        for name, value in example.items()
        if name in fields
        and not fields[name].secret
        and value is not None
        and not has_mask(value)  # a secret masked inside an object
    }
    errors = schema.validate(usable)
    return {name: value for name, value in usable.items() if name not in errors}
