"""``InputForm``: a model's whole input form as one anywidget.

State the browser rebuilds from lives in traits: ``fields`` (the schema layer's field
JSON), ``values`` (two-way), ``errors`` (written here after every change),
``disabled``/``busy``. Events travel as custom messages with a ``kind``:

- ``submit``: run the ``on_submit`` callbacks with :meth:`InputForm.to_input`; the
  message carries the view's ``values``, applied first (see :meth:`_on_message`);
- ``reset``: back to the schema's defaults;
- ``file``: bytes picked in the browser, in a binary buffer (never base64);
- ``secret``: a secret's value, which is kept in this object only.

Uploaded bytes and secret values never enter a trait, so the widget state saved in a
notebook holds only small markers (``{"__file__": id, ...}``, ``{"__secret__": id}``)
in their place; :meth:`InputForm.to_input` swaps the real values back in.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import traitlets

from replicate_widgets._schema.model_schema import ModelSchema, parse
from replicate_widgets._schema.types import SchemaError, UnknownInputError

from .form_store import HiddenValues, StaleMarker
from .view import STATIC, View

__all__ = ["FormSnapshot", "InputForm"]


# Jupyter's websocket refuses messages over 10 MiB (tornado's default); leave room for
# the message header so an upload at the limit still gets through.
_MAX_UPLOAD = 10 * 1024 * 1024 - 64 * 1024

SubmitCallback = Callable[[dict[str, Any]], object]


@dataclass(frozen=True)
class FormSnapshot:
    """An :class:`InputForm`'s values at one moment (see :meth:`InputForm.snapshot`)."""

    values: dict[str, Any]
    hidden: HiddenValues
    message: str


class InputForm(View):
    """An input form for a Replicate model, built from its OpenAPI schema.

    Parameters
    ----------
    schema_or_doc : ModelSchema or dict
        A parsed schema, or anything :func:`replicate_widgets.schema.parse` accepts: a
        full OpenAPI document, a version or model object, or ``{"components": ...}``.
    component : str
        The schema component to build the form from (``"TrainingInput"`` for trainings).
    submit_label : str
        Text of the run button; ``""`` hides it (a surrounding widget runs instead).
    **values
        Initial values, as for :meth:`set`.

    Examples
    --------
    >>> form = InputForm(version["openapi_schema"], prompt="an owl, oil on canvas")
    >>> form.on_submit(lambda inputs: print(inputs))
    >>> form  # doctest: +SKIP
    """

    _esm = STATIC / "form.js"
    _view_part_names = ("markdown",)  # marked and DOMPurify, for Markdown descriptions

    fields = traitlets.List(traitlets.Dict()).tag(sync=True)
    """The inputs in x-order, as the schema layer describes them (``Field.to_json``)."""

    values = traitlets.Dict().tag(sync=True)
    """Current values by input name; a missing key means "not set" (not sent).

    Files picked in the browser and secrets appear as small markers; use
    :meth:`to_input` for the real values.
    """

    errors = traitlets.Dict().tag(sync=True)
    """Validation messages by input name, updated after every change of ``values``."""

    disabled = traitlets.Bool(False).tag(sync=True)
    """Grey the whole form out (no editing, no running)."""

    busy = traitlets.Bool(False).tag(sync=True)
    """A run is in progress: the run button shows it and submitting is blocked."""

    submit_label = traitlets.Unicode("Run").tag(sync=True)
    """Text of the run button; ``""`` hides the button."""

    max_upload_bytes = traitlets.Int(_MAX_UPLOAD).tag(sync=True)
    """The largest file the browser may send (the notebook server's message limit)."""

    message = traitlets.Unicode("").tag(sync=True)
    """A note for the person, e.g. why the last submit did not run."""

    def __init__(
        self,
        schema_or_doc: ModelSchema | Mapping[str, Any],
        *,
        component: str = "Input",
        submit_label: str = "Run",
        **values: Any,
    ) -> None:
        if isinstance(schema_or_doc, ModelSchema):
            schema = schema_or_doc
        elif isinstance(schema_or_doc, Mapping):
            schema = parse(dict(schema_or_doc), component=component)
        else:
            raise TypeError(
                "InputForm needs a model schema: pass the version's `openapi_schema` "
                "dict (or a version/model object), not "
                f"{type(schema_or_doc).__name__}."
            )
        self._schema = schema
        self._by_name = {f.name: f for f in schema.inputs}
        self._store = HiddenValues()
        self._callbacks: list[SubmitCallback] = []
        super().__init__(
            fields=[f.to_json() for f in schema.inputs],
            values=dict(schema.defaults()),
            submit_label=submit_label,
        )
        self.errors = self._validate()
        self.on_msg(self._on_message)
        if values:
            self.set(**values)

    @property
    def schema(self) -> ModelSchema:
        """The parsed schema the form was built from."""
        return self._schema

    @property
    def valid(self) -> bool:
        """Whether the current values can be sent (no validation messages)."""
        return not self.errors

    def __repr__(self) -> str:
        # Short, and free of values: those may hold prompts the person wants kept out
        # of logs, and markers that mean nothing out of context.
        state = "valid" if self.valid else f"{len(self.errors)} problem(s)"
        return f"InputForm({len(self._by_name)} inputs, {state})"

    # -- values ----------------------------------------------------------------------

    def set(self, **values: Any) -> None:
        """Set inputs by name, as if typed into the form.

        ``None`` clears an input (it is then not sent). File inputs take a URL string,
        a :class:`pathlib.Path`, ``bytes`` or a binary file object; secret inputs take
        the secret string, which is kept in memory only. Out-of-range or otherwise
        invalid values are accepted and reported in :attr:`errors`, as when typed.

        Raises
        ------
        UnknownInputError
            For a name the model does not take (the message suggests close names);
            a :class:`KeyError` and a :class:`SchemaError`.
        """
        new = dict(self.values)
        for name, value in values.items():
            field = self._by_name.get(name)
            if field is None:
                raise UnknownInputError(self._unknown(name), field=name)
            if value is None:
                new.pop(name, None)
            elif field.kind == "secret":
                new[name] = self._store.secret_marker(str(value))
            else:
                new[name] = self._to_trait_value(name, value)
        with self.hold_sync():  # values and the errors they cause in one message
            self.values = new

    def snapshot(self) -> FormSnapshot:
        """Return the form's values (files and secrets included) for :meth:`restore`."""
        return FormSnapshot(dict(self.values), self._store.copy(), self.message)

    def restore(self, snapshot: FormSnapshot) -> None:
        """Put back the values of :meth:`snapshot` (a failed call's are not kept)."""
        # Files and secrets first: the new values are checked against them.
        self._store.replace(snapshot.hidden)
        with self.hold_sync():
            self.message = snapshot.message
            self.values = dict(snapshot.values)

    def reset(self) -> None:
        """Go back to the schema's defaults, forgetting uploaded files and secrets."""
        self._store.clear()
        with self.hold_sync():
            self.message = ""
            self.values = dict(self._schema.defaults())

    def to_input(self) -> dict[str, Any]:
        """Return the prediction ``input``: only inputs that are set, with real values.

        Files picked in the browser (or given as bytes/paths) come back as binary file
        objects (:class:`io.BytesIO` with a ``name``), which the client turns into a
        data URL or an upload; secrets come back as their strings.

        Raises
        ------
        SchemaError
            When a value is invalid; the message lists every problem.
        """
        errors = self._validate()
        if errors:
            lines = "; ".join(f"{k}: {v}" for k, v in errors.items())
            raise SchemaError(
                f"The form has invalid inputs ({lines}). Fix them and try again.",
                field=next(iter(errors)),
            )
        plain = self._schema.to_input(self._stand_ins())
        return {k: self._store.real(self.values.get(k), v) for k, v in plain.items()}

    # -- running ---------------------------------------------------------------------

    def on_submit(self, callback: SubmitCallback, remove: bool = False) -> None:
        """Call ``callback(inputs)`` when the person runs the form (Run or Ctrl+Enter).

        ``inputs`` is :meth:`to_input`'s result. Callbacks only run for valid forms.
        An exception in a callback is shown in the form instead of being lost.

        Parameters
        ----------
        callback
            Called with the prediction input dict.
        remove
            Unregister ``callback`` instead.
        """
        if remove:
            self._callbacks = [c for c in self._callbacks if c != callback]
        else:
            self._callbacks.append(callback)

    def submit(self) -> bool:
        """Run the form as its button would; return whether callbacks were called."""
        if self.disabled or self.busy:
            return False
        self.errors = self._validate()
        if self.errors:
            n = len(self.errors)
            self.message = (
                f"Not run: fix {'the input' if n == 1 else f'{n} inputs'} marked."
            )
            return False
        self.message = ""
        inputs = self.to_input()
        for callback in list(self._callbacks):
            try:
                callback(inputs)
            except Exception as exc:  # a callback's bug must not break the widget
                self.message = (
                    f"The submit callback failed: {type(exc).__name__}: {exc}"
                )
        return True

    # -- internals -------------------------------------------------------------------

    @traitlets.observe("values")
    def _values_changed(self, _change: Any) -> None:
        self._store.keep_only(self.values)
        self.errors = self._validate()

    def _on_message(self, _widget: object, content: Any, buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("kind")
        if kind == "submit":
            self._take_values(content.get("values"))
            self.submit()
        elif kind == "reset":
            self.reset()
        elif kind == "file":
            self._store.receive_file(content, buffers)
        elif kind == "secret":
            self._store.receive_secret(content)

    def _take_values(self, sent: object) -> None:
        """Apply the values a submit message carries: what the person saw on Run.

        The view also saves them as a trait change just before it sends the submit,
        but a front end may deliver that change after the message (marimo does), and
        the run would then take the previous values. They are the same values a trait
        change would bring, so they are trusted as much (no more): validation and the
        file and secret stores treat them alike. A message without them (an older
        view) runs what the kernel has.
        """
        if isinstance(sent, dict) and sent != self.values:
            with self.hold_sync():  # values and the errors they cause in one message
                self.values = dict(sent)

    def _unknown(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._by_name), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        names = ", ".join(self._by_name)
        return f"This model has no input {name!r}.{hint} Inputs: {names}."

    def _to_trait_value(self, name: str, value: Any) -> Any:
        field = self._by_name[name]
        if field.kind == "file":
            return self._store.file_marker(name, value)
        if (
            field.kind == "array"
            and field.items is not None
            and field.items.kind == "file"
        ):
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise TypeError(f"{name} takes a list of files, e.g. [url1, url2].")
            return [self._store.file_marker(name, v) for v in value]
        if (
            field.kind == "array"
            and field.items is not None
            and field.items.kind == "secret"
        ):
            if isinstance(value, str) or not hasattr(value, "__iter__"):
                raise TypeError(f"{name} takes a list of secrets, e.g. [key1, key2].")
            # Each secret becomes a marker: a plain list would land in the notebook.
            return [self._store.secret_marker(str(v)) for v in value]
        return value

    def _stand_ins(self) -> dict[str, Any]:
        return {k: self._store.stand_in(v) for k, v in self.values.items()}

    def _validate(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        checkable: dict[str, Any] = {}
        for name, value in self.values.items():
            if name not in self._by_name:
                errors[name] = self._unknown(name)
                continue
            try:
                checkable[name] = self._store.stand_in(value)
            except StaleMarker as exc:
                errors[name] = str(exc)
        for name, msg in self._schema.validate(checkable).items():
            # Messages quote offending values, and no secret may reach a trait.
            errors.setdefault(name, self._store.scrub(msg))
        return errors
