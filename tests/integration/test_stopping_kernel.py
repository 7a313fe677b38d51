"""Stopping must stop, in a real Jupyter kernel talking to a backend in this process.

The kernel is started with jupyter_client and sent execute requests as JupyterLab
sends them (with the cell's id in the metadata); the backend runs in the test
process, so it outlives the kernel and the test reads every prediction's status
from it. Covered: Interrupt during ``pg.run()``, re-running the cell that made a
widget, the kernel killed outright, and how this package's errors look.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from replicate_widgets.server import LocalServer
from tests._stopping_support import TERMINAL, status_of, wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
ANSI = "\x1b["


class Kernel:
    """A Python kernel, and the execute requests sent to it with their outputs."""

    def __init__(self, tmp_path: Path) -> None:
        from jupyter_client.manager import KernelManager

        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "REPLICATE_WIDGETS_DATA_DIR": str(tmp_path / "data"),
            "REPLICATE_WIDGETS_OUTPUTS": str(tmp_path / "outputs"),
        }
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(env=env, cwd=str(tmp_path))
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)
        self.outputs: dict[str, list[dict[str, Any]]] = {}
        self.replies: dict[str, dict[str, Any]] = {}

    def send(
        self, code: str, cell: str | None = None, deleted: tuple[str, ...] = ()
    ) -> str:
        """Send ``code`` as cell ``cell`` (a new id if None); return the message id.

        ``deleted`` lists cells deleted since the last request, as JupyterLab does.
        """
        msg = self.client.session.msg(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": True,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
            metadata={"cellId": cell or uuid.uuid4().hex, "deletedCells": [*deleted]},
        )
        self.client.shell_channel.send(msg)
        msg_id = str(msg["header"]["msg_id"])
        self.outputs[msg_id] = []
        return msg_id

    def reply(self, msg_id: str, timeout: float = 180) -> dict[str, Any]:
        """Wait for the reply to ``msg_id``; collect its outputs meanwhile."""
        deadline = time.monotonic() + timeout
        while msg_id not in self.replies:
            assert time.monotonic() < deadline, f"no reply to {msg_id}"
            for get, keep in (
                (self.client.get_shell_msg, self._keep_reply),
                (self.client.get_iopub_msg, self._keep_output),
            ):
                try:
                    keep(get(timeout=0.05))
                except Exception:  # noqa: S112 - queue.Empty: nothing yet
                    continue
        # Outputs published before the reply may still be on their way.
        self._drain()
        return self.replies[msg_id]

    def run(
        self, code: str, cell: str | None = None, deleted: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """Run ``code`` to its end; return the reply content (``status`` ...)."""
        return self.reply(self.send(code, cell, deleted))

    def printed(self, msg_id: str) -> str:
        return "".join(
            m["content"].get("text", "")
            for m in self.outputs[msg_id]
            if m["msg_type"] == "stream"
        )

    def errors(self, msg_id: str) -> list[dict[str, Any]]:
        return [m["content"] for m in self.outputs[msg_id] if m["msg_type"] == "error"]

    def _keep_reply(self, msg: dict[str, Any]) -> None:
        self.replies[msg["parent_header"].get("msg_id", "")] = msg["content"]

    def _keep_output(self, msg: dict[str, Any]) -> None:
        parent = msg["parent_header"].get("msg_id", "")
        if parent in self.outputs:
            self.outputs[parent].append(msg)

    def _drain(self) -> None:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                self._keep_output(self.client.get_iopub_msg(timeout=0.1))
            except Exception:  # queue.Empty: all in
                return

    @property
    def pid(self) -> int:
        return int(self.manager.provisioner.pid)

    def close(self) -> None:
        self.client.stop_channels()
        if self.manager.is_alive():
            self.manager.shutdown_kernel(now=True)
        self.manager.cleanup_resources()
        self.manager.context.destroy(linger=0)


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[Kernel]:
    k = Kernel(tmp_path)
    try:
        yield k
    finally:
        k.close()


@pytest.fixture
def api(backend: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=backend.url + "/", timeout=60) as client:
        yield client
        # The model takes one prediction at a time: leave it free. A cancel
        # answers after at most a few seconds even if the run has not ended
        # yet, so wait for the end: the next test must not find it running.
        for kind in ("predictions", "trainings"):
            for doc in client.get(kind).json()["results"]:
                if doc["status"] not in TERMINAL:
                    client.post(f"{kind}/{doc['id']}/cancel")
                    wait_for(client, doc["id"], TERMINAL, kind=kind)


def known_ids(api: httpx.Client, kind: str = "predictions") -> frozenset[str]:
    """The ids of the newest predictions (or ``kind``) the backend lists now."""
    return frozenset(str(doc["id"]) for doc in api.get(kind).json()["results"])


def running_id(
    api: httpx.Client,
    timeout: float = 120.0,
    kind: str = "predictions",
    besides: frozenset[str] = frozenset(),
) -> str:
    """The prediction (or training) the backend runs now, once there is one.

    Ids in ``besides`` (made before the test's own) are passed over.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for doc in api.get(kind).json()["results"]:
            if doc["status"] == "processing" and doc["id"] not in besides:
                return str(doc["id"])
        time.sleep(0.05)
    raise AssertionError("nothing started running")


def wait_for_file(path: Path, timeout: float = 60.0) -> None:
    """Wait until ``path`` exists."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"no {path.name}"
        time.sleep(0.05)


def playground(kernel: Kernel, backend: LocalServer, cell: str, **options: Any) -> None:
    """Make ``pg`` in cell ``cell`` and press its Run for a 60 s echo."""
    extra = "".join(f", {k}={v!r}" for k, v in options.items())
    reply = kernel.run(
        "import replicate_widgets as rw\n"
        f"pg = rw.Playground('demo/echo', backend={backend.url!r}{extra})\n"
        "pg.form.set(text='slow', delay=60)\n"
        "assert pg.form.submit()\n",
        cell,
    )
    assert reply["status"] == "ok", reply


# ------------------------------------------------------------------- interrupt
def test_interrupt_during_run_cancels_the_prediction_and_says_so_in_one_line(
    kernel, backend, api, tmp_path
):
    assert (
        kernel.run(
            f"import replicate_widgets as rw\npg = rw.Playground('demo/echo', "
            f"backend={backend.url!r})\n"
            "from tests._stopping_support import mark_when_main_waits_in_run\n"
            "mark_when_main_waits_in_run('waiting')"
        )["status"]
        == "ok"
    )
    before = known_ids(api)
    msg_id = kernel.send("pg.run(text='slow', delay=60)")
    # The order is fixed, not timed: this run is running on the backend and the
    # kernel waits for it in pg.run(); then the interrupt.
    pid = running_id(api, besides=before)
    wait_for_file(tmp_path / "waiting")
    kernel.manager.interrupt_kernel()
    reply = kernel.reply(msg_id)
    assert reply["status"] == "error"
    assert reply["ename"] == "KeyboardInterrupt"
    (error,) = kernel.errors(msg_id)
    shown = "\n".join(error["traceback"])
    # One line and the way to the rest: no trip through concurrent.futures.
    assert len(error["traceback"]) == 2, shown
    assert f"canceled prediction {pid}" in shown
    assert "concurrent" not in shown
    assert "Traceback" not in shown
    assert "%tb" in shown
    assert status_of(api, pid) == "canceled"


# -------------------------------------------------------------------- re-runs
def test_running_the_cell_again_cancels_what_its_widget_started(kernel, backend, api):
    playground(kernel, backend, "cell-1")
    first = running_id(api)
    playground(kernel, backend, "cell-1")  # the same cell, run again
    assert wait_for(api, first, TERMINAL) == "canceled"
    # The new widget's run goes on (it now has the model).
    second = running_id(api)
    assert second != first
    # Another cell running leaves it alone.
    assert kernel.run("x = 1", "cell-2")["status"] == "ok"
    assert status_of(api, second) == "processing"


def test_deleting_the_cell_cancels_what_its_widget_started(kernel, backend, api):
    playground(kernel, backend, "cell-1")
    pid = running_id(api)
    assert kernel.run("x = 1", "cell-2", deleted=("cell-1",))["status"] == "ok"
    assert wait_for(api, pid, TERMINAL) == "canceled"


def test_keep_running_widgets_survive_their_cell_running_again(kernel, backend, api):
    playground(kernel, backend, "cell-1", keep_running=True)
    first = running_id(api)
    assert kernel.run("pass", "cell-1")["status"] == "ok"
    time.sleep(1.0)  # a cancel would have reached the backend by now
    assert status_of(api, first) == "processing"


def trainer(kernel: Kernel, backend: LocalServer, api: httpx.Client, cell: str) -> str:
    """Make ``trainer`` in cell ``cell`` and press its Train (a 30 s training);
    return the training's id once the backend runs it."""
    reply = kernel.run(
        "import uuid, replicate_widgets as rw\n"
        f"client = rw.Client(base_url={backend.url!r})\n"
        "dest = f'local/t-{uuid.uuid4().hex[:8]}'\n"
        "client.models.create('local', dest.split('/')[1], visibility='private', "
        "hardware='cpu')\n"
        "trainer = rw.Trainer('test/slow-trainer', client=client, destination=dest)\n"
        "trainer.ready.result(60)\n"
        "trainer.start(steps=300)\n",
        cell,
    )
    assert reply["status"] == "ok", reply
    return running_id(api, kind="trainings")


def test_running_a_trainer_cell_again_cancels_its_training(kernel, backend, api):
    tid = trainer(kernel, backend, api, "cell-1")
    assert kernel.run("x = 1", "cell-2")["status"] == "ok"  # another cell: no loss
    assert status_of(api, tid, "trainings") == "processing"
    assert kernel.run("pass", "cell-1")["status"] == "ok"  # the same cell again
    assert wait_for(api, tid, TERMINAL, kind="trainings") == "canceled"


def test_running_a_sweep_cell_again_leaves_no_extra_widgets(kernel, backend):
    """The widget a cell made is closed when the cell runs again: re-running the
    same cell keeps as many widgets open as running it once."""
    sweep = (
        "import replicate_widgets as rw\n"
        f"sweep = rw.Sweep('demo/echo', base={{'delay': 0}}, "
        f"grid={{'text': ['a', 'b']}}, backend={backend.url!r})\n"
        "sweep.run()\n"
        "sweep"
    )
    count = "from ipywidgets.widgets.widget import _instances\nprint(len(_instances))"
    counts = []
    for _ in range(3):
        assert kernel.run(sweep, "cell-1")["status"] == "ok"
        msg_id = kernel.send(count, "cell-2")
        assert kernel.reply(msg_id)["status"] == "ok"
        counts.append(int(kernel.printed(msg_id)))
    assert counts[0] > 0
    assert counts == [counts[0]] * 3, counts


# -------------------------------------------------------------- kernel death
@pytest.fixture
def short_grace(backend: LocalServer) -> Iterator[float]:
    sessions = backend._sessions
    before, sessions.grace = sessions.grace, 1.0
    yield sessions.grace
    sessions.grace = before


def test_a_killed_kernel_s_predictions_are_canceled_by_the_backend(
    kernel, backend, api, short_grace
):
    playground(kernel, backend, "cell-1")
    pid = running_id(api)
    # While the kernel lives, its lease keeps the run going past the grace period.
    time.sleep(short_grace * 3)
    assert status_of(api, pid) == "processing"
    os.kill(kernel.pid, signal.SIGKILL)
    assert wait_for(api, pid, TERMINAL) == "canceled"


def test_a_killed_kernel_s_training_is_canceled_by_the_backend(
    kernel, backend, api, short_grace
):
    tid = trainer(kernel, backend, api, "cell-1")
    time.sleep(short_grace * 3)  # the kernel's lease keeps it going
    assert status_of(api, tid, "trainings") == "processing"
    os.kill(kernel.pid, signal.SIGKILL)
    assert wait_for(api, tid, TERMINAL, kind="trainings") == "canceled"


def test_a_restarted_kernel_s_predictions_are_canceled_too(
    kernel, backend, api, short_grace
):
    playground(kernel, backend, "cell-1")
    pid = running_id(api)
    kernel.manager.restart_kernel(now=True)
    assert wait_for(api, pid, TERMINAL) == "canceled"


# ---------------------------------------------------------------------- errors
def test_this_packages_errors_are_one_line_and_tb_shows_the_rest(kernel, backend):
    assert kernel.run("import replicate_widgets as rw")["status"] == "ok"
    msg_id = kernel.send(
        f"rw.Client(base_url={backend.url!r}).models.get('replicate/helo-world')"
    )
    reply = kernel.reply(msg_id)
    assert reply["status"] == "error"
    assert reply["ename"] == "NotFoundError"
    (error,) = kernel.errors(msg_id)
    head, hint = error["traceback"]
    assert "NotFoundError" in head
    assert "Check the spelling" in head
    assert "%tb" in hint
    # The whole traceback is one command away.
    full = kernel.send("%tb")
    kernel.reply(full)
    text = kernel.printed(full) + "".join(
        "\n".join(e["traceback"]) for e in kernel.errors(full)
    )
    assert "_client/client.py" in text
    assert "NotFoundError" in text
    # Anyone else's errors keep IPython's usual traceback.
    other = kernel.send("def f():\n    return 1 / 0\nf()")
    kernel.reply(other)
    (zero,) = kernel.errors(other)
    assert zero["ename"] == "ZeroDivisionError"
    assert len(zero["traceback"]) > 2
    # So do Ctrl-Cs that are not an interrupted run of this package.
    mine = kernel.send("def g():\n    raise KeyboardInterrupt('mine')\ng()")
    assert kernel.reply(mine)["ename"] == "KeyboardInterrupt"
    (interrupt,) = kernel.errors(mine)
    assert len(interrupt["traceback"]) > 2
    assert "%tb" not in "\n".join(interrupt["traceback"])


def test_a_mistyped_model_name_gets_a_suggestion_and_bad_inputs_one_line(
    kernel, backend
):
    msg_id = kernel.send(
        "import replicate_widgets as rw\n"
        f"pg = rw.Playground('replicate/helo-world', backend={backend.url!r})\n"
        "print(pg.error)"
    )
    kernel.reply(msg_id)
    assert "Did you mean replicate/hello-world?" in kernel.printed(msg_id)
    kernel.run(f"pg = rw.Playground('demo/echo', backend={backend.url!r})")
    bad = kernel.send("pg.run(delay=1000)")
    assert kernel.reply(bad)["ename"] == "SchemaError"
    (error,) = kernel.errors(bad)
    assert len(error["traceback"]) == 2
    assert "delay" in error["traceback"][0]
    typo = kernel.send("pg.run(dealy=1)")
    kernel.reply(typo)
    (error,) = kernel.errors(typo)
    assert len(error["traceback"]) == 2
    assert "Did you mean delay?" in error["traceback"][0]
