"""``Trainer``: train a model version into a destination model and watch it live.

The training form is the same :class:`~replicate_widgets._widgets.form.InputForm` the
Playground uses, built from the version's ``TrainingInput`` component. The live view is
a :class:`~replicate_widgets.PredictionPanel`: trainings have the shape of
predictions, so the panel follows one through :class:`TrainingSource`, which answers
the panel's ``predictions.get/cancel`` with ``GET /trainings/{id}`` and
``POST /trainings/{id}/cancel`` and produces its log events by polling. All requests
run on the widgets' background loop; results and errors are shown in the widget.

The Trainer is one anywidget (a
:class:`~replicate_widgets._widgets.composite.Composite`): its view,
``js/src/trainer.ts``, draws the destination box, the buttons and the list of recent
trainings, and mounts the form, the panel, the "New model" form
(:class:`~.create_model.CreateModel`) and the Playground opened on the result as parts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

import traitlets

from replicate_widgets._client.checks import short_ref
from replicate_widgets._client.errors import (
    NotFoundError,
    ReplicateError,
)
from replicate_widgets._client.session import owned_by_session
from replicate_widgets._client.types import Model, Training, Version
from replicate_widgets._schema.model_schema import ModelSchema, parse
from replicate_widgets._schema.types import SchemaError
from replicate_widgets._widgets.backend import resolve_client
from replicate_widgets._widgets.catalog.names import check_model_name
from replicate_widgets._widgets.composite import Composite, MarkupTrait
from replicate_widgets._widgets.form import InputForm
from replicate_widgets._widgets.host_context import as_cell, current_cell
from replicate_widgets._widgets.loop import submit
from replicate_widgets._widgets.notices import (
    explain_error,
    header_html,
    notice_html,
    plain_message,
)
from replicate_widgets._widgets.panel.panel import PredictionPanel
from replicate_widgets._widgets.stopping import (
    StartedRun,
    stop_interrupted,
    watch_cell,
)
from replicate_widgets._widgets.view import STATIC

from .create_model import CreateModel
from .training_source import TrainingSource, model_name, resolve_trainable

if TYPE_CHECKING:
    from replicate_widgets._client.client import Client
    from replicate_widgets._widgets.playground.playground import Playground

__all__ = ["Trainer"]

T = TypeVar("T")

MAX_DESTINATION = 300
"""The longest destination the view may send (owner and name are far shorter)."""


class _Destination(traitlets.Unicode[str, str]):
    """What the person typed as the destination: text of bounded length."""

    def validate(self, obj: Any, value: Any) -> str:
        text = str(super().validate(obj, value))
        if len(text) > MAX_DESTINATION:
            raise traitlets.TraitError(
                f"The destination is at most {MAX_DESTINATION} characters."
            )
        return text


_Run = StartedRun[Training]


class Trainer(Composite):
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
    keep_running
        Let a training this widget started run on when the widget goes (closed,
        its cell run again or deleted, its output cleared, the kernel gone) and
        when ``train()`` is interrupted. By default it is canceled then: a
        training nobody watches any more still costs (on Replicate, by the second).

    Examples
    --------
    >>> trainer = Trainer("demo/text-stream", destination="local/c")  # doctest: +SKIP
    >>> trainer.train(training_text=text).output["version"]  # doctest: +SKIP
    'local/c:...'
    """

    _esm = STATIC / "trainer.js"

    header = MarkupTrait("").tag(sync=True)
    """Markup of the title line: the version trained and which backend runs it."""

    message = MarkupTrait("").tag(sync=True)
    """Markup of the problem (or notice) shown under the form; empty when none."""

    note = MarkupTrait("").tag(sync=True)
    """Markup of the line under the panel: what the followed training produced."""

    stage = MarkupTrait("").tag(sync=True)
    """Markup shown while the Playground on the new version opens."""

    destination_text = _Destination("").tag(sync=True)
    """The destination box's text as typed (the view writes it; see destination)."""

    destinations = traitlets.List(traitlets.Unicode()).tag(sync=True)
    """``owner/name`` suggestions for the destination box (models you own)."""

    history = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)
    """The recent trainings' list: ``[training id, label]`` pairs."""

    followed = traitlets.Unicode("").tag(sync=True)
    """Id of the training the panel follows (selected in the list)."""

    can_open = traitlets.Bool(False).tag(sync=True)
    """Whether "Open in Playground" is offered (the training made a version)."""

    create_open = traitlets.Bool(False).tag(sync=True)
    """Whether the "New model…" form is shown (its button toggles it)."""

    def __init__(
        self,
        model: str | Model | Version,
        *,
        client: Client | None = None,
        backend: str | None = None,
        destination: str | None = None,
        keep_running: bool = False,
        **kwargs: Any,
    ) -> None:
        self.keep_running = keep_running
        """Let a running training run on when the widget goes (see above)."""
        self._current: _Run | None = None
        self._job: concurrent.futures.Future[Training] | None = None
        # The Playground opened by the view's button is made in this cell's name
        # (marimo shows only widgets made in a cell's name; see _host_context).
        self._cell = current_cell()
        self.panel = PredictionPanel(output="json")
        """The live view of the training (status, timeline, logs, output)."""
        self.panel.on_gone(lambda: self._abandon("its output was cleared"))
        super().__init__(destination_text=destination or "", **kwargs)
        watch_cell(self)
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
        self.create_form: CreateModel | None = None
        """The "New model…" form (shown while :attr:`create_open`)."""
        self.error: str | None = None
        """The last problem shown, if any."""
        self._source: TrainingSource | None = None
        self.ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        """Done once the destinations and recent trainings have been read (or
        loading the model failed); the form is there when the constructor returns."""
        try:
            self.client = client if client is not None else resolve_client(backend)
        except (ReplicateError, ValueError, RuntimeError, OSError) as exc:
            self._fail(explain_error(exc))
            self.ready.set_result(None)
            return
        self.on_action("new_model", lambda _value: self._toggle_create())
        self.on_action("refresh", lambda _value: self.refresh_trainings())
        self.on_action("follow", self._history_picked)
        self.on_action("open", lambda _value: self.open_playground())
        if self._load(model):
            self.ready = submit(self._guard(self._load_lists()))
        else:
            self.ready.set_result(None)

    # -- public API -------------------------------------------------------------------

    @property
    def destination(self) -> str:
        """``owner/name`` of the model the next training pushes to."""
        return self.destination_text.strip()

    @destination.setter
    def destination(self, value: str) -> None:
        self.destination_text = value

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
        return self._begin(self._values(inputs), _Run())

    def _values(self, inputs: dict[str, Any]) -> dict[str, Any]:
        form = self._require_form()
        if inputs:
            form.set(**inputs)
        return form.to_input()

    def train(self, **inputs: Any) -> Training:
        """Start a training and block until it ends; return it.

        Raises
        ------
        KeyboardInterrupt
            When interrupted (Ctrl-C, the notebook's Interrupt): the training is
            canceled first (unless ``keep_running``), and the message says so.
        """
        run = _Run()
        try:
            # Starting is inside the try: a Ctrl-C that lands once the training
            # was handed to the loop, before the wait, must stop it too, or it
            # runs on (and on Replicate, is billed) unseen.
            return self._begin(self._values(inputs), run).result()
        except KeyboardInterrupt:
            if not run.handed_over:
                raise  # nothing was started
            raise self._interrupted(run) from None

    def cancel(self) -> concurrent.futures.Future[None]:
        """Ask the backend to cancel the training followed now.

        A training the backend is still creating is canceled as soon as it exists.
        """
        run = self._running()
        if run is not None and not run.id:
            run.stop = True
        return self.panel.cancel()

    def follow(self, training: str | Training) -> concurrent.futures.Future[Training]:
        """Show an existing training (id or object) live, e.g. one from the list."""
        return submit(self._guard(self._follow(training)))

    def refresh_trainings(self) -> concurrent.futures.Future[list[Training]]:
        """Read your recent trainings (first page) into the list."""
        return submit(self._guard(self._list_trainings()))

    def open_playground(self) -> concurrent.futures.Future[Playground]:
        """Open a Playground on the version the training produced.

        The Playground is made on the calling thread (a cell, or the view's button),
        in the name of the cell that made this Trainer: marimo shows only widgets
        made on its own threads while a cell runs, or in a cell's name.

        Returns
        -------
        concurrent.futures.Future
            Done: the Playground, or why it could not be opened (also shown).
        """
        opened: concurrent.futures.Future[Playground] = concurrent.futures.Future()
        try:
            opened.set_result(self._open_playground())
        except Exception as exc:
            self._show(explain_error(exc, self.client))
            opened.set_exception(exc)
        return opened

    # -- loading ----------------------------------------------------------------------

    def _load(self, model: str | Model | Version) -> bool:
        # Here, not on the background loop, as the Playground does: a widget made on
        # another thread never reaches marimo's page (its comm has no session there).
        try:
            doc, ref = resolve_trainable(self.client, model)
            self.schema = parse(doc, component="TrainingInput")
        except SchemaError as exc:
            self._fail(
                f"{model_name(model)} cannot be trained: its version has no "
                f"TrainingInput (no train() in its predictor). ({exc})\nOn the local "
                "backend, demo/text-stream is trainable."
            )
            return False
        except Exception as exc:
            self._fail(explain_error(exc, self.client))
            return False
        self.version_ref = ref
        self.panel.schema = self.schema  # its secrets are masked in the JSON view
        self.form = InputForm(self.schema, submit_label="Train")
        self.form.on_submit(lambda inputs: self._begin(inputs, _Run()))
        title = f"Train {short_ref(ref)}"
        self.header = header_html(title, self.client.base_url)
        # Made now, shown when asked for: marimo shows widgets made while a cell
        # runs, not ones made later by a button.
        self.create_form = CreateModel(client=self.client)
        self.create_form.on_created(self._created)
        self.parts = {
            "form": self.form,
            "panel": self.panel,
            "create": self.create_form,
        }
        return True

    async def _load_lists(self) -> None:
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
        known = set(self.destinations)
        if not set(refs) <= known:
            self.destinations = sorted(known | set(refs))

    def _set_part(self, name: str, widget: Any) -> None:
        parts = {k: v for k, v in self.parts.items() if k != name}
        if widget is not None:
            parts[name] = widget
        self.parts = parts

    # -- training ---------------------------------------------------------------------

    def _begin(
        self, inputs: dict[str, Any], run: _Run
    ) -> concurrent.futures.Future[Training]:
        problem = self._check_destination()
        if problem:
            self._show(problem)
            failed: concurrent.futures.Future[Training] = concurrent.futures.Future()
            failed.set_exception(ValueError(problem))
            return failed
        form = self._require_form()
        self._show("")
        self.note = ""
        self.can_open = False
        self._current = run
        destination = self.destination

        async def work() -> Training:
            # The inner coroutines are made only once this runs: one made here
            # and never run (a Ctrl-C before the hand-over) would warn.
            return await self._guard(self._create_and_follow(inputs, destination, run))

        job = self._job = run.hand_over(form, work())
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

    async def _create_and_follow(
        self, inputs: dict[str, Any], dest: str, run: _Run
    ) -> Training:
        form = self._require_form()
        ref = self.version_ref or ""
        # Unless told to keep running, the training ends with this kernel too.
        owner = (
            contextlib.nullcontext()
            if self.keep_running
            else owned_by_session(self.client)
        )
        try:
            try:
                with owner:
                    training = await asyncio.to_thread(
                        self.client.trainings.create,
                        ref,
                        destination=dest,
                        input=inputs,
                    )
            except NotFoundError as exc:
                raise ValueError(
                    f"{plain_message(exc)}\nThe destination {dest} must exist "
                    "before training: press 'New model…' to create it."
                ) from None
            run.id = training.id
            if run.stop:  # canceled, interrupted or closed while being created
                await asyncio.to_thread(self.client.trainings.cancel, training.id)
            return await self._follow(training, run)
        finally:
            form.busy = False

    def _running(self) -> _Run | None:
        job = self._job
        return self._current if job is not None and not job.done() else None

    async def _stop(self, run: _Run) -> None:
        """Cancel ``run``'s training, now or as soon as it exists."""
        run.stop = True
        if run.id:
            await asyncio.to_thread(self.client.trainings.cancel, run.id)

    def _abandon(self, reason: str) -> None:
        """Cancel the training of a widget gone for ``reason``, unless keep_running."""
        run = self._running()
        if self.keep_running or run is None:
            return
        with contextlib.suppress(RuntimeError):  # interpreter shutdown
            submit(self._abandoned(run, reason))

    async def _abandoned(self, run: _Run, reason: str) -> None:
        run.reason = reason
        self.note = notice_html(f"Canceled the running training: {reason}.", "info")
        await self._stop(run)

    def _interrupted(self, run: _Run) -> KeyboardInterrupt:
        """Stop an interrupted training (unless keep_running); say what became of it."""
        return stop_interrupted(
            "training",
            run,
            keep_running=self.keep_running,
            cancel_call="trainer.cancel()",
            stop=lambda: submit(self._stop(run)),
        )

    async def _follow(
        self, training: str | Training, run: _Run | None = None
    ) -> Training:
        if self._source is not None:
            self._source.close()
        source = TrainingSource(self.client)
        self._source = source
        if isinstance(training, str):
            training = await asyncio.to_thread(self.client.trainings.get, training)
        self.training = training
        self.followed = training.id
        self.note = ""
        self.can_open = False
        followed = self.panel.follow(training, source)
        final = await asyncio.wrap_future(followed)
        self.training = await asyncio.to_thread(self.client.trainings.get, final.id)
        self._show_result(self.training, run.reason if run is not None else "")
        await self._list_trainings()
        return self.training

    def _show_result(self, training: Training, canceled_because: str = "") -> None:
        version = self.result_version
        if version:
            self.note = notice_html(
                f"New version {short_ref(version)} is ready.", "ok", title=version
            )
            self.can_open = True
        elif training.status == "failed":
            self.note = notice_html(
                f"The training failed: {training.error or 'see the logs above'}."
            )
        elif training.status == "canceled" and canceled_because:
            # Why this widget stopped it outlives the end it caused.
            self.note = notice_html(
                f"Canceled the training: {canceled_because}.", "info"
            )
        else:
            self.note = notice_html(f"The training ended: {training.status}.", "info")

    async def _list_trainings(self) -> list[Training]:
        page = await asyncio.to_thread(self.client.trainings.list)
        self.trainings = list(page.results)
        self._offer([t.destination for t in self.trainings if t.destination])
        self.history = [
            [t.id, f"{t.status}  →  {t.destination or '?'}  ({t.id})"]
            for t in self.trainings
        ]
        return self.trainings

    def _history_picked(self, picked: Any) -> None:
        # The view sends an id from the list; anything else is ignored.
        known = {t.id for t in self.trainings}
        if not isinstance(picked, str) or picked not in known:
            return
        if self.training is None or picked != self.training.id:
            self.follow(picked)

    def _open_playground(self) -> Playground:
        from replicate_widgets._widgets.playground.playground import Playground

        version = self.result_version
        if version is None:
            raise RuntimeError(
                "No new version yet: run a training that succeeds first."
            )
        self.stage = notice_html(
            f"Opening {short_ref(version)}…", "info", title=version
        )
        old = self.playground
        self._set_part("playground", None)
        if old is not None:
            old.close()
        try:
            with as_cell(self._cell):  # the view's button runs after the cell ran
                playground = Playground(version, client=self.client)
        except Exception as exc:
            # The Playground reports its own problems; this is the front end
            # refusing a widget made outside a cell's run (marimo does).
            raise RuntimeError(
                "The Playground could not be shown from here: this front end shows "
                "only widgets made while a cell runs (marimo does so). Run "
                f"replicate_widgets.Playground({version!r}) in a new cell."
            ) from exc
        finally:
            self.stage = ""
        self.playground = playground
        self._set_part("playground", playground)
        return playground

    # -- helpers ----------------------------------------------------------------------

    def _toggle_create(self) -> None:
        form = self.create_form
        if form is None:
            return
        if not self.create_open and form.model is not None:
            form.clear()  # a fresh form for the next model
        self.create_open = not self.create_open

    def _created(self, model: Model) -> None:
        self._offer([model.ref])
        self.destination_text = model.ref
        self.create_open = False
        self.message = notice_html(
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
        self.message = notice_html(message)

    def _fail(self, message: str) -> None:
        self._show(message)
        self.parts = {}

    def close(self) -> None:
        """Close the widget, its panel and the forms it opened.

        A training it started and still running is canceled, unless keep_running.
        """
        # Also runs from __del__, possibly of a Trainer whose __init__ failed early.
        if hasattr(self, "_current"):
            self._abandon("the widget was closed")
        source = getattr(self, "_source", None)
        if source is not None:
            source.close()
        panel = getattr(self, "panel", None)
        super().close()
        if panel is not None:
            panel.close()

    def _require_form(self) -> InputForm:
        if self.form is None:
            raise RuntimeError(
                self.error or "The model is not loaded yet: wait for trainer.ready."
            )
        return self.form
