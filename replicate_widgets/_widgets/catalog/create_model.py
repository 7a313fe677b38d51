"""``CreateModel``: the create-a-model form, checked before the request is sent.

Names and URLs are checked (by :mod:`.names`) before the request is sent, so a
person sees what to change instead of a 422 after a round trip.

It is one anywidget (a :class:`~replicate_widgets._widgets.composite.Composite` without
parts) whose view, ``js/src/create_model.ts``, draws the fields. What the person types
comes back in the synced :attr:`CreateModel.entries`, checked here (known fields, text,
bounded length) before it is used; the Create button sends the ``create`` action.

Network work (hardware list, account, create) runs on the widgets' background loop
(:mod:`replicate_widgets._widgets.loop`); the result and any error are shown in the
widget.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import traitlets

from replicate_widgets._client.errors import APIError, ReplicateError
from replicate_widgets._client.types import Model
from replicate_widgets._widgets.backend import resolve_client
from replicate_widgets._widgets.catalog.model_html import model_summary_html
from replicate_widgets._widgets.catalog.names import check_model_name, check_url
from replicate_widgets._widgets.composite import Composite, MarkupTrait
from replicate_widgets._widgets.html import tag
from replicate_widgets._widgets.loop import submit
from replicate_widgets._widgets.notices import explain_error, notice_html
from replicate_widgets._widgets.stopping import watch_cell
from replicate_widgets._widgets.view import STATIC

if TYPE_CHECKING:
    from replicate_widgets._client.client import Client

__all__ = ["CreateModel"]

URL_FIELDS = ("github_url", "paper_url", "license_url", "cover_image_url")
FIELDS = ("owner", "name", "description", "visibility", "hardware", *URL_FIELDS)
"""The form's fields, in the order the view shows them."""
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
VISIBILITIES = ("private", "public")
_NOTE_STYLE = "color:var(--jp-error-color1,#c62828)"
MAX_CHARS = 5000
"""The longest value a field takes (a description is a paragraph, not a book)."""

CreatedCallback = Callable[[Model], object]


class _Entries(traitlets.Dict):
    """The fields' values: only known field names, each text of bounded length.

    The view writes this trait, so whatever arrives is checked before it is kept.
    """

    def validate(self, obj: Any, value: Any) -> dict[str, str]:
        if not isinstance(value, dict):
            self.error(obj, value)
        checked: dict[str, str] = {}
        for key, text in value.items():
            if key not in FIELDS:
                raise traitlets.TraitError(f"CreateModel has no field {key!r}.")
            if not isinstance(text, str) or len(text) > MAX_CHARS:
                raise traitlets.TraitError(
                    f"{key} must be text of at most {MAX_CHARS} characters."
                )
            checked[key] = text
        return checked


# -- the widget ----------------------------------------------------------------------


class CreateModel(Composite):
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

    _esm = STATIC / "create_model.js"

    entries = _Entries().tag(sync=True)
    """The fields' values as typed, by field name (the view writes them)."""

    labels = traitlets.Dict(_LABELS).tag(sync=True)
    """Each field's label, by field name (the view shows them in this order)."""

    hardware_choices = traitlets.List(traitlets.Unicode()).tag(sync=True)
    """The hardware menu's choices (the backend's SKUs, and one asked for by name)."""

    notes = traitlets.Dict(MarkupTrait()).tag(sync=True)
    """Markup of the note under each field (what to change), by field name."""

    message = MarkupTrait("").tag(sync=True)
    """Markup of the line under the Create button (progress, errors, success)."""

    summary = MarkupTrait("").tag(sync=True)
    """Markup of the model created last (name, visibility, description, links)."""

    disabled = traitlets.Bool(False).tag(sync=True)
    """Whether Create is disabled (while creating, or when there is no backend)."""

    def __init__(
        self,
        *,
        client: Client | None = None,
        backend: str | None = None,
        owner: str | None = None,
        **values: str,
    ) -> None:
        super().__init__(entries=dict.fromkeys(FIELDS, "") | {"visibility": "private"})
        watch_cell(self)
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
        self.observe(self._on_entries, names="entries")
        self.on_action("create", lambda _value: self.submit())
        try:
            self.client = client if client is not None else resolve_client(backend)
        except (ReplicateError, ValueError, RuntimeError, OSError) as exc:
            self.message = notice_html(explain_error(exc))
            self.disabled = True
            self.ready.set_result(None)
            return
        self.ready = submit(self._load(owner is None))

    # -- values -----------------------------------------------------------------------

    @property
    def values(self) -> dict[str, str]:
        """The form's current values by field name (empty strings for blanks)."""
        return {key: str(self.entries.get(key) or "") for key in FIELDS}

    def set(self, **values: str) -> None:
        """Set fields by name (``name=``, ``visibility=`` ...); unknown names raise."""
        for key, value in values.items():
            if key not in FIELDS:
                raise TypeError(
                    f"CreateModel has no field {key!r}; fields: {', '.join(FIELDS)}."
                )
            if key == "visibility" and value not in VISIBILITIES:
                raise ValueError("visibility must be 'public' or 'private'.")
        hardware = values.get("hardware")
        if hardware and hardware not in self.hardware_choices:
            # The list may still be loading; keep the choice so it can be applied.
            self.hardware_choices = [*self.hardware_choices, hardware]
        self._touched.update(values)
        self.entries = {**self.entries, **values}

    def clear(self) -> None:
        """Empty the form for the next model (owner, visibility and hardware stay).

        The name, description and links, the message and the summary go.
        """
        kept = ("owner", "visibility", "hardware")
        self.entries = {k: (v if k in kept else "") for k, v in self.entries.items()}
        self._touched.clear()
        self._show_errors()
        self.message = ""
        self.summary = ""

    @property
    def errors(self) -> dict[str, str]:
        """What is wrong with the current values, by field name (empty when valid)."""
        v = self.values
        found: dict[str, str] = {}
        for key in ("owner", "name"):
            problem = check_model_name(v[key].strip(), key)
            if problem:
                found[key] = problem
        if v["visibility"] not in VISIBILITIES:
            found["visibility"] = "Choose private or public."
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
        failed: concurrent.futures.Future[Model] = concurrent.futures.Future()
        if self.disabled:
            failed.set_exception(RuntimeError("Creating is not possible now."))
            return failed
        self._touched.update(FIELDS)
        errors = self._show_errors()
        if errors:
            self.message = notice_html("Fix the fields marked above first.")
            failed.set_exception(ValueError("; ".join(errors.values())))
            return failed
        self.disabled = True
        self.message = notice_html("Creating the model…", "info")
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
            self.message = notice_html(self._advice(exc, v))
            raise
        finally:
            self.disabled = False
        self.model = model
        self.message = notice_html(f"Created {model.ref}.", "ok")
        self.summary = model_summary_html(model)
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
            self.message = notice_html(
                "Could not read the hardware list: " + explain_error(exc, self.client)
            )
            return
        self.hardware = skus
        chosen = self.values["hardware"]
        if chosen and chosen not in skus:
            # Asked for by name before the list arrived: keep it, so the field can
            # say it is not offered instead of silently switching hardware.
            self.hardware_choices = [*skus, chosen]
        else:
            self.hardware_choices = skus
            if chosen not in skus:
                chosen = "cpu" if "cpu" in skus else (skus[0] if skus else "")
        self._put("hardware", chosen)
        if want_owner and not self.values["owner"]:
            try:
                account = await asyncio.to_thread(self.client.account.get)
            except ReplicateError:
                return  # the person types it; the field says it is required
            if not self.values["owner"]:
                self._put("owner", account.username)

    def _put(self, key: str, value: str) -> None:
        """Set a field from the kernel (not the person: it is not marked touched)."""
        touched = key in self._touched
        self.entries = {**self.entries, key: value}
        if not touched:
            self._touched.discard(key)
            self._show_errors()

    # -- display ----------------------------------------------------------------------

    def _on_entries(self, change: dict[str, Any]) -> None:
        old, new = change["old"] or {}, change["new"] or {}
        self._touched.update(k for k in FIELDS if old.get(k) != new.get(k))
        self._show_errors()

    def _show_errors(self) -> dict[str, str]:
        errors = self.errors
        self.notes = {
            key: (
                tag("span", errors[key], style=_NOTE_STYLE)
                if key in errors and key in self._touched
                else ""
            )
            for key in FIELDS
        }
        return errors
