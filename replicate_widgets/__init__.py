"""Jupyter widgets for the Replicate HTTP API, and a local Replicate-compatible backend.

Widgets: :class:`Playground` (form + Run/Cancel + live panel), :class:`InputForm`,
:class:`PredictionPanel`, :func:`login`. Client: :class:`Client` and
:class:`AsyncClient` cover the whole HTTP API. Local backend: :func:`serve` runs Cog
models on this machine through coglet, speaking the same API on 127.0.0.1.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from types import FunctionType
from typing import TYPE_CHECKING, Any

# First, before anything imports jsonschema: importing it defers a 2 s grammar.
import replicate_widgets._schema.deferred_grammar  # noqa: F401

from ._client.async_client import AsyncClient
from ._client.auth import has_token
from ._client.client import Client
from ._client.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    FileTooLargeError,
    InvalidInputError,
    MissingTokenError,
    ModelError,
    NotFoundError,
    OutputTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ReplicateError,
    ServerError,
)
from ._client.files import SavedFile
from ._client.progress import Progress
from ._client.retry import RetryPolicy
from ._client.types import (
    Account,
    Collection,
    File,
    FileContent,
    Hardware,
    Model,
    Page,
    Prediction,
    Status,
    StreamEvent,
    Training,
    Version,
    WebhookSecret,
)
from ._client.types_deployments import Deployment
from ._client.types_search import SearchResults
from ._schema.model_schema import ModelSchema, parse
from ._schema.types import SchemaError
from ._widgets.ipython import install as _install_error_display

if TYPE_CHECKING:
    from ._widgets.catalog.browser import ModelBrowser
    from ._widgets.catalog.create_model import CreateModel
    from ._widgets.catalog.trainer import Trainer
    from ._widgets.compare.compare import Compare, Sweep
    from ._widgets.form import InputForm
    from ._widgets.history.history import History
    from ._widgets.keep import Keeper
    from ._widgets.login import Login, login
    from ._widgets.panel.panel import PredictionPanel
    from ._widgets.playground.playground import Playground
    from ._widgets.share import SharedRun
    from .server import LocalServer, serve

# In IPython, this package's errors show as their message alone (see _ipython).
_install_error_display()

try:
    __version__ = version("replicate-widgets")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

# Widgets and the server import anywidget, ipywidgets, Starlette and uvicorn; a script
# that only needs the client should not pay for them, so they load on first use.
_LAZY = {
    "Compare": "._widgets.compare.compare",
    "History": "._widgets.history.history",
    "Sweep": "._widgets.compare.compare",
    "CreateModel": "._widgets.catalog.create_model",
    "ModelBrowser": "._widgets.catalog.browser",
    "Trainer": "._widgets.catalog.trainer",
    "InputForm": "._widgets.form",
    "Keeper": "._widgets.keep",
    "Login": "._widgets.login",
    "LocalServer": ".server",
    "Playground": "._widgets.playground.playground",
    "PredictionPanel": "._widgets.panel.panel",
    "SharedRun": "._widgets.share",
    "login": "._widgets.login",
    "serve": ".server",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'replicate_widgets' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    _public(value)
    globals()[name] = value  # found directly from now on
    return value


def _public(value: Any) -> None:
    """Report a public class or function as ``replicate_widgets.X`` (as httpx does).

    Reprs, tracebacks and docs then show the name users import, not the private
    module it lives in (``replicate_widgets.ModelError``, not ``..._errors...``).
    """
    if isinstance(value, (type, FunctionType)):
        value.__module__ = __name__


__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "Account",
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "Collection",
    "Compare",
    "CreateModel",
    "Deployment",
    "File",
    "FileContent",
    "FileTooLargeError",
    "Hardware",
    "History",
    "InputForm",
    "InvalidInputError",
    "Keeper",
    "LocalServer",
    "Login",
    "MissingTokenError",
    "Model",
    "ModelBrowser",
    "ModelError",
    "ModelSchema",
    "NotFoundError",
    "OutputTooLargeError",
    "Page",
    "PermissionDeniedError",
    "Playground",
    "Prediction",
    "PredictionPanel",
    "Progress",
    "RateLimitError",
    "ReplicateError",
    "RetryPolicy",
    "SavedFile",
    "SchemaError",
    "SearchResults",
    "ServerError",
    "SharedRun",
    "Status",
    "StreamEvent",
    "Sweep",
    "Trainer",
    "Training",
    "Version",
    "WebhookSecret",
    "__version__",
    "has_token",
    "login",
    "parse",
    "serve",
]

for _name in __all__:
    if _name not in _LAZY and not _name.startswith("__"):
        _public(globals()[_name])
del _name
