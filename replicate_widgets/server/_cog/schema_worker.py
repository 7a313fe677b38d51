"""Generate a model's schema in a throw-away process.

Usage (run by path, see ``_bootstrap_package``)::

    python .../replicate_widgets/server/_cog/schema_worker.py --output result.json
        [--predict predict.py:Predictor] [--train predict.py:train]

Run with the model folder as the working directory. Importing a predictor runs
its module's imports (``torch``, prints, files opened at import), so this never
happens inside the server or the Jupyter kernel. The result goes to a file rather
than stdout because user code may print while it is imported; anything it prints
is sent to stderr, which the caller keeps for error messages.

The result is ``{"ok": true, "predict": doc|null, "train": doc|null,
"train_runtime": doc|null, "train_ref": str|null, "document": doc,
"facts": {...}}`` (``document`` merges predict and train) or
``{"ok": false, "error": str, "where": "run.py, line 4"|null, "traceback": str}``,
where ``where`` is the innermost place in the model's own files that failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import traceback
import types
import warnings
from pathlib import Path
from typing import Any


def _bootstrap_package() -> None:
    """Make ``replicate_widgets.server`` importable without running its ``__init__``.

    The package ``__init__`` loads the whole web server (about a second of
    imports); the generator needs three modules of it, once per model load.
    """
    here = Path(__file__).resolve().parent
    if sys.path and Path(sys.path[0]).resolve() == here:
        sys.path.pop(0)  # running by path put our folder first; don't shadow
    server_dir = here.parent
    for name, path in (
        ("replicate_widgets", server_dir.parent),
        ("replicate_widgets.server", server_dir),
    ):
        if name not in sys.modules:
            package = types.ModuleType(name)
            package.__path__ = [str(path)]
            sys.modules[name] = package


def _generate(predict: str | None, train: str | None) -> dict[str, Any]:
    import replicate_widgets.server._cog.cogschema as _cogschema

    result: dict[str, Any] = {
        "ok": True,
        "predict": None,
        "train": None,
        "train_runtime": None,
        "train_ref": None,
        "facts": {},
    }
    if predict is not None:
        result["predict"], result["facts"] = _cogschema.build_document(predict)
        if train is None and _cogschema.defines_train(predict):
            train = predict
    if train is not None:
        result["train"], train_facts = _cogschema.build_document(train, train=True)
        result["train_runtime"], _ = _cogschema.build_document(
            train, train=True, as_predictions=True
        )
        result["facts"].setdefault("concurrency", train_facts["concurrency"])
        result["train_ref"] = train
    if result["predict"] is not None and result["train"] is not None:
        result["document"] = _cogschema.merge_documents(
            result["predict"], result["train"]
        )
    else:
        result["document"] = result["predict"] or result["train"]
    return result


def _where(exc: BaseException) -> str | None:
    """Return ``"file, line N"`` of the innermost failing line in the model folder."""
    folder = Path.cwd().resolve()
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        places = [
            (f.filename, f.lineno) for f in traceback.extract_tb(current.__traceback__)
        ]
        if isinstance(current, SyntaxError) and current.filename:
            places.append((current.filename, current.lineno))
        for filename, line in reversed(places):
            path = Path(filename).resolve()
            if line and path.is_relative_to(folder) and path.is_file():
                inner = path.relative_to(folder)
                # Not a library in a virtualenv kept inside the project.
                if not any(
                    p.startswith(".") or p.endswith("-packages") for p in inner.parts
                ):
                    return f"{inner}, line {line}"
        current = current.__cause__ or current.__context__
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the generator and write the result file; return the exit status."""
    _bootstrap_package()
    parser = argparse.ArgumentParser(prog="schema_worker.py")
    parser.add_argument("--predict")
    parser.add_argument("--train")
    parser.add_argument("--output", required=True, type=Path)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path.cwd()))
    try:
        # Deprecation warnings (predict() vs run(), BasePredictor) are cog's
        # advice to the model author, not failures of the schema.
        with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            result = _generate(args.predict, args.train)
    except BaseException as exc:  # any failure, even SystemExit, is reported
        lines = traceback.format_exception(exc)
        result = {
            "ok": False,
            "error": "".join(traceback.format_exception_only(exc)).strip(),
            "where": _where(exc),
            "traceback": "".join(lines),
        }
    args.output.write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
