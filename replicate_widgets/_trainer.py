"""``Trainer``: train a model version into a destination model and watch it live.

The training form is the same :class:`~replicate_widgets._form.InputForm` the
Playground uses, built from the version's ``TrainingInput`` component. The live view is
a :class:`~replicate_widgets._panel.PredictionPanel`: trainings have the shape of
predictions, so the panel follows one through :class:`TrainingSource`, which answers
the panel's ``predictions.get/cancel`` with ``GET /trainings/{id}`` and
``POST /trainings/{id}/cancel`` and produces its log events by polling. All requests
run on the widgets' background loop; results and errors are shown in the widget.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

import ipywidgets

from ._backend import resolve_client
from ._catalog_shared import (
    WIDTH,
    button,
    check_model_name,
    explain_error,
    header_html,
    notice_html,
    plain_message,
)
from ._checks import short_ref
from ._create_model import CreateModel
from ._errors import NotFoundError, ReplicateError
from ._form import InputForm
from ._html import tag
from ._loop import submit
from ._panel import PredictionPanel
from ._schema import ModelSchema, SchemaError, parse
from ._training_source import (
    POLL_SECONDS,
    TrainingSource,
    model_name,
    resolve_trainable,
)
from ._types import Model, Training, Version

if TYPE_CHECKING:
    from ._client import Client
    from ._playground import Playground

# TrainingSource and POLL_SECONDS are re-exported: callers import them from here.
__all__ = ["POLL_SECONDS", "Trainer", "TrainingSource"]

T = TypeVar("T")


class Trainer(ipywidgets.VBox):  # type: ignore[misc]
    """Train a model version (``TrainingInput``) into a destination model.

    Parameters
    ----------
    model
        ``"owner/name"`` (latest version), ``"owner/name:<version id>"``, a
        :class:`~replicate_widgets.Model` or a :class:`~replicate_widgets.Version`
        of a model that defines ``train()``.
    client
        The client to use; default: chosen by ``backend`` / the environment.
    backend
        ``"local"``, ``"cloud"`` or a base URL, when ``client`` is not given.
    destination
        ``"owner/name"`` of the model that receives the new version.

    Examples
    --------
    >>> trainer = Trainer("demo/text-stream", destination="local/c")  # doctest: +SKIP
    >>> trainer.train(training_text=text).output["version"]  # doctest: +SKIP
    'local/c:...'
    """

    def __init__(
        self,
        model: str | Model | Version,
        *,
        client: Client | None = None,
        backend: str | None = None,
        destination: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._header = ipywidgets.HTML()
        self._message = ipywidgets.HTML()
        self._message.add_class("rw-trainer-message")
        # Rows as wide as the cell (up to the form's width), like the Playground's.
        self._destination = ipywidgets.Combobox(
            value=destination or "",
            placeholder="owner/name of the model to push the new version to",
            description="Destination",
            ensure_option=False,
            layout=ipywidgets.Layout(flex="1 1 auto", width="auto"),
        )
        self._destination.add_class("rw-trainer-destination")
        self._new_model = button(
            "New model…",
            icon="plus",
            class_="rw-trainer-new-model",
            tooltip="Create the model that receives the new version",
        )
        self._create_box = ipywidgets.VBox()
        # The training is cancelled with the panel's own Cancel: one per training.
        self._history = ipywidgets.Select(
            rows=4, layout=ipywidgets.Layout(width="100%", max_width=WIDTH)
        )
        self._history.add_class("rw-trainer-history")
        self._refresh = button(
            "Refresh", icon="refresh", tooltip="Read your recent trainings again"
        )
        self._result = ipywidgets.HTML()
        self._result.add_class("rw-trainer-result")
        self._open = button(
            "Open in Playground", primary=True, icon="play", class_="rw-trainer-open"
        )
        self._open.layout.display = "none"
        self._open.layout.align_self = "flex-start"
        self._stage = ipywidgets.VBox()
        self._stage.add_class("rw-trainer-playground")
        self.panel = PredictionPanel(output="json")
        """The live view of the training (status, timeline, logs, output)."""
        super().__init__(children=[self._header, self._message], **kwargs)
        self.add_class("rw-trainer")
        self.form: InputForm | None = None
        """The training form (``None`` until loaded, or when loading failed)."""
        self.schema: ModelSchema | None = None
        """The parsed ``TrainingInput`` schema."""
        self.version_ref: str | None = None
        """``owner/name:version`` being trained."""
        self.training: Training | None = None
        """The training followed now, as last reported."""
        self.trainings: list[Training] = []
        """Recent trainings (from :meth:`refresh_trainings`)."""
        self.playground: Playground | None = None
        """The Playground opened on the result."""
        self.error: str | None = None
        """The last problem shown, if any."""
        self._source: TrainingSource | None = None
        self._job: concurrent.futures.Future[Training] | None = None
        self.ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        """Done once the model's training schema has been loaded (or failed)."""
        try:
            self.client = client if client is not None else resolve_client(backend)
        except (ReplicateError, ValueError, RuntimeError, OSError) as exc:
            self._fail(explain_error(exc))
            self.ready.set_result(None)
            return
        self._new_model.on_click(lambda _b: self._toggle_create())
        self._refresh.on_click(lambda _b: self.refresh_trainings())
        self._history.observe(self._history_picked, names="value")
        self._open.on_click(lambda _b: self.open_playground())
        self.ready = submit(self._load(model))

    # -- public API -------------------------------------------------------------------

    @property
    def destination(self) -> str:
        """``owner/name`` of the model the next training pushes to."""
        return str(self._destination.value).strip()

    @destination.setter
    def destination(self, value: str) -> None:
        self._destination.value = value

    @property
    def result_version(self) -> str | None:
        """``owner/name:version`` made by the followed training, once it succeeded."""
        t = self.training
        if t is None or t.status != "succeeded" or not isinstance(t.output, dict):
            return None
        version = t.output.get("version")
        return str(version) if version else None

    def start(self, **inputs: Any) -> concurrent.futures.Future[Training]:
        """Start a training with the form's values updated by ``inputs``.

        Returns
        -------
        concurrent.futures.Future
            Resolves to the finished :class:`Training` (any terminal status).
        """
        form = self._require_form()
        if inputs:
            form.set(**inputs)
        return self._begin(form.to_input())

    def train(self, **inputs: Any) -> Training:
        """Start a training and block until it ends; return it."""
        return self.start(**inputs).result()

    def cancel(self) -> concurrent.futures.Future[None]:
        """Ask the backend to cancel the training followed now."""
        return self.panel.cancel()

    def follow(self, training: str | Training) -> concurrent.futures.Future[Training]:
        """Show an existing training (id or object) live, e.g. one from the list."""
        return submit(self._guard(self._follow(training)))

    def refresh_trainings(self) -> concurrent.futures.Future[list[Training]]:
        """Read your recent trainings (first page) into the list."""
        return submit(self._guard(self._list_trainings()))

    def open_playground(self) -> concurrent.futures.Future[Playground]:
        """Open a Playground on the version the training produced."""
        return submit(self._guard(self._open_playground()))

    # -- loading ----------------------------------------------------------------------

    async def _load(self, model: str | Model | Version) -> None:
        try:
            doc, ref = await asyncio.to_thread(resolve_trainable, self.client, model)
            self.schema = parse(doc, component="TrainingInput")
        except SchemaError as exc:
            self._fail(
                f"{model_name(model)} cannot be trained: its version has no "
                f"TrainingInput (no train() in its predictor). ({exc})\nOn the local "
                "backend, demo/text-stream is trainable."
            )
            return
        except Exception as exc:
            self._fail(explain_error(exc, self.client))
            return
        self.version_ref = ref
        self.panel.schema = self.schema  # its secrets are masked in the JSON view
        self.form = InputForm(self.schema, submit_label="Train")
        self.form.on_submit(self._begin)
        title = f"Train {short_ref(ref)}"
        self._header.value = header_html(title, self.client.base_url)
        recent = ipywidgets.HBox(
            [ipywidgets.HTML(tag("b", "Your recent trainings")), self._refresh],
            layout=ipywidgets.Layout(align_items="center", grid_gap="8px"),
        )
        self.children = [
            self._header,
            ipywidgets.HBox(
                [self._destination, self._new_model],
                layout=ipywidgets.Layout(width="100%", max_width=WIDTH),
            ),
            self._create_box,
            self.form,
            self._message,
            self.panel,
            self._result,
            self._open,
            self._stage,
            recent,
            self._history,
        ]
        await self._fill_destinations()
        await self._list_trainings()

    async def _fill_destinations(self) -> None:
        # Models you own are the likely destinations; Replicate has no "my models"
        # list, so recent trainings' destinations and your own listed models are used.
        try:
            account = await asyncio.to_thread(self.client.account.get)
            page = await asyncio.to_thread(self.client.models.list)
        except ReplicateError:
            return  # the person can type any owner/name
        self._offer([m.ref for m in page.results if m.owner == account.username])

    def _offer(self, refs: list[str]) -> None:
        known = set(self._destination.options)
        if not set(refs) <= known:
            self._destination.options = sorted(known | set(refs))

    # -- training ---------------------------------------------------------------------

    def _begin(self, inputs: dict[str, Any]) -> concurrent.futures.Future[Training]:
        problem = self._check_destination()
        if problem:
            self._show(problem)
            failed: concurrent.futures.Future[Training] = concurrent.futures.Future()
            failed.set_exception(ValueError(problem))
            return failed
        form = self._require_form()
        form.busy = True
        self._show("")
        self._result.value = ""
        self._open.layout.display = "none"
        job = submit(self._guard(self._create_and_follow(inputs, self.destination)))
        self._job = job
        return job

    def _check_destination(self) -> str | None:
        dest = self.destination
        if "/" not in dest:
            return (
                "Choose a destination model as 'owner/name' (it must exist: press "
                "'New model…' to create one)."
            )
        owner, _, name = dest.partition("/")
        return check_model_name(owner, "owner") or check_model_name(name, "name")

    async def _create_and_follow(self, inputs: dict[str, Any], dest: str) -> Training:
        form = self._require_form()
        ref = self.version_ref or ""
        try:
            try:
                training = await asyncio.to_thread(
                    self.client.trainings.create, ref, destination=dest, input=inputs
                )
            except NotFoundError as exc:
                raise ValueError(
                    f"{plain_message(exc)}\nThe destination {dest} must exist "
                    "before training: press 'New model…' to create it."
                ) from None
            return await self._follow(training)
        finally:
            form.busy = False

    async def _follow(self, training: str | Training) -> Training:
        if self._source is not None:
            self._source.close()
        source = TrainingSource(self.client)
        self._source = source
        if isinstance(training, str):
            training = await asyncio.to_thread(self.client.trainings.get, training)
        self.training = training
        followed = self.panel.follow(training, source)
        final = await asyncio.wrap_future(followed)
        self.training = await asyncio.to_thread(self.client.trainings.get, final.id)
        self._show_result(self.training)
        await self._list_trainings()
        return self.training

    def _show_result(self, training: Training) -> None:
        version = self.result_version
        if version:
            self._result.value = notice_html(
                f"New version {short_ref(version)} is ready.", "ok", title=version
            )
            self._open.layout.display = ""
        elif training.status == "failed":
            self._result.value = notice_html(
                f"The training failed: {training.error or 'see the logs above'}."
            )
        else:
            self._result.value = notice_html(
                f"The training ended: {training.status}.", "info"
            )

    async def _list_trainings(self) -> list[Training]:
        page = await asyncio.to_thread(self.client.trainings.list)
        self.trainings = list(page.results)
        self._offer([t.destination for t in self.trainings if t.destination])
        self._history.options = [
            (f"{t.status}  →  {t.destination or '?'}  ({t.id})", t.id)
            for t in self.trainings
        ]
        return self.trainings

    def _history_picked(self, change: dict[str, Any]) -> None:
        picked = change["new"]
        if picked and (self.training is None or picked != self.training.id):
            self.follow(picked)

    async def _open_playground(self) -> Playground:
        from ._playground import Playground

        version = self.result_version
        if version is None:
            raise RuntimeError(
                "No new version yet: run a training that succeeds first."
            )
        opening = notice_html(f"Opening {short_ref(version)}…", "info", title=version)
        self._stage.children = [ipywidgets.HTML(opening)]
        playground = await asyncio.to_thread(Playground, version, client=self.client)
        self.playground = playground
        self._stage.children = [playground]
        return playground

    # -- helpers ----------------------------------------------------------------------

    def _toggle_create(self) -> None:
        if self._create_box.children:
            self._create_box.children = []
            return
        form = CreateModel(client=self.client)
        form.on_created(lambda m: self._created(m))
        self._create_box.children = [form]

    def _created(self, model: Model) -> None:
        self._offer([model.ref])
        self._destination.value = model.ref
        self._create_box.children = []
        self._message.value = notice_html(
            f"Created {model.ref}; new versions will be pushed there.", "ok"
        )

    async def _guard(self, work: Awaitable[T]) -> T:
        try:
            return await work
        except Exception as exc:
            self._show(explain_error(exc, self.client))
            raise

    def _show(self, message: str) -> None:
        self.error = message or None
        self._message.value = notice_html(message)

    def _fail(self, message: str) -> None:
        self._show(message)
        self.children = [self._header, self._message]

    def _require_form(self) -> InputForm:
        if self.form is None:
            raise RuntimeError(
                self.error or "The model is not loaded yet: wait for trainer.ready."
            )
        return self.form
