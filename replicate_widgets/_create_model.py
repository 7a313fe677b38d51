"""``CreateModel``: the create-a-model form, checked before the request is sent.

Names and URLs are checked (by :mod:`._catalog_shared`) before the request is sent,
so a person sees what to change instead of a 422 after a round trip.

Network work (hardware list, account, create) runs on the widgets' background loop
(:mod:`replicate_widgets._loop`); the result and any error are shown in the widget.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets

from ._backend import resolve_client
from ._catalog_shared import (
    WIDTH,
    bundled_model_names,
    button,
    check_model_name,
    check_url,
    explain_error,
    link_html,
    model_summary_html,
    notice_html,
    suggest_name,
)
from ._errors import APIError, ReplicateError
from ._html import tag
from ._loop import submit
from ._types import Model

if TYPE_CHECKING:
    from ._client import Client

# The shared helpers are re-exported: callers import them from here.
__all__ = [
    "CreateModel",
    "bundled_model_names",
    "check_model_name",
    "check_url",
    "explain_error",
    "link_html",
    "model_summary_html",
    "notice_html",
    "suggest_name",
]

URL_FIELDS = ("github_url", "paper_url", "license_url", "cover_image_url")
_LABELS = {
    "owner": "Owner",
    "name": "Name",
    "description": "Description",
    "visibility": "Visibility",
    "hardware": "Hardware",
    "github_url": "GitHub URL",
    "paper_url": "Paper URL",
    "license_url": "Licence URL",
    "cover_image_url": "Cover image URL",
}

CreatedCallback = Callable[[Model], object]


# -- the widget ----------------------------------------------------------------------


class CreateModel(ipywidgets.VBox):  # type: ignore[misc]
    """A form that creates a model (``POST /v1/models``) and shows the result.

    Parameters
    ----------
    client
        The client to use; default: chosen by ``backend`` / the environment.
    backend
        ``"local"``, ``"cloud"`` or a base URL, when ``client`` is not given.
    owner
        Initial owner; default: the token's account, once it has been read.
    **values
        Initial values of the other fields (``name``, ``visibility`` ...).

    Examples
    --------
    >>> form = CreateModel(name="hot-dog-detector")  # doctest: +SKIP
    >>> form.create(visibility="private").ref  # doctest: +SKIP
    'alice/hot-dog-detector'
    """

    def __init__(
        self,
        *,
        client: Client | None = None,
        backend: str | None = None,
        owner: str | None = None,
        **values: str,
    ) -> None:
        style = {"description_width": "120px"}
        self._inputs: dict[str, Any] = {
            "owner": ipywidgets.Text(placeholder="your username", style=style),
            "name": ipywidgets.Text(placeholder="e.g. hot-dog-detector", style=style),
            "description": ipywidgets.Textarea(
                placeholder="One line about what it does", style=style
            ),
            "visibility": ipywidgets.ToggleButtons(
                options=["private", "public"], value="private", style=style
            ),
            "hardware": ipywidgets.Dropdown(options=[], style=style),
        }
        for key in URL_FIELDS:
            self._inputs[key] = ipywidgets.Text(placeholder="https://...", style=style)
        self._notes: dict[str, ipywidgets.HTML] = {}
        rows = []
        for key, widget in self._inputs.items():
            # As wide as the cell, up to the InputForm's width.
            widget.layout = ipywidgets.Layout(width="100%", max_width=WIDTH)
            widget.add_class(f"rw-create-{key.replace('_', '-')}")
            row = widget
            if key == "visibility":
                # Toggle buttons put their description above them: a label of the
                # others' width, right-aligned like theirs, keeps the column.
                widget.layout.width = "auto"
                label = ipywidgets.HTML(
                    tag("div", _LABELS[key], style="text-align:right"),
                    layout={"width": "120px", "margin": "0 8px 0 0"},
                )
                row = ipywidgets.HBox([label, widget], layout={"align_items": "center"})
            else:
                widget.description = _LABELS[key]
            note = ipywidgets.HTML(layout={"margin": "0 0 0 128px"})
            note.add_class("rw-field-error")
            self._notes[key] = note
            rows.append(ipywidgets.VBox([row, note]))
        self._button = button(
            "Create model", primary=True, icon="plus", class_="rw-create-button"
        )
        self._button.layout.align_self = "flex-start"
        self._message = ipywidgets.HTML()
        self._message.add_class("rw-create-message")
        self._result = ipywidgets.HTML()
        self._result.add_class("rw-create-result")
        super().__init__(children=[*rows, self._button, self._message, self._result])
        self.add_class("rw-create-model")
        self.model: Model | None = None
        """The model created last, once the backend confirmed it."""
        self.hardware: list[str] = []
        """Hardware SKUs the backend offers (filled in by :attr:`ready`)."""
        self._callbacks: list[CreatedCallback] = []
        self._touched: set[str] = set()
        self._job: concurrent.futures.Future[Model] | None = None
        self.ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        """Done once the hardware list (and the default owner) has been read."""
        self.set(owner=owner or "", **values)
        self._touched.clear()
        for key, widget in self._inputs.items():
            widget.observe(lambda _c, k=key: self._changed(k), names="value")
        self._button.on_click(lambda _b: self.submit())
        try:
            self.client = client if client is not None else resolve_client(backend)
        except (ReplicateError, ValueError, RuntimeError, OSError) as exc:
            self._message.value = notice_html(explain_error(exc))
            self._button.disabled = True
            self.ready.set_result(None)
            return
        self.ready = submit(self._load(owner is None))

    # -- values -----------------------------------------------------------------------

    @property
    def values(self) -> dict[str, str]:
        """The form's current values by field name (empty strings for blanks)."""
        return {key: str(w.value or "") for key, w in self._inputs.items()}

    def set(self, **values: str) -> None:
        """Set fields by name (``name=``, ``visibility=`` ...); unknown names raise."""
        for key, value in values.items():
            if key not in self._inputs:
                raise TypeError(
                    f"CreateModel has no field {key!r}; fields: "
                    f"{', '.join(self._inputs)}."
                )
            widget = self._inputs[key]
            if key == "hardware" and value not in widget.options:
                # The list may still be loading; keep the choice so it can be applied.
                widget.options = [*widget.options, value]
            if key == "visibility" and value not in ("public", "private"):
                raise ValueError("visibility must be 'public' or 'private'.")
            widget.value = value
            self._touched.add(key)

    @property
    def errors(self) -> dict[str, str]:
        """What is wrong with the current values, by field name (empty when valid)."""
        v = self.values
        found: dict[str, str] = {}
        for key in ("owner", "name"):
            problem = check_model_name(v[key].strip(), key)
            if problem:
                found[key] = problem
        if not v["hardware"]:
            found["hardware"] = (
                "Pick the hardware the model runs on (the list comes from GET "
                "/v1/hardware; wait for it to load)."
            )
        elif self.hardware and v["hardware"] not in self.hardware:
            found["hardware"] = (
                f"{v['hardware']!r} is not offered by this backend; choose one of "
                f"{', '.join(self.hardware)}."
            )
        for key in URL_FIELDS:
            problem = check_url(v[key].strip(), _LABELS[key])
            if problem:
                found[key] = problem
        return found

    def on_created(self, callback: CreatedCallback, remove: bool = False) -> None:
        """Call ``callback(model)`` after each successful create (on the io thread)."""
        if remove:
            self._callbacks.remove(callback)
        else:
            self._callbacks.append(callback)

    # -- creating ---------------------------------------------------------------------

    def submit(self) -> concurrent.futures.Future[Model]:
        """Validate and, when valid, create the model in the background.

        Returns
        -------
        concurrent.futures.Future
            Resolves to the created :class:`Model`; fails with ``ValueError`` (invalid
            form, shown beside the fields) or the API's error (shown below).
        """
        self._touched.update(self._inputs)
        errors = self._show_errors()
        if errors:
            failed: concurrent.futures.Future[Model] = concurrent.futures.Future()
            self._message.value = notice_html("Fix the fields marked above first.")
            failed.set_exception(ValueError("; ".join(errors.values())))
            return failed
        self._button.disabled = True
        self._message.value = notice_html("Creating the model…", "info")
        self._job = submit(self._create(self.values))
        return self._job

    def create(self, **values: str) -> Model:
        """Set ``values``, create the model and return it (blocks until done)."""
        self.set(**values)
        return self.submit().result()

    async def _create(self, v: dict[str, str]) -> Model:
        optional = {k: (v[k].strip() or None) for k in ("description", *URL_FIELDS)}
        try:
            model = await asyncio.to_thread(
                self.client.models.create,
                v["owner"].strip(),
                v["name"].strip(),
                visibility=v["visibility"],
                hardware=v["hardware"],
                **optional,
            )
        except Exception as exc:
            self._message.value = notice_html(self._advice(exc, v))
            raise
        finally:
            self._button.disabled = False
        self.model = model
        self._message.value = notice_html(f"Created {model.ref}.", "ok")
        self._result.value = model_summary_html(model)
        for callback in list(self._callbacks):
            callback(model)
        return model

    def _advice(self, exc: BaseException, v: dict[str, str]) -> str:
        text = explain_error(exc, self.client)
        status = exc.status if isinstance(exc, APIError) else None
        if status == 409:
            text += (
                "\nPick another name, or use the existing model "
                f"{v['owner']}/{v['name']}."
            )
        elif status == 403 or (status == 422 and "owner" in str(exc)):
            text += (
                "\nThe owner must be your own username or an organization you "
                "belong to."
            )
        return text

    async def _load(self, want_owner: bool) -> None:
        try:
            skus = [h.sku for h in await asyncio.to_thread(self.client.hardware.list)]
        except Exception as exc:
            self._message.value = notice_html(
                "Could not read the hardware list: " + explain_error(exc, self.client)
            )
            return
        self.hardware = skus
        widget = self._inputs["hardware"]
        chosen = widget.value
        if chosen and chosen not in skus:
            # Asked for by name before the list arrived: keep it, so the field can
            # say it is not offered instead of silently switching hardware.
            widget.options = [*skus, chosen]
        else:
            widget.options = skus
            if chosen not in skus:
                chosen = "cpu" if "cpu" in skus else (skus[0] if skus else None)
        widget.value = chosen
        if want_owner and not self._inputs["owner"].value:
            try:
                account = await asyncio.to_thread(self.client.account.get)
            except ReplicateError:
                return  # the person types it; the field says it is required
            if not self._inputs["owner"].value:
                self._inputs["owner"].value = account.username

    # -- display ----------------------------------------------------------------------

    def _changed(self, key: str) -> None:
        self._touched.add(key)
        self._show_errors()

    def _show_errors(self) -> dict[str, str]:
        errors = self.errors
        for key, note in self._notes.items():
            text = errors.get(key, "") if key in self._touched else ""
            note.value = (
                tag("span", text, style="color:var(--jp-error-color1,#c62828)")
                if text
                else ""
            )
        return errors
