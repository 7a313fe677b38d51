"""Cog projects as people write them today, served by the local backend.

Each folder in ``projects/`` is a Cog project in a shape Cog's own integration
tests use (``cog init``'s ``run:`` runner, ``BaseRunner``, function
predictors, training, ``environment:``, file inputs that check the suffix,
metrics, async iterators with concurrency), written for this suite. They are
served from copies (loading writes ``.cog/`` into the folder) and driven with
the official ``replicate`` client. ``expected_schema.json`` beside a project
holds the schema components ``cog build`` would write for it, written by hand
from its rules (``x-order``, titles, ``nullable``, ``format: uri``, iterator
outputs, ``TrainingInput``/``TrainingOutput`` titled ``Output``).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("coglet")

import replicate
from replicate.exceptions import ReplicateError

from replicate_widgets.server import LocalServer, serve
from replicate_widgets.server._cog.models import load_model
from replicate_widgets.server._engine.engine import apply_metric
from replicate_widgets.server._engine.runner import ModelRunner
from replicate_widgets.server._engine.runner_events import RunnerEvent
from replicate_widgets.server._storage.model_files import ModelLoadError

pytestmark = pytest.mark.integration

PROJECTS = Path(__file__).parent / "projects"
ROOT = Path(__file__).resolve().parents[2]
# Projects that load; "broken" and "missing-packages" must not.
SERVED = sorted(
    p.name
    for p in PROJECTS.iterdir()
    if p.is_dir() and p.name not in {"broken", "missing-packages"}
)


def copy_project(name: str, into: Path) -> Path:
    target = into / name
    shutil.copytree(PROJECTS / name, target, ignore=shutil.ignore_patterns(".cog"))
    return target


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cog-projects")
    for name in SERVED:
        copy_project(name, folder)
    return folder


@pytest.fixture(scope="module")
def server(
    projects: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalServer]:
    data = tmp_path_factory.mktemp("cog-projects-data")
    models = [projects / name for name in SERVED]
    with serve(port=0, models=models, bundled=False, data_dir=data) as running:
        yield running


@pytest.fixture
def client(server: LocalServer) -> Iterator[replicate.Client]:
    c = replicate.Client(api_token="x", base_url=server.url)
    c.poll_interval = 0.05
    yield c
    c._client.close()  # its pool would otherwise warn when collected


def wait(prediction: Any) -> Any:
    prediction.wait()
    return prediction


# ----------------------------------------------------------------- run shapes
@pytest.mark.parametrize(
    ("project", "given", "expected"),
    [
        # cog init today: run: "run.py:Runner", a BaseRunner with setup()
        ("runner", {"prompt": "Alice", "times": 2}, "hello Alice hello Alice"),
        ("legacy-predictor", {"s": "world"}, "hello world"),
        ("function-predictor", {"prompt": "world"}, "HELLO WORLD"),
        ("function-runner", {"text": "a bb ccc", "minimum": 2}, 2),
        # src/run.py importing a module from the project's root
        ("subdirectory", {"s": "world"}, "hello world"),
        ("trainer-class", {"s": "world"}, "hello world"),
    ],
)
def test_project_runs(
    client: replicate.Client, project: str, given: dict[str, Any], expected: Any
) -> None:
    assert client.run(f"local/{project}", input=given) == expected


def test_schemas_are_what_cog_writes(client: replicate.Client) -> None:
    checked = []
    for name in SERVED:
        expected = json.loads((PROJECTS / name / "expected_schema.json").read_text())
        served = client.models.get(f"local/{name}").latest_version.openapi_schema
        schemas = served["components"]["schemas"]
        assert {k: schemas.get(k) for k in expected} == expected, name
        checked.append(name)
    assert checked == SERVED


def test_serve_starts_with_a_cog_init_project(projects: Path, tmp_path: Path) -> None:
    # `serve --model` used to exit ("has no predict.py") for this folder.
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "replicate_widgets.server",
            "--port",
            "0",
            "--no-bundled",
            "--data-dir",
            str(tmp_path),
            "--model",
            str(projects / "runner"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**_env(), "PYTHONUNBUFFERED": "1"},
    ) as proc:
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
        finally:
            proc.terminate()
        rest = proc.communicate(timeout=30)[0]
    assert "http://127.0.0.1:" in first, first + rest


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": str(ROOT)}


# ------------------------------------------------------------------- training
def test_training_function_named_by_train(client: replicate.Client) -> None:
    client.models.create(
        owner="local", name="trained", visibility="private", hardware="cpu"
    )
    base = client.models.get("local/training").latest_version.id
    training = client.trainings.create(
        version=f"local/training:{base}", destination="local/trained", input={"n": 5}
    )
    while training.status not in {"succeeded", "failed", "canceled"}:
        time.sleep(0.05)
        training.reload()
    assert training.status == "succeeded", training.error
    new = training.output["version"]
    assert client.run(new, input={"s": "run"}) == "run with 5 bytes of weights"


def test_trainer_class_with_setup(client: replicate.Client) -> None:
    client.models.create(
        owner="local", name="trained-class", visibility="private", hardware="cpu"
    )
    base = client.models.get("local/trainer-class").latest_version.id
    training = client.trainings.create(
        version=f"local/trainer-class:{base}",
        destination="local/trained-class",
        input={"s": "world"},
    )
    while training.status not in {"succeeded", "failed", "canceled"}:
        time.sleep(0.05)
        training.reload()
    assert training.status == "succeeded", training.error
    # train() ran on the instance setup() prepared; a training's output is
    # kept as the new version's weights.
    assert training.output["weights"] == "hello train world"


# ---------------------------------------------------------------- environment
@pytest.mark.parametrize(
    ("name", "value"),
    [("TEST_VAR", "test_value"), ("NAME", "michael"), ("GREETING", "hello=world")],
)
def test_environment_reaches_the_model(
    client: replicate.Client, name: str, value: str
) -> None:
    output = client.run("local/environment", input={"name": name})
    # Seen by run(), by setup() and by code run at import.
    assert output == f"ENV[{name}]={value} import=test_value setup=michael"


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (["PATH=/opt/bin"], r"line 5: environment variable 'PATH' is not allowed"),
        (["REPLICATE_API_TOKEN=r8"], r"line 5: .*'REPLICATE_API_TOKEN'.*REPLICATE_\*"),
        (["CUDA_HOME=/x"], r"'CUDA_HOME' is not allowed"),
        (["PORT=9"], r"'PORT' is not allowed: the local backend sets it"),
        (["A=1", "A=2"], r"line 6: environment variable 'A' is already defined"),
        (["JUSTANAME"], r"line 5: .*'JUSTANAME' is not in the NAME=value format"),
        (["=value"], r"not in the NAME=value format"),
    ],
)
def test_bad_environment_entries_are_refused(
    tmp_path: Path, entries: list[str], message: str
) -> None:
    folder = copy_project("environment", tmp_path)
    lines = "".join(f"  - {json.dumps(e)}\n" for e in entries)
    (folder / "cog.yaml").write_text(
        f'build:\n  python_version: "3.12"\nrun: "run.py:Runner"\nenvironment:\n{lines}'
    )
    with pytest.raises(ModelLoadError, match=message) as info:
        load_model(folder)
    assert "cog.yaml" in str(info.value)


# ---------------------------------------------------------------- file inputs
def test_uploaded_file_keeps_its_name_and_suffix(
    client: replicate.Client, tmp_path: Path
) -> None:
    photo = tmp_path / "holiday photo+1.jpg"
    photo.write_bytes(b"\xff\xd8\xff" + b"0" * 97)
    # The client uploads the file (POST /v1/files) and passes its URL.
    output = client.run("local/file-suffix", input={"file": photo})
    suffix, size, name = output.split(" ", 2)
    assert (suffix, size) == (".jpg", "100")
    assert name.endswith("holiday photo+1.jpg")


def test_files_api_file_keeps_its_name(client: replicate.Client) -> None:
    created = client.files.create(
        io.BytesIO(b"notes"), filename="../../notes.txt", content_type="text/plain"
    )
    output = client.run("local/file-suffix", input={"file": created.urls["get"]})
    # Only the last component of the name is used: nothing escapes the URL.
    assert output.startswith(".txt 5 ")
    assert output.endswith("notes.txt")
    assert "/" not in output.split(" ", 2)[2]
    unnamed = client.files.create(
        io.BytesIO(b"\x89PNG"), filename="blob", content_type="image/png"
    )
    output = client.run("local/file-suffix", input={"file": unnamed.urls["get"]})
    assert output.split(" ")[:2] == [".png", "4"]


def test_data_url_with_a_known_type_has_its_suffix(client: replicate.Client) -> None:
    encoded = base64.b64encode(b"\x89PNG-bytes").decode()
    output = client.run(
        "local/file-suffix", input={"file": f"data:image/png;base64,{encoded}"}
    )
    assert output.split(" ")[:2] == [".png", "10"]


def test_named_download_url_still_needs_its_signature(tmp_path: Path) -> None:
    with (
        serve(port=0, bundled=False, data_dir=tmp_path, token="sekrit") as guarded,
        httpx.Client(
            base_url=guarded.url, headers={"Authorization": "Bearer sekrit"}
        ) as api,
    ):
        file_id = api.post(
            "/files", files={"content": ("photo.jpg", b"jpg", "image/jpeg")}
        ).json()["id"]
        anonymous = httpx.Client(base_url=guarded.url)
        with anonymous:
            for query in ("", "?owner=local&expiry=9999999999&signature=00"):
                url = f"/files/{file_id}/download/photo.jpg{query}"
                assert anonymous.get(url).status_code == 401
        assert api.get(f"/files/{file_id}/download/photo.jpg").content == b"jpg"


# -------------------------------------------------------------------- metrics
def test_dotted_metrics_are_nested_once(client: replicate.Client) -> None:
    prediction = wait(client.models.predictions.create("local/metrics", input={}))
    assert prediction.status == "succeeded", prediction.error
    metrics = dict(prediction.metrics)
    assert metrics.pop("predict_time") >= 0
    assert metrics.pop("total_time") >= 0
    # The shape coglet itself returns: dotted names nested, incr added up,
    # deleted names gone, nothing flat besides.
    assert metrics == {
        "temperature": 0.7,
        "token_count": 3,
        "tags": ["fast", "cached"],
        "timing": {"preprocess": 0.1, "steps": {"total": 5}},
        "dict_metric": "hello",
    }


def test_metric_events_fold_into_what_coglet_returns(tmp_path: Path) -> None:
    # While a prediction runs, the backend folds coglet's metric events into
    # its document; folded, they must equal coglet's own final snapshot.
    model = load_model(copy_project("metrics", tmp_path))

    async def run() -> list[RunnerEvent]:
        runner = ModelRunner(model)
        try:
            return [event async for event in runner.run("metrics-fold", {})]
        finally:
            await runner.close()

    events = asyncio.run(run())
    folded: dict[str, Any] = {}
    for event in events:
        if event.kind == "metric":
            apply_metric(folded, event.data)
    final = dict(events[-1].data["metrics"])
    final.pop("predict_time")
    assert folded == final
    assert folded["token_count"] == 3


# --------------------------------------------- async iterators, concurrency
def test_async_generator_with_concurrency_streams_live(
    server: LocalServer, tmp_path: Path
) -> None:
    # Each prediction yields item i only after the client has seen the
    # *other* prediction's item i-1: that needs both running at once and both
    # streaming live (coglet alone delivers them at the end).
    gates = {"a": tmp_path / "gate-a", "b": tmp_path / "gate-b"}
    other = {"a": "b", "b": "a"}
    seen: dict[str, list[str]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def follow(key: str) -> None:
        # One client per thread: an httpx pool shared by threads leaks sockets.
        client = replicate.Client(api_token="x", base_url=server.url)
        try:
            for event in client.stream(
                "local/async-concurrent", input={"n": 3, "gate": str(gates[key])}
            ):
                if event.event.value == "output":
                    seen[key].append(str(event))
                    Path(f"{gates[other[key]]}.{len(seen[key])}").touch()
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            client._client.close()

    threads = [threading.Thread(target=follow, args=(k,)) for k in seen]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert seen == {k: ["chunk-0", "chunk-1", "chunk-2"] for k in seen}


def test_async_generator_with_concurrency_can_be_canceled(
    client: replicate.Client, tmp_path: Path
) -> None:
    marker = tmp_path / "closed.txt"
    prediction = client.models.predictions.create(
        "local/async-concurrent",
        input={"n": 5, "gate": str(tmp_path / "never"), "marker": str(marker)},
    )
    while not prediction.output:
        time.sleep(0.05)
        prediction.reload()
    assert prediction.output == ["chunk-0"]  # streamed before the run ended
    prediction.cancel()
    wait(prediction)
    assert prediction.status == "canceled"
    # The generator's own finally ran, and the process serves the next one.
    assert marker.read_text() == "closed"
    assert list(client.run("local/async-concurrent", input={"n": 2})) == [
        "chunk-0",
        "chunk-1",
    ]


# ------------------------------------------------------------ loading errors
def test_missing_packages_are_named_when_loading(tmp_path: Path) -> None:
    folder = copy_project("missing-packages", tmp_path)
    with pytest.raises(ModelLoadError) as info:
        load_model(folder)
    message = str(info.value)
    assert "cog.yaml, line 3" in message
    assert "rw-absent-package-one==1.2, rw-absent-package-two[extra]>=0.1." in message
    assert (
        f"{sys.executable} -m pip install rw-absent-package-one==1.2 "
        "'rw-absent-package-two[extra]>=0.1'" in message
    )
    # Installed ones, and one whose marker does not apply, are not listed.
    for absent in ("pillow", "httpx", "three"):
        assert absent not in message


def test_unloadable_folder_names_the_file_and_line(tmp_path: Path) -> None:
    folder = copy_project("broken", tmp_path)
    with pytest.raises(ModelLoadError) as info:
        load_model(folder)
    first = str(info.value).splitlines()[0]
    assert first.endswith("run.py, line 4: KeyError: 'sizes'")
    assert "cog.yaml, line 3: run: run.py:Runner" in str(info.value)
    # `serve` exits with the same message.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "replicate_widgets.server",
            "--port",
            "0",
            "--no-bundled",
            "--data-dir",
            str(tmp_path / "data"),
            "--model",
            str(folder),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        check=False,
    )
    assert done.returncode == 2
    assert "run.py, line 4: KeyError: 'sizes'" in done.stderr


@pytest.mark.parametrize(
    ("cog_yaml", "message"),
    [
        (
            'build:\n  gpu: false\nrun: "runner.py:Runner"\n',
            r"cog.yaml, line 3: run: runner.py:Runner names runner.py, which is "
            r"not a file",
        ),
        (
            'run: "run.py:Runner"\npredict: "run.py:Runner"\n',
            r"cog.yaml, line 2: cog.yaml sets both run: and predict:",
        ),
        ('run: "run.py"\n', r"line 1: run: 'run.py' must be in the form"),
        (
            'run: "run.py:Runner"\nbuild: [\n',
            r"cog.yaml, line 3: cog.yaml is not valid YAML",
        ),
        ('run: "run.py:Runer"\n', r"run.py defines no 'Runer'"),
        ("run: 'run.py:Runner'\nconcurrency:\n  max: 0\n", r"line 3: concurrency"),
    ],
)
def test_cog_yaml_mistakes_name_the_line(
    tmp_path: Path, cog_yaml: str, message: str
) -> None:
    folder = copy_project("runner", tmp_path)
    (folder / "cog.yaml").write_text(cog_yaml)
    with pytest.raises(ModelLoadError, match=message):
        load_model(folder)


# ---------------------------------------------------------------- explicit null
def test_explicit_null_means_not_given(client: replicate.Client) -> None:
    # Replicate drops an input given as null, so the model gets its default;
    # coglet alone would reject the request (see docs/cog-projects.md).
    assert (
        client.run(
            "local/nullable-input", input={"text": "a", "suffix": None, "repeat": None}
        )
        == "a (suffix=None)"
    )
    assert (
        client.run("local/nullable-input", input={"text": "a", "suffix": "!"})
        == "a! (suffix='!')"
    )
    with pytest.raises(ReplicateError) as info:
        client.models.predictions.create("local/nullable-input", input={"text": None})
    assert info.value.status == 422
    assert "text is required" in str(info.value.detail)


def test_a_model_never_sees_the_persons_replicate_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A kernel that embeds the backend holds the person's token in its
    # environment; the model processes it starts are someone else's code.
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_" + "x" * 37)
    monkeypatch.setenv("REPLICATE_WIDGETS_SOMETHING", "private")
    folder = copy_project("environment", tmp_path)
    with serve(
        port=0, models=[folder], bundled=False, data_dir=tmp_path / "data"
    ) as running:
        client = replicate.Client(api_token="unused", base_url=running.url)
        try:
            for name in ("REPLICATE_API_TOKEN", "REPLICATE_WIDGETS_SOMETHING"):
                output = client.run("local/environment", input={"name": name})
                assert output.startswith(f"ENV[{name}]=None "), output
            # Other variables still arrive, as in any process.
            assert client.run("local/environment", input={"name": "HOME"}) != (
                "ENV[HOME]=None import=test_value setup=michael"
            )
        finally:
            client._client.close()
