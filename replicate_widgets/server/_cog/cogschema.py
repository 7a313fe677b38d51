"""Generate a Cog model's OpenAPI document the way ``cog build`` does.

coglet never generates a schema: it reads ``.cog/openapi_schema.json`` from its
working directory, and that file switches on input validation, SSE and the
training routes. This module writes that document for a predictor, following
the rules of Cog's Go ("static") generator (``pkg/schema/openapi_spec.go``):
``x-order``, ``allOf``/``$ref`` enum components named after the parameter,
``format: uri`` files, the secret trio, ``nullable``, iterator and concatenate
outputs, object outputs and ``TrainingInput``/``TrainingOutput``.

It leans on cog's own introspection (``cog._inspector.create_predictor``), which
validates a predictor exactly like the runtime does, and adds an ``ast`` pass for
what Python cannot see at run time (``@cog.streaming`` is a no-op decorator;
``Input()`` and ``Input(default=None)`` look the same). Importing the user's
module runs their imports, so only ``_schema_worker`` (a short-lived
subprocess) calls :func:`build_document`, never the server or the kernel.
"""

from __future__ import annotations

import importlib
import inspect
import pathlib
import sys
import typing
from typing import Any

import cog
from cog import _inspector

from .cogschema_envelope import (
    PREDICT,
    TRAIN,
    envelope,
    paths,
)
from .cogschema_fields import (
    JSON,
    SchemaError,
    function_node,
    input_schema,
    is_named,
    output_schema,
)

__all__ = ["build_document", "defines_train", "merge_documents"]


def _import_target(ref: str) -> tuple[str, str, Any]:
    """Import ``file.py:Name``; return the module name, attribute name and object."""
    path, sep, name = ref.partition(":")
    if not sep or not name.isidentifier() or not path.endswith(".py"):
        raise SchemaError(
            f"predictor reference {ref!r} must look like 'predict.py:Predictor'"
        )
    file = pathlib.Path(path).resolve()
    if not file.is_file():
        raise SchemaError(f"{ref!r}: there is no file {file}")
    directory = str(file.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    module_name = file.stem
    module = importlib.import_module(module_name)
    if not hasattr(module, name):
        raise SchemaError(f"{file.name} defines no {name!r} (named in {ref!r})")
    return module_name, name, getattr(module, name)


def _user_defines(cls: type[Any], method: str) -> bool:
    return any(
        method in vars(k) for k in cls.__mro__ if k not in (object, cog.BaseRunner)
    )


def defines_train(ref: str) -> bool:
    """Tell whether the class named by ``ref`` defines its own ``train()``."""
    _, _, obj = _import_target(ref)
    return inspect.isclass(obj) and _user_defines(obj, "train")


def build_document(
    ref: str, *, train: bool = False, as_predictions: bool = False
) -> tuple[JSON, JSON]:
    """Generate the OpenAPI document for one predictor or trainer.

    Parameters
    ----------
    ref
        ``"predict.py:Predictor"`` (a class with ``run``/``predict``, or a function).
    train
        Describe training: a function ``train`` or the class's ``train()`` method,
        under the ``/trainings`` names with ``TrainingInput``/``TrainingOutput``.
    as_predictions
        With ``train``: describe ``train()`` under the ``/predictions`` names. A
        coglet in ``--x-mode train`` runs ``train()`` on ``/predictions`` but
        validates against ``Input``, and only ``/predictions`` streams SSE, so
        the training process is given this document.

    Returns
    -------
    tuple of dict
        The document, and facts the runner needs that are not part of it:
        ``streaming``, ``concurrency`` (``@cog.concurrent(max=N)``), ``is_async``,
        ``async_generator`` and ``method`` (the name of the method that runs).

    Raises
    ------
    SchemaError
        For constructs Cog does not support (plus whatever cog's inspector or the
        user's module raise on import).
    """
    module_name, name, obj = _import_target(ref)
    method_name = "train" if train else "predict"
    if train and inspect.isclass(obj) and _user_defines(obj, "train"):
        fn = _inspector._unwrap(getattr(obj, "train"))  # noqa: B009
        info = _inspector._create_predictor_info(module_name, name, fn, "train", True)
    else:
        info = _inspector.create_predictor(module_name, name)
        if inspect.isclass(obj):
            method = _inspector._selected_predict_method(obj, f"{module_name}.{name}")
            method_name = method[0]
            fn = _inspector._unwrap(method[1])
        else:
            fn = _inspector._unwrap(obj)
    node = function_node(fn)
    streaming = any(is_named(d, "streaming") for d in node.decorator_list)

    names = TRAIN if train and not as_predictions else PREDICT
    inputs, enums = input_schema(info, fn)
    inputs["title"] = names.input
    output = output_schema(typing.get_type_hints(fn, include_extras=True)["return"])
    output["title"] = "Output"  # Go titles TrainingOutput "Output" as well
    schemas: JSON = {names.input: inputs, names.output: output, **enums}
    schemas.update(envelope(names))
    document: JSON = {
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": cog.__version__},
        "paths": paths(names, streaming and names is PREDICT),
        "components": {"schemas": schemas},
    }
    facts: JSON = {
        "streaming": streaming,
        "concurrency": getattr(fn, "__cog_concurrent_max__", None) or 1,
        "is_async": inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn),
        "async_generator": inspect.isasyncgenfunction(fn),
        "method": method_name,
    }
    return document, facts


def merge_documents(predict: JSON, train: JSON) -> JSON:
    """Merge a training document into a prediction one; predict wins conflicts.

    Parameters
    ----------
    predict, train
        Documents from :func:`build_document`.

    Returns
    -------
    dict
        A new document with both sets of paths and components.
    """
    merged: JSON = {
        **predict,
        "paths": dict(predict["paths"]),
        "components": {"schemas": dict(predict["components"]["schemas"])},
    }
    for key, value in train["paths"].items():
        merged["paths"].setdefault(key, value)
    for key, value in train["components"]["schemas"].items():
        merged["components"]["schemas"].setdefault(key, value)
    return merged
