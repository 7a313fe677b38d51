"""``PredictionPanel``: a live view of one prediction (status, logs, progress, outputs).

Threads: the panel's output traits are written only by the background loop of
:mod:`replicate_widgets._widgets.loop` (measured to stay live while other cells
block), so public methods called from a cell hand their work to that loop. Messages from
the browser (cancel, download, full logs) arrive on the kernel's main thread and are
handed over the same way. Every flush is one ``hold_sync()`` block with no ``await``
inside, rate-limited by a :class:`~replicate_widgets._widgets.coalesce.Coalescer`.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import traitlets

from replicate_widgets._client.types import Prediction
from replicate_widgets._widgets.coalesce import Coalescer
from replicate_widgets._widgets.loop import io_loop, on_io_thread, submit
from replicate_widgets._widgets.media import MediaItem
from replicate_widgets._widgets.panel.follow import ClientAdapter, Follower
from replicate_widgets._widgets.sources import RunSource
from replicate_widgets._widgets.view import STATIC, View

from .output_files import MAX_IDS_ASKED, MediaStore
from .state import PanelState, output_kind_of, raw_json
from .text import AppendMixin

if TYPE_CHECKING:
    from replicate_widgets._schema.model_schema import ModelSchema

__all__ = ["PredictionPanel"]

_UNSET: Any = object()
VIEWS_GONE_AFTER = 2.0
"""Seconds without any view before the panel counts as gone (a view re-rendered,
or a cell cut and pasted, comes back within them)."""


class PredictionPanel(AppendMixin, View):
    """A live display of one prediction, usable on its own or inside a Playground.

    Parameters
    ----------
    output
        How to show the output: a kind (``"text-stream"``, ``"files"`` ...) or the
        output spec from ``replicate_widgets.schema.parse(doc).output``. ``None``
        guesses from the output itself.
    client
        The client used by :meth:`follow` when none is given there; ``None`` makes a
        default :class:`~replicate_widgets._client.client.Client` (token from
        :func:`~replicate_widgets.login` or ``REPLICATE_API_TOKEN``).
    max_image_edge
        Longest side, in pixels, of the image copies sent to the browser; originals
        stay in the kernel (:attr:`files`).
    log_limit
        Characters of logs shown; the rest is one click ("Show all") away.
    max_rate
        Most comm messages per second while tokens and logs stream.
    inline_limit
        Audio, video and text files up to this many bytes are sent for playback;
        larger ones become download links.
    schema
        The model's parsed schema, if known: its secret inputs are masked in the
        JSON view (without it, inputs named like ``token`` or ``password`` are).

    Examples
    --------
    >>> panel = PredictionPanel.watch("hdwst0bb05rgp0cf0p29mzk2am")  # doctest: +SKIP
    """

    _esm = STATIC / "panel.js"

    prediction_id = traitlets.Unicode("").tag(sync=True)
    """The prediction followed (empty before :meth:`follow`)."""
    model = traitlets.Unicode("").tag(sync=True)
    """``owner/name`` of its model."""
    status = traitlets.Unicode("").tag(sync=True)
    """``starting``, ``processing`` or terminal (``succeeded``, ``failed`` ...)."""
    timeline: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    """Phases so far: ``{"status", "seconds", "open"}``; the browser ticks open ones."""
    metrics = traitlets.Dict().tag(sync=True)
    """``predict_time`` and ``total_time`` once the backend reports them."""
    logs = traitlets.Unicode("").tag(sync=True)
    """The end of the logs (at most ``log_limit`` characters), ANSI codes kept."""
    logs_dropped = traitlets.Int(0).tag(sync=True)
    """Characters of logs before :attr:`logs` that are not shown."""
    progress = traitlets.Dict().tag(sync=True)
    """``{"fraction", "current", "total"}`` from the last tqdm-style log line."""
    output_kind = traitlets.Unicode("").tag(sync=True)
    """How the output is shown (a ``schema`` output kind), declared or guessed."""
    text = traitlets.Unicode("").tag(sync=True)
    """Text output; streamed chunks joined as they arrive. Shown as plain text."""
    media: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    """Output files: ``{"key", "kind", "mime", "name", "size", "data", ...}``.

    ``id`` names the file's display bytes, which a view asks for (see
    :class:`~.output_files.MediaStore`); ``data`` holds them once the run is over
    (None before, and for links and pending files)."""
    value = traitlets.Any(None).tag(sync=True)
    """Object/number/boolean/JSON output; files inside are ``{"__media__": key}``."""
    embedding = traitlets.Dict().tag(sync=True)
    """Shape and value range of an embedding output."""
    error = traitlets.Unicode("").tag(sync=True)
    """The model's error when the prediction failed."""
    problem = traitlets.Unicode("").tag(sync=True)
    """A problem in the kernel while following (network, token ...), with advice."""
    cancel_state = traitlets.Unicode("").tag(sync=True)
    """``""``, ``"sent"`` (backend asked) or ``"failed"`` (see :attr:`problem`)."""
    raw = traitlets.Dict().tag(sync=True)
    """The finished prediction's JSON, for the panel's JSON view and Copy output:
    secrets masked, long ``data:`` URIs cut (see :func:`~.state.raw_json`)."""
    booting = traitlets.Bool(False).tag(sync=True)
    """The backend says the model's process is starting for it: a cold boot."""

    def __init__(
        self,
        *,
        output: Any = None,
        client: RunSource | None = None,
        max_image_edge: int = 1024,
        log_limit: int = 100_000,
        max_rate: float = 20.0,
        inline_limit: int = 50_000_000,
        schema: ModelSchema | None = None,
        **kwargs: Any,
    ) -> None:
        if max_image_edge <= 0:
            raise ValueError(
                "max_image_edge must be a positive number of pixels, "
                f"got {max_image_edge}"
            )
        if log_limit <= 0:
            raise ValueError(
                f"log_limit must be a positive number of characters, got {log_limit}"
            )
        self._output = output_kind_of(output)
        super().__init__(**kwargs)
        self._client = client
        self._schema = schema
        self._max_edge = max_image_edge
        self._log_limit = log_limit
        self._max_rate = max_rate
        self._job: concurrent.futures.Future[Prediction] | None = None
        self._generation = 0
        self._follower: Follower | None = None
        self._state: PanelState | None = None
        self._phase_count = -1
        self._target_id = ""
        self._media = MediaStore(inline_limit)
        self._views: set[str] = set()
        self._views_lock = threading.Lock()
        self._gone: list[Callable[[], object]] = []
        self.on_msg(self._on_message)

    # -- public API ------------------------------------------------------------------

    @classmethod
    def watch(
        cls,
        prediction: str | Prediction,
        *,
        client: RunSource | None = None,
        output: Any = None,
        **options: Any,
    ) -> PredictionPanel:
        """Make a panel following ``prediction``, which may have been started elsewhere.

        Parameters
        ----------
        prediction
            A prediction id or a :class:`~replicate_widgets._client.types.Prediction`.
        client
            The client to read it with (default: a new ``Client()``).
        output
            The output kind or spec, as for the constructor.
        **options
            Other constructor arguments (``max_image_edge`` ...).

        Returns
        -------
        PredictionPanel
            Display it; it updates itself until the prediction ends.
        """
        panel = cls(output=output, client=client, **options)
        panel.follow(prediction)
        return panel

    def follow(
        self,
        prediction: str | Prediction,
        client: RunSource | None = None,
        *,
        output: Any = _UNSET,
    ) -> concurrent.futures.Future[Prediction]:
        """Show ``prediction`` from now on, replacing whatever the panel showed.

        Parameters
        ----------
        prediction
            A prediction id or object.
        client
            Overrides the panel's client for this prediction.
        output
            Overrides the panel's output kind or spec for this prediction.

        Returns
        -------
        concurrent.futures.Future
            Resolves to the final prediction; :meth:`wait` blocks on it.
        """
        if not isinstance(prediction, (str, Prediction)) or not prediction:
            raise TypeError(
                "follow() needs a prediction id (a non-empty string) or a Prediction "
                f"from client.predictions.create(...), not {type(prediction).__name__}."
            )
        kind = self._output if output is _UNSET else output_kind_of(output)
        self._target_id = prediction if isinstance(prediction, str) else prediction.id
        self._stop_job()
        self._generation += 1
        job = submit(
            self._run(self._generation, prediction, client or self._client, kind)
        )
        job.add_done_callback(self._report)
        self._job = job
        return job

    def wait(self, timeout: float | None = None) -> Prediction:
        """Block until the followed prediction ends; return it.

        Raises
        ------
        RuntimeError
            When nothing is being followed.
        TimeoutError
            When ``timeout`` seconds pass first.
        """
        if self._job is None:
            raise RuntimeError("Nothing to wait for: call follow(prediction) first.")
        if on_io_thread():
            raise RuntimeError(
                "wait() would block the widgets' own loop; await instead."
            )
        return self._job.result(timeout)

    def stop(self) -> None:
        """Stop following (the prediction itself keeps running; see :meth:`cancel`)."""
        self._stop_job()

    def reset(self) -> None:
        """Stop following and clear the panel, ready for the next prediction."""
        self._stop_job()
        self._generation += 1
        generation = self._generation
        self._on_loop(lambda: self._clear(generation))

    def cancel(self) -> concurrent.futures.Future[None]:
        """Ask the backend to cancel the followed prediction.

        The panel shows ``canceled`` once the backend confirms it.
        """
        return submit(self._cancel(self._generation))

    def on_gone(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` when every view of the panel left an open notebook.

        That is the output being cleared or its cell re-run (in JupyterLab), not the
        notebook being closed. Widgets that start predictions use it to cancel what
        nobody can see or stop any more. It is called from the widgets' background
        thread.
        """
        self._gone.append(callback)

    @property
    def shown(self) -> bool:
        """Whether a view of the panel is open in a notebook, as far as it told."""
        with self._views_lock:
            return bool(self._views)

    @property
    def schema(self) -> ModelSchema | None:
        """The model's schema, whose secrets the JSON view masks.

        Set it when it becomes known later (History fetches it while the panel
        already follows): a JSON view shown already is masked again with it.
        """
        return self._schema

    @schema.setter
    def schema(self, schema: ModelSchema | None) -> None:
        self._schema = schema
        prediction = self.prediction if self.raw else None
        if prediction is not None:
            self.raw = raw_json(prediction, schema, self._log_limit)

    @property
    def prediction(self) -> Prediction | None:
        """The latest state of the prediction as the backend reported it."""
        return self._follower.prediction if self._follower else None

    @property
    def files(self) -> list[MediaItem]:
        """Output files fetched so far, with their original bytes."""
        if self._follower is None:
            return []
        return list(self._follower.media.values())

    @property
    def full_logs(self) -> str:
        """Every log character, including those not shown in the panel."""
        return self._state.logs.full if self._state else ""

    # -- background work (on the io loop's thread) -----------------------------------

    async def _run(
        self,
        generation: int,
        target: str | Prediction,
        client: RunSource | None,
        kind: str | None,
    ) -> Prediction:
        own_client = None
        if client is None:
            from replicate_widgets._client.client import Client

            client = own_client = Client()
        state = PanelState(kind, self._log_limit)
        coalescer = Coalescer(lambda: self._flush(generation), max_rate=self._max_rate)
        follower = Follower(
            ClientAdapter(client),
            state,
            coalescer.touch,
            max_edge=self._max_edge,
            clock=time.time,
        )
        self._state, self._follower, self._phase_count = state, follower, -1
        self._clear(generation)
        try:
            return await follower.run(target)
        finally:
            coalescer.close()
            if own_client is not None:
                own_client.close()

    async def _cancel(self, generation: int) -> None:
        follower = self._follower
        # The id given to follow() counts even before the first response arrives.
        prediction_id = self._target_id
        if follower is None or not prediction_id:
            return
        try:
            await follower.api.cancel(prediction_id)
        except Exception as exc:
            if generation == self._generation:
                self.cancel_state = "failed"
                self.problem = (
                    f"Cancel did not reach the backend: {type(exc).__name__}: {exc}"
                )
            raise
        if generation == self._generation:
            self.cancel_state = "sent"

    def _flush(self, generation: int) -> None:
        state, follower = self._state, self._follower
        if generation != self._generation or state is None or follower is None:
            return  # a newer follow() owns the panel now
        now = time.time()
        keys = {url: item.key for url, item in follower.media.items()}
        media = self._media.entries(state, follower)
        with self.hold_sync():
            self.prediction_id = state.prediction_id
            self.model = state.model
            self.status = state.status
            if len(state.phases) != self._phase_count or state.final:
                # The browser ticks an open phase itself; resend only on a new phase.
                self.timeline = state.timeline(now)
                self._phase_count = len(state.phases)
            self.metrics = state.metrics
            self.logs_dropped = state.logs.dropped
            self.progress = state.progress()
            self.output_kind = state.kind or ""
            self._set_growing(
                {"text": state.text, "logs": state.logs.tail}, final=state.final
            )
            self.media = media
            self.value = state.value_with_media(keys)
            self.embedding = state.embedding or {}
            self.error = state.error
            self.booting = state.booting and state.status == "starting"
            if state.final and follower.prediction is not None and not self.raw:
                self.raw = raw_json(follower.prediction, self.schema, self._log_limit)

    def close(self) -> None:
        """Stop following and close the panel."""
        # Also runs from __del__, possibly of a panel whose __init__ raised early.
        if hasattr(self, "_media"):
            self._stop_job()
            self._media.clear()
        super().close()

    def _clear(self, generation: int) -> None:
        if generation != self._generation:
            return
        with self.hold_sync():
            for name in (
                "prediction_id",
                "model",
                "status",
                "logs",
                "output_kind",
                "text",
            ):
                setattr(self, name, "")
            self.error = self.problem = self.cancel_state = ""
            self.booting = False
            self.timeline, self.media = [], []
            self.metrics, self.progress, self.embedding = {}, {}, {}
            self.raw = {}
            self.logs_dropped = 0
            self.value = None
            # The last run's last append would not fit the cleared text: a view
            # made now would ask for the whole (empty) text for nothing.
            self._appends = {}
        self._media.clear()

    def _report(self, job: concurrent.futures.Future[Prediction]) -> None:
        # Runs in the io thread when the job ends (or in the thread that cancelled it).
        if job.cancelled():
            return
        exc = job.exception()
        if exc is None:
            return
        message = _advice(exc)
        self._on_loop(lambda: self._set_problem(message))

    def _set_problem(self, message: str) -> None:
        self.problem = message

    def _stop_job(self) -> None:
        if self._job is not None and not self._job.done():
            self._job.cancel()
        self._job = None

    def _on_loop(self, fn: Any) -> None:
        """Run ``fn`` on the io thread (now, if already there), keeping one writer."""
        if on_io_thread():
            fn()
        else:
            io_loop().call_soon_threadsafe(fn)

    # -- messages from the browser (main thread) -------------------------------------

    def _on_message(self, _widget: object, content: Any, _buffers: object) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("kind")
        if kind == "cancel":
            self.cancel()
        elif kind == "media":
            self._send_media(content.get("ids"))
        elif kind == "download":
            submit(self._send_file(str(content.get("key", ""))))
        elif kind == "full_logs":
            submit(self._send_logs())
        elif kind == "resync":
            # A view missed an append (it connected mid-stream): send it all.
            name = content.get("key")
            self._on_loop(lambda: self._resync(name))
        elif kind == "view":
            self._view_changed(str(content.get("view", "")), content.get("open"))

    def _view_changed(self, view: str, is_open: object) -> None:
        """Count a view shown, or removed from a notebook that is still open."""
        if not view:
            return
        with self._views_lock:
            if is_open is True:
                self._views.add(view)
                return
            if view not in self._views:
                return  # a view the kernel never heard of proves nothing
            self._views.discard(view)
            if self._views:
                return
        io_loop().call_soon_threadsafe(
            io_loop().call_later, VIEWS_GONE_AFTER, self._maybe_gone
        )

    def _maybe_gone(self) -> None:
        with self._views_lock:
            if self._views:
                return  # a view came back
        for callback in list(self._gone):
            try:
                callback()
            except Exception:  # noqa: S112 - one owner's failure must not stop the rest
                continue

    def _send_media(self, ids: object) -> None:
        """Send a view the display bytes it asked for, one message each."""
        if not isinstance(ids, list):
            return
        for media_id in ids[:MAX_IDS_ASKED]:
            if not isinstance(media_id, str):
                continue
            data = self._media.get(media_id)
            if data is None:  # not (or no longer) held: the view stops waiting
                self.send({"kind": "media", "id": media_id[:100], "missing": True})
            else:
                self.send({"kind": "media", "id": media_id}, buffers=[data])

    async def _send_file(self, key: str) -> None:
        for item in self.files:
            if item.key == key:
                reply = {
                    "kind": "file",
                    "key": key,
                    "name": item.name,
                    "mime": item.mime,
                }
                self.send(reply, buffers=[item.data])
                return

    async def _send_logs(self) -> None:
        self.send({"kind": "full_logs"}, buffers=[self.full_logs.encode()])


def _advice(exc: BaseException) -> str:
    """Say what went wrong while following, and what to do; never with the token.

    The client's errors already name the cause and the next step; anything else is
    unexpected, so its traceback is shown for a bug report.
    """
    from replicate_widgets._client.errors import ReplicateError

    if isinstance(exc, ReplicateError):
        return f"Could not follow the prediction: {exc}"
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return (
        f"Following the prediction stopped with {type(exc).__name__}: {exc}\n"
        "This looks like a bug in replicate_widgets; please report it with this "
        f"traceback:\n{trace}"
    )
