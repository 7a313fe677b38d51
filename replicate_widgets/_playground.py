"""Playground: name a model, fill its form, press Run, watch the prediction live."""

from __future__ import annotations

import asyncio
import concurrent.futures
import html
import io
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets

from ._backend import describe_backend, resolve_client
from ._errors import ModelError, NotFoundError, ReplicateError
from ._form import InputForm
from ._loop import submit
from ._panel import PredictionPanel
from ._schema import ModelSchema, SchemaError, parse
from ._types import Model, Prediction, Version

if TYPE_CHECKING:
    from ._client import Client
    from ._media import MediaItem

__all__ = ["Playground"]

_LOCAL_BG = "var(--jp-warn-color3,#fff3cd)"
_CLOUD_BG = "var(--jp-layout-color2,#eee)"
_REF = re.compile(r"^([\w.-]+)/([\w.-]+)(?::([0-9a-f]{64}))?$")


class Playground(ipywidgets.VBox):  # type: ignore[misc]
    """An input form, Run and Cancel, and a live prediction panel for one model.

    Parameters
    ----------
    model
        ``"owner/name"`` (latest version), ``"owner/name:<version id>"``, a
        :class:`~replicate_widgets._types.Version` or :class:`Model`, or their JSON.
    client
        The client to use; default: chosen by ``backend`` / the environment
        (a token means api.replicate.com, no token means the local backend).
    backend
        ``"local"``, ``"cloud"`` or a base URL, when ``client`` is not given.

    Examples
    --------
    >>> pg = Playground("replicate/hello-world")  # doctest: +SKIP
    >>> pg.run(text="Alice").output  # doctest: +SKIP
    'hello Alice'
    """

    def __init__(
        self,
        model: str | Version | Model | Mapping[str, Any],
        *,
        client: Client | None = None,
        backend: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._header = ipywidgets.HTML()
        self._message = ipywidgets.HTML()
        self._message.add_class("rw-playground-message")
        super().__init__(children=[self._header, self._message], **kwargs)
        self.add_class("rw-playground")
        self.form: InputForm | None = None
        """The input form (``None`` when the model could not be loaded)."""
        self.panel = PredictionPanel()
        """The live prediction panel."""
        self.schema: ModelSchema | None = None
        """The model's parsed input/output schema."""
        self.error: str | None = None
        """Why the model could not be loaded, if it could not."""
        self._ref: str | None = None
        self._title = ""
        self._job: concurrent.futures.Future[Prediction] | None = None
        try:
            self.client = client if client is not None else resolve_client(backend)
        except (ReplicateError, ValueError, RuntimeError, OSError) as exc:
            self._fail(_explain(exc, model, None))
            return
        self._load(model)

    # -- loading -------------------------------------------------------------------

    def _load(self, model: str | Version | Model | Mapping[str, Any]) -> None:
        try:
            doc, self._ref, self._title = self._resolve(model)
            self.schema = parse(doc)
        except (ReplicateError, SchemaError, ValueError, TypeError) as exc:
            self._fail(_explain(exc, model, self.client))
            return
        self.form = InputForm(self.schema)
        self.form.on_submit(self._on_submit)
        self.panel = PredictionPanel(output=self.schema.output, client=self.client)
        self._show_header()
        self.children = [self._header, self._message, self.form, self.panel]

    def _resolve(
        self, model: str | Version | Model | Mapping[str, Any]
    ) -> tuple[Mapping[str, Any], str | None, str]:
        if isinstance(model, str):
            match = _REF.match(model.strip())
            if not match:
                raise ValueError(
                    f"{model!r} is not a model reference. Use 'owner/name' or "
                    "'owner/name:<64-character version id>', e.g. "
                    "'replicate/hello-world'."
                )
            owner, name, version_id = match.groups()
            if version_id:
                version = self.client.versions.get(f"{owner}/{name}", version_id)
                return _schema_of(version), f"{owner}/{name}:{version_id}", model
            found = self.client.models.get(f"{owner}/{name}")
            latest = found.latest_version or {}
            if not latest.get("id") and not found.is_official:
                raise ValueError(
                    f"{owner}/{name} has no versions yet, so there is nothing to run. "
                    "Push a version (or run a training) first."
                )
            ref = (
                f"{owner}/{name}"
                if found.is_official or not latest.get("id")
                else f"{owner}/{name}:{latest['id']}"
            )
            return _schema_of(latest), ref, f"{owner}/{name}"
        if isinstance(model, Model):
            return self._resolve(f"{model.owner}/{model.name}")
        if isinstance(model, Version):
            return _schema_of(model), model.id, f"version {model.id[:12]}"
        if isinstance(model, Mapping):
            if "owner" in model and "name" in model and "latest_version" in model:
                return self._resolve(f"{model['owner']}/{model['name']}")
            vid = model.get("id")
            version_ref = vid if isinstance(vid, str) and vid else None
            return _schema_of(model), version_ref, f"version {str(vid)[:12]}"
        raise TypeError(
            "Playground() takes 'owner/name', 'owner/name:version', a Version, a Model "
            f"or their JSON, not {type(model).__name__}."
        )

    def _show_header(self) -> None:
        badge = describe_backend(self.client.base_url)
        local = badge == "local backend"
        self._header.value = (
            '<div class="rw-playground-header" style="display:flex;gap:8px;'
            'align-items:center;font-family:var(--jp-ui-font-family)">'
            f'<b style="font-size:var(--jp-content-font-size2,1.2em)">'
            f"{html.escape(self._title)}</b>"
            f'<span class="rw-badge" data-backend="{"local" if local else "cloud"}" '
            'style="padding:1px 8px;border-radius:10px;font-size:11px;'
            "border:1px solid var(--jp-border-color1,#bbb);"
            f'background:{_LOCAL_BG if local else _CLOUD_BG}">'
            f"{html.escape(badge)}</span></div>"
        )

    def _fail(self, message: str) -> None:
        self.error = message
        self._message.value = (
            '<div class="rw-playground-error" role="alert" style="padding:8px 10px;'
            "border-left:4px solid var(--jp-error-color1,#c62828);"
            "background:var(--jp-layout-color2,#f6f6f6);"
            'color:var(--jp-ui-font-color1,#222);white-space:pre-wrap">'
            f"{html.escape(message)}</div>"
        )

    # -- running -------------------------------------------------------------------

    def _on_submit(self, inputs: dict[str, Any]) -> None:
        self._start(inputs)

    def _start(self, inputs: dict[str, Any]) -> concurrent.futures.Future[Prediction]:
        form = self._require_form()
        form.busy = True
        self._message.value = ""
        job = submit(self._create_and_follow(inputs))
        self._job = job
        return job

    async def _create_and_follow(self, inputs: dict[str, Any]) -> Prediction:
        form = self._require_form()
        try:
            ref = self._ref
            if ref is None:
                raise ValueError("This schema has no version id to run.")
            prediction = await asyncio.to_thread(
                self.client.predictions.create, ref, inputs
            )
            followed = self.panel.follow(prediction, self.client)
            return await asyncio.wrap_future(followed)
        except Exception as exc:
            self._fail(_explain(exc, self._ref or "", self.client))
            raise
        finally:
            form.busy = False

    def run(self, **inputs: Any) -> Prediction:
        """Run the model with the form's values updated by ``inputs``; block until done.

        The form shows the inputs and the panel shows the prediction live, as if Run
        had been pressed.

        Returns
        -------
        Prediction
            The finished prediction.

        Raises
        ------
        ModelError
            When the prediction failed, was canceled or aborted.
        SchemaError
            When the inputs are invalid (the form shows which and why).
        """
        return self._finish(self._start(self._prepare(inputs)).result())

    async def arun(self, **inputs: Any) -> Prediction:
        """Run like :meth:`run`, without blocking the notebook's event loop."""
        job = self._start(self._prepare(inputs))
        return self._finish(await asyncio.wrap_future(job))

    def cancel(self) -> None:
        """Cancel the running prediction (the panel says so once the backend agrees)."""
        self.panel.cancel()

    @property
    def prediction(self) -> Prediction | None:
        """The latest prediction, as last reported by the backend."""
        return self.panel.prediction

    @property
    def output(self) -> Any:
        """The latest output as Python values.

        Text stays ``str`` (streamed chunks joined), images become ``PIL.Image``,
        other files ``bytes``, objects ``dict`` with their files converted the same way.
        """
        prediction = self.prediction
        if prediction is None:
            return None
        files = {item.url: item for item in self.panel.files}
        kind = self.schema.output.kind if self.schema else "json"
        value = prediction.output
        if kind == "text-stream" and isinstance(value, list):
            return "".join(str(v) for v in value)
        return _pythonic(value, files, self.client)

    def _prepare(self, inputs: dict[str, Any]) -> dict[str, Any]:
        form = self._require_form()
        if inputs:
            form.set(**inputs)
        return form.to_input()

    def _finish(self, prediction: Prediction) -> Prediction:
        if prediction.status != "succeeded":
            raise ModelError(prediction)
        return prediction

    def _require_form(self) -> InputForm:
        if self.form is None:
            raise RuntimeError(self.error or "The model is not loaded.")
        return self.form


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


def _pythonic(value: Any, files: Mapping[str, MediaItem], client: Client) -> Any:
    if isinstance(value, str) and (value.startswith(("http://", "https://", "data:"))):
        item = files.get(value)
        data, kind = (item.data, item.kind) if item else _read(client, value)
        if kind == "image":
            from PIL import Image

            return Image.open(io.BytesIO(data))
        return data
    if isinstance(value, list):
        return [_pythonic(v, files, client) for v in value]
    if isinstance(value, dict):
        return {k: _pythonic(v, files, client) for k, v in value.items()}
    return value


def _read(client: Client, url: str) -> tuple[bytes, str]:
    from ._media import media_kind, sniff_mime

    content = client.read(url)
    return content.data, media_kind(sniff_mime(content.data, content.content_type, url))


def _explain(exc: BaseException, model: object, client: Client | None) -> str:
    if isinstance(exc, NotFoundError) and client is not None and client.is_local:
        return _not_found_locally(model, client)
    return str(exc) or type(exc).__name__


def _not_found_locally(model: object, client: Client) -> str:
    try:
        names = sorted(f"{m.owner}/{m.name}" for m in client.models.list())
    except ReplicateError:
        names = []
    listing = "\n".join(f"  - {n}" for n in names) or "  (none)"
    return (
        f"{model} is not on the local backend ({client.base_url}).\n"
        f"Models you can run locally:\n{listing}\n"
        "To use Replicate's cloud models, call replicate_widgets.login() or set "
        "REPLICATE_API_TOKEN, then create the Playground again (or pass "
        'backend="cloud").'
    )
