"""Read a model folder's ``cog.yaml`` the way Cog does, for the keys that matter here.

The local backend reads:

- ``run:`` (what ``cog init`` writes) or its older name ``predict:``, and
  ``train:``: ``"file.py:Name"`` naming a class or a function; setting both
  ``run:`` and ``predict:`` is an error, as in Cog;
- ``concurrency: max:``;
- ``environment:``, a list of ``NAME=value`` strings given to the model's
  process, with Cog's own rules (no duplicates, no names Cog reserves) plus the
  few names the backend sets itself;
- ``build.python_packages`` and ``build.python_requirements``, checked against
  the installed packages when the model is loaded (nothing is installed).

Every other key (``build.python_version``, ``gpu``, ``system_packages``, ...) is
about building a container image and is ignored. Errors name ``cog.yaml`` and
the line, and say what to change.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

# yaml and packaging (25 ms of imports) load when a folder has a cog.yaml, or
# it lists packages: the bundled models have neither, and the embedded backend
# loads them before a notebook's first form.
if TYPE_CHECKING:
    import yaml

from replicate_widgets.server._storage.model_files import ModelLoadError

__all__ = [
    "BACKEND_ENVIRONMENT",
    "CogConfig",
    "install_advice",
    "missing_packages",
    "model_environment",
    "read_cog_yaml",
]

# Cog refuses these in ``environment:`` (its build and runtime set them).
_COG_RESERVED = (
    "PATH",
    "LD_LIBRARY_PATH",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "PYTHONUNBUFFERED",
    "R8_*",
    "REPLICATE_*",
    "LIBRARY_PATH",
    "CUDA_*",
    "NVIDIA_*",
    "NV_*",
    "PGET_*",
    "HF_ENDPOINT",
    "HF_HUB_ENABLE_HF_TRANSFER",
    "KUBERNETES_*",
)
BACKEND_ENVIRONMENT = frozenset(
    {
        "PORT",
        "COG_MAX_CONCURRENCY",
        "COG_WEIGHTS",
        "COG_PREDICT_TYPE_STUB",
        "COG_TRAIN_TYPE_STUB",
    }
)
"""Names the backend sets for coglet; ``environment:`` may not set them."""


def model_environment(configured: Mapping[str, str]) -> dict[str, str]:
    """Return the environment a model's processes start with.

    This process's environment without ``REPLICATE_*`` names, then ``configured``
    (``cog.yaml``'s ``environment:``). A model is someone else's code: it must not
    read the person's ``REPLICATE_API_TOKEN``, or this package's settings, which
    a kernel that embeds the backend holds in its environment. Cog reserves the
    same names, so no model can expect them.
    """
    inherited = {
        k: v for k, v in os.environ.items() if not k.upper().startswith("REPLICATE_")
    }
    return {**inherited, **configured}


@dataclass(frozen=True)
class CogConfig:
    """What the backend uses from one ``cog.yaml``.

    Attributes
    ----------
    path
        The ``cog.yaml`` file, ``None`` when the folder has none.
    predict
        The ``run:`` (or ``predict:``) reference, e.g. ``"run.py:Runner"``.
    predict_key
        Which of the two keys set it: ``"run"`` or ``"predict"``.
    train
        The ``train:`` reference.
    concurrency
        ``concurrency.max``, when set.
    environment
        ``environment:`` as a mapping, in file order.
    python_packages
        ``build.python_packages`` and the lines of ``build.python_requirements``.
    lines
        The line of each key (``"run"``, ``"build.python_packages"``,
        ``"environment.0"``), for messages.
    """

    path: Path | None = None
    predict: str | None = None
    predict_key: str = "run"
    train: str | None = None
    concurrency: int | None = None
    environment: dict[str, str] = field(default_factory=dict)
    python_packages: tuple[str, ...] = ()
    lines: dict[str, int] = field(default_factory=dict)

    def where(self, key: str) -> str:
        """Return ``"<path>, line N"`` for ``key`` (or just the path)."""
        line = self.lines.get(key)
        return f"{self.path}, line {line}" if line else str(self.path)


def _key_lines(node: yaml.Node, prefix: str = "") -> dict[str, int]:
    """Map the dotted path of every mapping key and list item to its line."""
    import yaml

    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = f"{prefix}{key.value}"
            lines[path] = key.start_mark.line + 1
            lines.update(_key_lines(value, f"{path}."))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[f"{prefix}{index}"] = item.start_mark.line + 1
    return lines


def _parse(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    import yaml

    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ModelLoadError(
            f"{where}: cog.yaml is not valid YAML ({problem}); fix it and load "
            "the model again"
        ) from exc
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ModelLoadError(
            f"{path}: cog.yaml must be a mapping of keys such as build: and run:"
        )
    return data, _key_lines(root) if root is not None else {}


def _reference(config: CogConfig, key: str, value: Any, example: str) -> str | None:
    if value is None or value == "":
        return None
    # Cog's own check: exactly one ".py:" separates the file from the name.
    if not isinstance(value, str) or len(value.split(".py:")) != 2:
        raise ModelLoadError(
            f"{config.where(key)}: {key}: {value!r} must be in the form "
            f"'{example}' (a Python file, a colon, a class or function name)"
        )
    return value


def _environment(config: CogConfig, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise ModelLoadError(
            f"{config.where('environment')}: environment: must be a list of "
            "NAME=value strings, e.g.\nenvironment:\n  - HF_HOME=./cache"
        )
    env: dict[str, str] = {}
    for index, entry in enumerate(value):
        where = config.where(f"environment.{index}")
        name, sep, text = str(entry).partition("=")
        if not isinstance(entry, str) or not sep or not name:
            raise ModelLoadError(
                f"{where}: environment entry {entry!r} is not in the NAME=value "
                "format; write it as - NAME=value"
            )
        if "\0" in entry:
            raise ModelLoadError(f"{where}: environment entry {name!r} holds a NUL")
        reserved = next((p for p in _COG_RESERVED if _matches(name, p)), None)
        if reserved is not None:
            raise ModelLoadError(
                f"{where}: environment variable {name!r} is not allowed: Cog "
                f"reserves {reserved} for its own use; remove it from cog.yaml"
            )
        if name in BACKEND_ENVIRONMENT:
            raise ModelLoadError(
                f"{where}: environment variable {name!r} is not allowed: the local "
                "backend sets it for the model's process; remove it from cog.yaml"
            )
        if name in env:
            raise ModelLoadError(
                f"{where}: environment variable {name!r} is already defined; keep "
                "one of the entries"
            )
        env[name] = text
    return env


def _matches(name: str, pattern: str) -> bool:
    if pattern.endswith("*"):
        return name.startswith(pattern[:-1])
    return name == pattern


def _concurrency(config: CogConfig, value: Any) -> int | None:
    if not isinstance(value, dict) or value.get("max") is None:
        return None
    maximum = value["max"]
    if isinstance(maximum, bool) or not isinstance(maximum, int) or maximum < 1:
        raise ModelLoadError(
            f"{config.where('concurrency.max')}: concurrency.max must be a whole "
            f"number of at least 1, not {maximum!r}"
        )
    return maximum


def _packages(config: CogConfig, build: Any, directory: Path) -> tuple[str, ...]:
    if not isinstance(build, dict):
        return ()
    found: list[str] = []
    listed = build.get("python_packages") or []
    if not isinstance(listed, list):
        raise ModelLoadError(
            f"{config.where('build.python_packages')}: build.python_packages must "
            "be a list of requirements such as - numpy==1.26.4"
        )
    found.extend(str(p) for p in listed)
    requirements = build.get("python_requirements")
    if requirements:
        file = directory / str(requirements)
        if not file.is_file():
            raise ModelLoadError(
                f"{config.where('build.python_requirements')}: "
                f"build.python_requirements names {requirements}, which is not a "
                f"file in {directory}; create it or remove the key"
            )
        found.extend(file.read_text(encoding="utf-8").splitlines())
    return tuple(found)


def read_cog_yaml(directory: Path) -> CogConfig:
    """Read ``directory/cog.yaml``; an empty :class:`CogConfig` when there is none.

    Raises
    ------
    ModelLoadError
        For invalid YAML, both ``run:`` and ``predict:``, a malformed reference,
        a bad ``environment:`` entry, ``concurrency.max`` below 1, or a
        ``python_requirements`` file that does not exist.
    """
    path = directory / "cog.yaml"
    if not path.is_file():
        return CogConfig()
    data, lines = _parse(path)
    config = CogConfig(path=path, lines=lines)
    run, predict = data.get("run"), data.get("predict")
    if run and predict:
        raise ModelLoadError(
            f"{config.where('predict')}: cog.yaml sets both run: and predict:; "
            "keep only run: (predict: is its older name)"
        )
    key = "predict" if predict and not run else "run"
    example = "run.py:Runner" if key == "run" else "predict.py:Predictor"
    return dataclasses.replace(
        config,
        predict=_reference(config, key, data.get(key), example),
        predict_key=key,
        train=_reference(config, "train", data.get("train"), "train.py:train"),
        concurrency=_concurrency(config, data.get("concurrency")),
        environment=_environment(config, data.get("environment")),
        python_packages=_packages(config, data.get("build"), directory),
    )


def missing_packages(config: CogConfig) -> list[str]:
    """Return the requirements of ``build`` that are not installed here.

    Only presence is checked (Cog would install the exact versions in an
    image; a prototype usually runs with what is installed). Lines that are pip
    options (``-r``, ``--index-url``), paths, URLs, comments, or whose
    environment marker does not apply are skipped.

    Returns
    -------
    list of str
        Each missing requirement as pip accepts it, e.g. ``"torch==2.3.1"``.
    """
    if not config.python_packages:
        return []
    from packaging.markers import InvalidMarker
    from packaging.requirements import InvalidRequirement, Requirement

    missing: list[str] = []
    for raw in config.python_packages:
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            requirement = Requirement(line)
            applies = requirement.marker is None or requirement.marker.evaluate()
        except (InvalidRequirement, InvalidMarker):
            continue
        if not applies:
            continue
        try:
            importlib.metadata.distribution(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            extras = f"[{','.join(sorted(requirement.extras))}]" * bool(
                requirement.extras
            )
            spec = f"{requirement.name}{extras}{requirement.specifier}"
            if requirement.url:
                spec = f"{requirement.name}{extras} @ {requirement.url}"
            if spec not in missing:
                missing.append(spec)
    return missing


def install_advice(config: CogConfig, missing: list[str]) -> str:
    """Say which packages are missing and how to install them."""
    command = " ".join(
        [shlex.quote(sys.executable), "-m", "pip", "install"]
        + [shlex.quote(m) for m in missing]
    )
    where = config.where(
        "build.python_packages"
        if "build.python_packages" in config.lines
        else "build.python_requirements"
    )
    return (
        f"{where}: the model needs Python packages that are not installed in "
        f"this environment: {', '.join(missing)}. Install them with\n"
        f"    {command}\nthen load the model again."
    )
