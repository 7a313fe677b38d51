"""Turn a Cog project folder into a served model version.

A model folder is a Cog project: a ``cog.yaml`` naming the model with ``run:``
(what ``cog init`` writes), ``predict:`` or ``train:`` (see :mod:`.cog_yaml`
for every key read), or, without one, a ``predict.py`` or ``run.py`` holding
the predictor class. A ``model.json`` sidecar may add owner, name, description,
visibility, a pinned ``version``, ``cover_image`` and ``default_example``.
:func:`load_model` checks the packages ``cog.yaml`` lists, generates the Cog
OpenAPI document in a short-lived subprocess, writes the files coglet reads,
and returns a :class:`LocalModel` whose ``version_id`` is a hash of the folder's
files and the document, so editing the code and loading again gives a new
version.

Files written into the folder (coglet reads fixed relative paths)::

    .cog/openapi_schema.json            what the predict-mode coglet reads
                                        (x-cog-streaming forced on, see below)
    .cog/openapi_schema.served.json     the faithful document, as Cog writes it
    .cog/train/.cog/openapi_schema.json what the train-mode coglet reads

``x-cog-streaming`` is forced into the file coglet reads so every model, not just
``@cog.streaming`` ones, reports live SSE events to the runner. The served
document (``LocalModel.openapi_schema``) stays faithful to Cog's rules.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import importlib.metadata
import importlib.util
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from replicate_widgets._model_names import (
    bundled_model_refs,
    is_model_name,
)
from replicate_widgets.server._storage.model_files import (
    ModelLoadError,
    default_predictor,
    force_streaming,
    hash_folder,
    read_sidecar,
    writable_copy,
    write_json,
)

from .cog_yaml import (
    CogConfig,
    install_advice,
    missing_packages,
    model_environment,
    read_cog_yaml,
)
from .schema_cache import (
    cache_key,
    load_cached,
    store_cached,
)

__all__ = ["LocalModel", "bundled_models", "load_model", "runtime_directory"]

# Run by path, not with -m, so the package __init__ (the web server) is not loaded.
_WORKER = Path(__file__).with_name("schema_worker.py")
PLATFORM_MESSAGE = (
    "the local backend needs coglet, available for Linux x86_64/aarch64 and "
    "macOS arm64 (pip install 'cog>=0.23,<0.24'); on other platforms use the "
    "cloud with REPLICATE_API_TOKEN"
)
_SCHEMA_TIMEOUT = 120.0


@dataclass(frozen=True)
class LocalModel:
    """One version of a local Cog model.

    Attributes
    ----------
    owner, name
        ``owner/name`` as served (``local/<folder>`` unless given).
    directory
        The model folder (coglet's working directory in predict mode).
    version_id
        64 hex digits: sha256 of the folder's files and the schema, or the id
        pinned in ``model.json``; a trained version hashes in its weights.
    openapi_schema
        The Cog-style document served as the version's ``openapi_schema``.
    has_train
        Whether the model can be trained (``TrainingInput`` is in the document).
    description, visibility, cover_image, default_example
        From ``model.json`` (``visibility`` defaults to ``"public"``).
    cog_version
        The installed cog version, e.g. ``"0.23.1"``.
    concurrency
        Prediction slots, from ``@cog.concurrent(max=N)`` or ``cog.yaml``.
    weights
        Weights for ``setup(weights)`` (path, URL or data URL), set on versions
        created by a training; coglet passes them as ``COG_WEIGHTS``.
    predict_ref, train_ref
        ``"predict.py:Predictor"``-style references, ``None`` when absent.
    train_runtime_schema
        The document the train-mode coglet reads (``train()`` under
        ``/predictions``), ``None`` when not trainable.
    is_async
        ``run()`` is ``async``.
    async_generator
        ``run()`` is an async generator, which coglet would deliver only at the
        end (see :mod:`.async_stream`).
    predict_method
        The predictor class's method that runs: ``predict`` or ``run``.
    environment
        ``cog.yaml``'s ``environment:``, set in the model's processes.
    """

    owner: str
    name: str
    directory: Path
    version_id: str
    openapi_schema: dict[str, Any]
    has_train: bool
    description: str | None
    visibility: str
    cover_image: Path | None
    default_example: dict[str, Any] | None
    cog_version: str
    concurrency: int
    weights: str | None = None
    predict_ref: str | None = "predict.py:Predictor"
    train_ref: str | None = None
    train_runtime_schema: dict[str, Any] | None = field(default=None, repr=False)
    is_async: bool = False
    async_generator: bool = False
    predict_method: str = "predict"
    environment: dict[str, str] = field(default_factory=dict)

    def __hash__(self) -> int:
        # The schema dicts are unhashable; the version id identifies a version.
        return hash((self.owner, self.name, self.version_id))

    @property
    def full_name(self) -> str:
        """``owner/name``."""
        return f"{self.owner}/{self.name}"

    def with_weights(self, weights: str) -> LocalModel:
        """Return the version of this model that runs ``setup(weights)``.

        Parameters
        ----------
        weights
            A local path, an http(s) URL or a data URL, as a training returned.

        Returns
        -------
        LocalModel
            A copy with ``weights`` set and a version id derived from both.
        """
        digest = hashlib.sha256(f"{self.version_id}\0{weights}".encode()).hexdigest()
        return dataclasses.replace(self, weights=weights, version_id=digest)


_cog_version: list[str] = []  # the version once found (see cog_version)


def cog_version() -> str | None:
    """Return the installed cog version, or ``None`` when cog is not installed."""
    # Reading it parses cog's METADATA file (3 to 10 ms); loading the bundled
    # models asked 14 times at each backend start. A version found is kept for
    # the process (a cog upgraded under a running backend needs a restart for
    # its coglets anyway); a missing cog is looked for again next time.
    if _cog_version:
        return _cog_version[0]
    try:
        found = importlib.metadata.version("cog")
    except importlib.metadata.PackageNotFoundError:
        return None
    _cog_version[:] = [found]
    return found


def coglet_available() -> bool:
    """Tell whether coglet (cog's native prediction server) can be imported."""
    return importlib.util.find_spec("coglet") is not None and cog_version() is not None


def runtime_directory(model: LocalModel, mode: str) -> Path:
    """Write the schema coglet reads for ``mode`` and return coglet's cwd.

    Parameters
    ----------
    model
        The version about to be started.
    mode
        ``"predict"`` or ``"train"``.

    Returns
    -------
    Path
        The model folder for predictions. For training, ``.cog/train`` inside
        it: a train-mode coglet runs ``train()`` on ``/predictions`` but
        validates against ``Input``, so it needs its own document; the folder's
        entries are linked there so relative paths in ``train()`` still work.
    """
    if mode == "train":
        if model.train_runtime_schema is None:
            raise ModelLoadError(f"{model.full_name} defines no train()")
        cwd = model.directory / ".cog" / "train"
        cwd.mkdir(parents=True, exist_ok=True)
        for entry in model.directory.iterdir():
            link = cwd / entry.name
            if entry.name != ".cog" and not link.exists() and not link.is_symlink():
                link.symlink_to(entry)
        write_json(
            cwd / ".cog" / "openapi_schema.json",
            force_streaming(model.train_runtime_schema),
        )
        return cwd
    write_json(
        model.directory / ".cog" / "openapi_schema.json",
        force_streaming(model.openapi_schema),
    )
    return model.directory


# ------------------------------------------------------------------- generator
def _generate(
    directory: Path, config: CogConfig, predict: str | None
) -> dict[str, Any]:
    """Run ``_schema_worker`` in the folder and return its result."""
    with tempfile.TemporaryDirectory(prefix="rw-schema-") as tmp:
        out = Path(tmp, "result.json")
        cmd = [sys.executable, str(_WORKER), "--output", str(out)]
        if predict:
            cmd += ["--predict", predict]
        if config.train:
            cmd += ["--train", config.train]
        try:
            proc = subprocess.run(
                cmd,
                cwd=directory,
                # Module-level code sees cog.yaml's environment, as in Cog.
                env=model_environment(config.environment),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=_SCHEMA_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ModelLoadError(
                f"importing the model in {directory} took more than "
                f"{_SCHEMA_TIMEOUT:.0f} s; move slow work from module level into "
                "setup()"
            ) from exc
        if not out.is_file():
            raise ModelLoadError(
                f"the schema generator for {directory} exited with status "
                f"{proc.returncode} without a result:\n{_tail(proc.stderr)}"
            )
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    if not result.get("ok"):
        raise ModelLoadError(_load_failure(directory, config, predict, result))
    return result


def _load_failure(
    directory: Path, config: CogConfig, predict: str | None, result: dict[str, Any]
) -> str:
    """Say where importing the model failed: its file and line, and what named it."""
    where = result.get("where")
    refs = [(config.predict_key, predict), ("train", config.train)]
    files = sorted({ref.partition(":")[0] for _, ref in refs if ref})
    lines = [
        f"could not load the Cog model in {directory}: "
        + (f"{where}: " if where else "")
        + str(result.get("error"))
    ]
    if config.path is not None:
        named = "; ".join(
            f"{config.where(key)}: {key}: {ref}"
            for key, ref in refs
            if ref and key in config.lines
        )
        if named:
            lines.append(f"(named by {named})")
    fix = where.partition(",")[0] if where else " or ".join(files)
    lines.append(
        f"Fix {fix} (see cog's docs for supported inputs and outputs) and load it "
        "again."
    )
    return "\n".join(lines) + "\n\n" + _tail(result.get("traceback", ""))


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def load_model(
    directory: Path,
    *,
    owner: str = "local",
    name: str | None = None,
    cached: bool = False,
) -> LocalModel:
    """Load a Cog project folder as one model version.

    Parameters
    ----------
    directory
        The model folder.
    owner
        The owner to serve it under.
    name
        The model name; defaults to the folder name.
    cached
        Reuse the schema generated for the same files, cog and Python
        (:mod:`.schema_cache`); for folders whose code imports nothing from
        outside them, such as the bundled models.

    Returns
    -------
    LocalModel
        The version; loading again after an edit gives a new ``version_id``.

    Raises
    ------
    ModelLoadError
        The folder names no predictor (no ``run:``/``predict:``, ``predict.py``
        or ``run.py``), ``cog.yaml`` is invalid (the message names its line),
        packages it lists are not installed (the message gives the pip
        command), the name is not a valid model name, cog is not installed, or
        importing/describing the predictor failed (the message names the file
        and line, and includes the tail of the traceback).

    Notes
    -----
    Blocks for the generator subprocess (about 0.3 s for a small model); call it
    with ``asyncio.to_thread`` from async code.
    """
    directory = Path(directory).resolve()
    if not directory.is_dir():
        raise ModelLoadError(f"{directory} is not a folder; pass a model folder")
    name = name or directory.name
    if not is_model_name(name) or not is_model_name(owner):
        raise ModelLoadError(
            f"{owner}/{name} is not a valid model name: use lowercase letters, "
            "digits, '-', '_' and '.' (pass name=... to choose another name)"
        )
    version = cog_version()
    if version is None or not coglet_available():
        raise ModelLoadError(f"cannot load {directory}: {PLATFORM_MESSAGE}")
    config = read_cog_yaml(directory)
    predict_ref = config.predict or _default_reference(directory)
    for key, ref in ((config.predict_key, config.predict), ("train", config.train)):
        if ref and not (directory / ref.rpartition(":")[0]).is_file():
            raise ModelLoadError(
                f"{config.where(key)}: {key}: {ref} names "
                f"{ref.rpartition(':')[0]}, which is not a file in {directory}; "
                "fix the path (it is relative to cog.yaml)"
            )
    missing = missing_packages(config)
    if missing:
        raise ModelLoadError(install_advice(config, missing))
    sidecar = read_sidecar(directory)
    if cached:
        parts = [predict_ref or "", config.train or "", version]
        parts += [f"{k}={v}" for k, v in sorted(config.environment.items())]
        key = cache_key(directory, parts)
        kept = load_cached(directory, key)
        result = kept or _generate(directory, config, predict_ref)
        if kept is None:
            store_cached(directory, key, result)
    else:
        result = _generate(directory, config, predict_ref)
    served: dict[str, Any] = result["document"]
    facts = result["facts"]
    concurrency = config.concurrency or int(facts.get("concurrency") or 1)
    pinned = sidecar.get("version")
    cover = sidecar.get("cover_image")
    example = sidecar.get("default_example")
    model = LocalModel(
        owner=owner,
        name=name,
        directory=directory,
        version_id=str(pinned) if pinned else hash_folder(directory, served),
        openapi_schema=served,
        has_train=result["train"] is not None,
        description=sidecar.get("description"),
        visibility=str(sidecar.get("visibility", "public")),
        cover_image=(directory / cover) if cover else None,
        default_example=example if isinstance(example, dict) else None,
        cog_version=version,
        concurrency=max(1, concurrency),
        predict_ref=predict_ref,
        train_ref=result.get("train_ref"),
        train_runtime_schema=result.get("train_runtime"),
        is_async=bool(facts.get("is_async")),
        async_generator=bool(facts.get("async_generator")),
        predict_method=str(facts.get("method") or "predict"),
        environment=dict(config.environment),
    )
    write_json(directory / ".cog" / "openapi_schema.served.json", served)
    runtime_directory(model, "predict")
    return model


def _default_reference(directory: Path) -> str:
    """Return the predictor of a folder whose ``cog.yaml`` names none."""
    for candidate in ("predict.py", "run.py"):
        if (directory / candidate).is_file():
            return default_predictor(directory / candidate)
    raise ModelLoadError(
        f"{directory} has no predict.py or run.py, and no cog.yaml naming the "
        "model: add a cog.yaml with run: 'run.py:Runner' (what cog init writes) "
        "naming the file and class (or function) that runs predictions"
    )


def bundled_models() -> list[LocalModel]:
    """Load the demo models shipped in ``replicate_widgets/server/models/``.

    Returns
    -------
    list of LocalModel
        ``replicate/hello-world`` and the ``demo/*`` models, sorted by name; each
        folder's ``model.json`` gives its owner and name.
    """

    def load(item: tuple[Path, tuple[str, str]]) -> LocalModel:
        directory, (owner, name) = item
        return load_model(writable_copy(directory), owner=owner, name=name, cached=True)

    # Each load is a subprocess that mostly waits on imports; overlap them.
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        models = list(pool.map(load, bundled_model_refs().items()))
    return sorted(models, key=lambda m: m.full_name)
