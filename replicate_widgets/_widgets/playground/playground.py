"""Playground: name a model, fill its form, press Run, watch the prediction live."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import traitlets

from replicate_widgets._client.errors import ModelError, ReplicateError
from replicate_widgets._client.session import owned_by_session
from replicate_widgets._client.types import Model, Prediction, Version
from replicate_widgets._schema.model_schema import ModelSchema, parse
from replicate_widgets._schema.types import SchemaError
from replicate_widgets._widgets.backend import resolve_client
from replicate_widgets._widgets.composite import Composite, MarkupTrait
from replicate_widgets._widgets.form import InputForm
from replicate_widgets._widgets.history.entries import record
from replicate_widgets._widgets.html import Markup, tag
from replicate_widgets._widgets.keep import Keeper
from replicate_widgets._widgets.loop import submit
from replicate_widgets._widgets.notices import header_html
from replicate_widgets._widgets.panel.panel import PredictionPanel
from replicate_widgets._widgets.stopping import (
    StartedRun,
    stop_interrupted,
    watch_cell,
)
from replicate_widgets._widgets.view import STATIC

from .codegen import insert_next_cell, snippets, unwritable
from .codeview import CodeView
from .load import example_values, explain, pythonic, resolve

if TYPE_CHECKING:
    from replicate_widgets._client.client import Client
    from replicate_widgets._widgets.share import SharedRun

__all__ = ["Playground"]


_Run = StartedRun[Prediction]


class Playground(Composite):
    """An input form, Run and Cancel, and a live prediction panel for one model.

    Parameters
    ----------
    model
        ``"owner/name"`` (latest version), ``"owner/name:<version id>"``, a
        :class:`~replicate_widgets.Version` or :class:`~replicate_widgets.Model`,
        or their JSON.
    client
        The client to use; default: chosen by ``backend`` / the environment
        (a token means api.replicate.com, no token means the local backend).
    backend
        ``"local"``, ``"cloud"`` or a base URL, when ``client`` is not given.
    example
        Fill the form with the model's default example, as replicate.com does, so
        that Run works at once (only for ``"owner/name"`` and Model references;
        inputs this version cannot take are left at their defaults).
    keep
        Where finished predictions are saved (inputs, downloaded outputs, logs and
        metrics), because Replicate deletes them after an hour: ``True`` for
        ``replicate-outputs/`` (or ``REPLICATE_WIDGETS_OUTPUTS``), a folder, a
        :class:`~replicate_widgets._widgets.keep.Keeper`, or ``False`` to keep nothing.
    kept_note
        Whether a line under the finished run says where it was kept. ``None``
        (the default): yes, except in Voila, where the folder is the server's
        and means nothing to the person looking at the page.
    keep_running
        A running prediction is canceled when the widget goes (``close()``, its
        cell runs again, its output is cleared, an interrupted :meth:`run`, or on
        the local backend the kernel stopping); ``True`` lets it run on.

    Examples
    --------
    >>> pg = Playground("replicate/hello-world")  # doctest: +SKIP
    >>> pg.run(text="Alice").output  # doctest: +SKIP
    'hello Alice'
    """

    _esm = STATIC / "playground.js"

    header = MarkupTrait("").tag(sync=True)
    """Markup of the title line: the model and which backend runs it."""

    message = MarkupTrait("").tag(sync=True)
    """Markup of the error shown above the form (empty when there is none)."""

    note = MarkupTrait("").tag(sync=True)
    """Markup of the line under the finished run (where it was kept, or why not)."""

    code_open = traitlets.Bool(False).tag(sync=True)
    """Whether the "copy as code" panel is shown (the view's Code button sets it)."""

    def __init__(
        self,
        model: str | Version | Model | Mapping[str, Any],
        *,
        client: Client | None = None,
        backend: str | None = None,
        keep: bool | str | os.PathLike[str] | Keeper = True,
        example: bool = True,
        kept_note: bool | None = None,
        keep_running: bool = False,
        **kwargs: Any,
    ) -> None:
        self.keep_running = keep_running
        """Let a running prediction run on when the widget goes (see above)."""
        self._current: _Run | None = None
        self.code_view = CodeView()
        """The "copy as code" panel, shown by the Code button."""
        super().__init__(**kwargs)
        if not self.layout.flex:
            # In an HBox, Playgrounds share the row equally whatever they show (a
            # streaming output must not widen its column); a 0% basis is content
            # size in a column, so a VBox or a plain cell is unaffected.
            self.layout.flex = "1 1 0%"
        self.observe(self._refresh_code, names="code_open")
        self.form: InputForm | None = None
        """The input form (``None`` when the model could not be loaded)."""
        self.panel: PredictionPanel
        """The live prediction panel (an empty one when the model could not be loaded:
        made only then, as a widget closed as soon as it is made makes the browser
        fail to initialize its model)."""
        self.schema: ModelSchema | None = None
        """The model's parsed input/output schema."""
        self.error: str | None = None
        """Why the model could not be loaded, if it could not."""
        self._ref: str | None = None
        self._title = ""
        self._job: concurrent.futures.Future[Prediction] | None = None
        self.keeper = _keeper(keep)
        """Saves finished predictions (``None`` when ``keep=False``)."""
        self._use_example = example
        self.kept_note = not in_voila() if kept_note is None else kept_note
        """Whether the line saying where a finished run was kept is shown."""
        self._note_for: str | None = None
        try:
            self.client = client if client is not None else resolve_client(backend)
        except (ReplicateError, ValueError, RuntimeError, OSError) as exc:
            self._fail(explain(exc, model, None))
            return
        self._load(model)
        watch_cell(self)

    # -- loading -------------------------------------------------------------------

    def _load(self, model: str | Version | Model | Mapping[str, Any]) -> None:
        try:
            found = resolve(self.client, model)
            self._ref, self._title = found.ref, found.title
            self.schema = parse(found.doc)
        except (ReplicateError, SchemaError, ValueError, TypeError) as exc:
            self._fail(explain(exc, model, self.client))
            return
        self.form = InputForm(self.schema)
        if self._use_example:
            try:
                self.form.set(**example_values(found.example, self.schema))
            except (KeyError, TypeError, ValueError):
                # An odd example must not cost the Playground: start from defaults.
                self.form.reset()
        self.form.on_submit(self._on_submit)
        self.form.observe(self._refresh_code, names="values")
        self.panel = PredictionPanel(
            output=self.schema.output, client=self.client, schema=self.schema
        )
        # A note names one finished run: it goes once the panel shows another.
        self.panel.observe(self._drop_note, names="prediction_id")
        self.panel.on_gone(lambda: self._abandon("its output was cleared"))
        self._show_header()
        self.parts = {"code": self.code_view, "form": self.form, "panel": self.panel}

    def _show_header(self) -> None:
        self.header = header_html(self._title, self.client.base_url)

    def _fail(self, message: str) -> None:
        self.error = message
        if not hasattr(self, "panel"):
            self.panel = PredictionPanel()
        self.message = tag(
            "div",
            message,
            class_="rw-playground-error",
            role="alert",
            style=(
                "padding:8px 10px;border-left:4px solid var(--jp-error-color1,#c62828);"
                "background:var(--jp-layout-color2,#f6f6f6);"
                "color:var(--jp-ui-font-color1,#222);white-space:pre-wrap"
            ),
        )

    # -- running -------------------------------------------------------------------

    def _on_submit(self, inputs: dict[str, Any]) -> None:
        self._start(inputs, _Run())

    def _start(
        self, inputs: dict[str, Any], run: _Run
    ) -> concurrent.futures.Future[Prediction]:
        form = self._require_form()
        self.message = ""
        self._current = run
        job = self._job = run.hand_over(form, self._create_and_follow(inputs, run))
        return job

    async def _create_and_follow(self, inputs: dict[str, Any], run: _Run) -> Prediction:
        form = self._require_form()
        try:
            ref = self._ref
            if ref is None:
                raise ValueError("This schema has no version id to run.")
            # Unless told to keep running, the run ends with this kernel too.
            owner = (
                contextlib.nullcontext()
                if self.keep_running
                else owned_by_session(self.client)
            )
            with owner:
                prediction = await asyncio.to_thread(
                    self.client.predictions.create, ref, inputs
                )
            run.id = prediction.id
            if run.stop:  # canceled, interrupted or closed while being created
                await self._cancel_created(prediction.id)
            record(prediction, self.client)
            followed = self.panel.follow(prediction, self.client)
            final = await asyncio.wrap_future(followed)
            record(final, self.client)
            await self._after(final)
            return final
        except Exception as exc:
            self._fail(explain(exc, self._ref or "", self.client))
            raise
        finally:
            form.busy = False

    async def _stop(self, run: _Run) -> None:
        """Cancel ``run``'s prediction, now or as soon as it exists."""
        run.stop = True
        if run.id:
            await self._cancel_created(run.id)

    async def _cancel_created(self, prediction_id: str) -> None:
        await asyncio.to_thread(self.client.predictions.cancel, prediction_id)

    def _running(self) -> _Run | None:
        job = self._job
        return self._current if job is not None and not job.done() else None

    def _abandon(self, reason: str) -> None:
        """Cancel the run of a widget gone for ``reason``, unless ``keep_running``."""
        run = self._running()
        if self.keep_running or run is None:
            return
        with contextlib.suppress(RuntimeError):  # interpreter shutdown
            submit(self._abandoned(run, reason))

    async def _abandoned(self, run: _Run, reason: str) -> None:
        self.note = _note(f"Canceled the running prediction: {reason}.")
        await self._stop(run)

    def close(self) -> None:
        """Close the widget; a running prediction is canceled, unless keep_running."""
        # Also runs from __del__, possibly of a Playground whose __init__ failed.
        if hasattr(self, "_current"):
            self._abandon("the widget was closed")
        super().close()
        # Not parts when the model could not be loaded, and made all the same.
        for made in (getattr(self, "panel", None), getattr(self, "code_view", None)):
            if made is not None:
                made.close()

    async def _after(self, prediction: Prediction) -> None:
        """Keep the finished prediction; a failure to save never fails the run."""
        if self.keeper is None or not self.keeper.enabled:
            return
        files = {item.url: item for item in self.panel.files}
        try:
            path = await asyncio.to_thread(
                self.keeper.save,
                prediction,
                files,
                self.client.read,
                schema=self.schema,
                # Outputs the panel did not hold go straight to disk, whatever size.
                download=getattr(self.client, "download", None),
            )
        except Exception as exc:  # disk full, permissions: say so, keep the result
            self._set_note(
                prediction.id,
                f"Could not keep this run ({type(exc).__name__}: {exc}); "
                "its outputs stay on the backend for now.",
            )
        else:
            if path is not None and self.kept_note:
                self._set_note(prediction.id, f"Kept in {short_path(path)}")

    def _set_note(self, prediction_id: str, text: str) -> None:
        if self.panel.prediction_id == prediction_id:  # still the run shown
            self.note = _note(text)
            self._note_for = prediction_id

    def _drop_note(self, _change: object = None) -> None:
        if self.panel.prediction_id != self._note_for:
            self.note = ""

    # -- copy as code, share ---------------------------------------------------------

    def code(self, language: str = "python") -> str:
        """Return the exact call for the form's current values.

        Parameters
        ----------
        language
            ``"python"`` (this package), ``"replicate"`` (the official Python
            client), ``"javascript"`` or ``"curl"``. Secrets and the token are
            read from environment variables in every snippet, never written.
        """
        form = self._require_form()
        if self._ref is None:
            raise RuntimeError("This schema has no version id to call.")
        all_code = snippets(
            self._ref, form.to_input(), self.schema, base_url=self.client.base_url
        )
        if language not in all_code:
            raise ValueError(
                f"language={language!r} is not one of {', '.join(all_code)}."
            )
        return all_code[language]

    def code_cell(self, language: str = "python") -> bool:
        """Put :meth:`code` into a new cell below the one running this call."""
        return insert_next_cell(self.code(language))

    def share(self) -> SharedRun:
        """Return the latest run as static HTML (images embedded).

        Show it as a cell's result: it stays in the saved notebook and in
        nbconvert/Voila exports, with no kernel and after Replicate deleted the
        outputs.
        """
        from replicate_widgets._widgets.share import SharedRun

        prediction = self.prediction
        if prediction is None or not prediction.is_terminal:
            raise RuntimeError("Nothing to share yet: run the model and let it finish.")
        files = {item.url: item for item in self.panel.files}
        return SharedRun(prediction, files, schema=self.schema, title=self._title)

    def _refresh_code(self, _change: object = None) -> None:
        form = self.form if self.code_open else None
        if form is None:
            return
        try:
            self.code_view.snippets = snippets(
                self._ref or "",
                form.to_input(),
                self.schema,
                base_url=self.client.base_url,
            )
        except (SchemaError, ValueError, TypeError) as exc:
            self.code_view.snippets = unwritable(str(exc))

    def run(self, **inputs: Any) -> Prediction:
        """Run the model with the form's values updated by ``inputs``; block until done.

        The form shows the inputs and the panel shows the prediction live, as if Run
        had been pressed. If the call fails, the form keeps the values it had
        before it.

        Returns
        -------
        Prediction
            The finished prediction.

        Raises
        ------
        ModelError
            When the prediction failed, was canceled or aborted.
        SchemaError
            When the inputs are invalid (the message says which and why).
        KeyboardInterrupt
            When interrupted (Ctrl-C, the notebook's Interrupt): the prediction is
            canceled first (unless ``keep_running``), and the message says so.
        """
        form = self._require_form()
        before = form.snapshot()
        run = _Run()
        try:
            try:
                # Starting is inside the try: a Ctrl-C that lands once the run
                # was handed to the loop, before the wait below, must stop it
                # too, or it runs on (and on Replicate, is billed) unseen.
                final = self._start(self._prepare(inputs), run).result()
            except KeyboardInterrupt:
                if not run.handed_over:
                    raise  # nothing was started
                raise self._interrupted(run) from None
            return self._finish(final)
        except BaseException:
            # The values of a failed call are not kept: the next call reports
            # only its own.
            form.restore(before)
            raise

    async def arun(self, **inputs: Any) -> Prediction:
        """Run like :meth:`run`, without blocking the notebook's event loop.

        Cancelling the awaiting task cancels the prediction (unless
        ``keep_running``).
        """
        form = self._require_form()
        before = form.snapshot()
        try:
            job = self._start(self._prepare(inputs), _Run())
            try:
                final = await asyncio.wrap_future(job)
            except (asyncio.CancelledError, KeyboardInterrupt):
                run = self._current
                if run is not None and not self.keep_running:
                    submit(self._stop(run))
                raise
            return self._finish(final)
        except BaseException:
            form.restore(before)
            raise

    def _interrupted(self, run: _Run) -> KeyboardInterrupt:
        """Stop an interrupted run (unless ``keep_running``); say what became of it."""
        return stop_interrupted(
            "prediction",
            run,
            keep_running=self.keep_running,
            cancel_call="pg.cancel()",
            stop=lambda: submit(self._stop(run)),
        )

    def cancel(self) -> None:
        """Cancel the running prediction (the panel says so once the backend agrees).

        A run whose prediction the backend is still creating is canceled as soon
        as it exists.
        """
        run = self._running()
        if run is not None:
            submit(self._stop(run))
        self.panel.cancel()

    @property
    def model_ref(self) -> str | None:
        """What this Playground runs (``None`` when the model could not be loaded).

        ``owner/name``, ``owner/name:<version id>`` or a bare version id.
        """
        return self._ref

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
        return pythonic(value, files, self.client)

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


def _keeper(keep: bool | str | os.PathLike[str] | Keeper) -> Keeper | None:
    if isinstance(keep, Keeper):
        return keep
    if keep is False:
        return None
    return Keeper(None if keep is True else os.fspath(keep))


def in_voila() -> bool:
    """Whether this kernel runs a Voila page (Voila sets these for its kernels)."""
    env = os.environ
    return (
        "VOILA_KERNEL_ID" in env
        or "VOILA_PREHEAT" in env
        or env.get("SERVER_SOFTWARE", "").startswith("voila/")
    )


def short_path(path: str | os.PathLike[str]) -> str:
    """Return ``path`` as short as it reads: from the notebook's folder, or ``~``."""
    full = os.path.abspath(path)
    for base, shown in ((os.getcwd(), ""), (os.path.expanduser("~"), "~")):
        try:
            relative = os.path.relpath(full, base)
        except ValueError:  # another drive
            continue
        if not relative.startswith(os.pardir):
            return os.path.join(shown, relative) if shown else relative
    return full


def _note(text: str) -> Markup:
    return tag(
        "div",
        text,
        style="color:var(--jp-ui-font-color2,#666);font-size:var(--jp-ui-font-size0,11px)",
    )
