"""Copy as code: the exact call for a set of form values, in four flavours.

`snippets` writes the same prediction as Python for this package's ``Client``, Python
for the official ``replicate`` client, JavaScript (Node.js ``fetch``), and a ``curl``
command. The values are written so they round-trip exactly (``7.0`` stays a float,
quotes and newlines survive the shell), and nothing secret ever lands in a snippet:
the API token and every ``Secret`` input are read from environment variables, and
files are referenced by path instead of being pasted in as base64.

Input names and values may come from a model's example, so from anyone. They enter
a snippet only as literals written by each language's serializer (`quote`, `render`,
JSON inside ``shlex.quote`` for the shell), with every invisible character escaped;
comments hold fixed text only.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from itertools import count
from typing import Any

from replicate_widgets._client.checks import parse_ref
from replicate_widgets._client.http import DEFAULT_BASE_URL, is_loopback
from replicate_widgets._schema.model_schema import ModelSchema

from .codegen_values import (
    Converter,
    EnvRef,
    FileRef,
    comments,
    contains,
    has_big_int,
    quote,
    render,
    visible,
)

__all__ = ["insert_next_cell", "snippets", "unwritable"]


# -- the four snippets --------------------------------------------------------------


def _python_imports(tree: Any, first: str) -> str:
    lines = []
    if contains(tree, EnvRef):
        lines.append("import os")
    if contains(tree, FileRef):
        lines.append("from pathlib import Path")
    return "\n".join(lines) + ("\n\n" if lines else "") + first + "\n\n"


def _python(ref: str, tree: dict[str, Any], base: str, notes: list[str]) -> str:
    if is_loopback(base):
        args, why = f"base_url={quote(base, 'python')}", "local: no token needed"
    elif base == DEFAULT_BASE_URL:
        args, why = "", "reads REPLICATE_API_TOKEN from the environment"
    else:
        args, why = f"base_url={quote(base, 'python')}", "token: REPLICATE_API_TOKEN"
    head = _python_imports(tree, "from replicate_widgets import Client")
    # ``with`` closes the connection pool, so re-running the cell leaks nothing
    return (
        f"{head}{comments(notes, '#')}with Client({args}) as client:  # {why}\n"
        f"    output = client.run(\n        {quote(ref, 'python')},\n"
        f"        input={render(tree, 'python', 2)},\n    )\nprint(output)\n"
    )


def _official(ref: str, tree: dict[str, Any], base: str, notes: list[str]) -> str:
    head = _python_imports(tree, "import replicate")
    if is_loopback(base):
        head += "# A local backend needs no token.\n"
    else:
        head += (
            "# The official client reads REPLICATE_API_TOKEN from the environment.\n"
        )
    head += comments(notes, "#")
    target = "replicate"
    if base != DEFAULT_BASE_URL:
        target = "client"
        head += f"client = replicate.Client(base_url={quote(base, 'python')})\n"
    rendered = render(tree, "python", 1)
    if parse_ref(ref).owner is None:
        # its run() needs owner/name; a bare version id goes through predictions
        return (
            f"{head}prediction = {target}.predictions.create(\n"
            f"    version={quote(ref, 'python')},\n    input={rendered},\n)\n"
            "prediction.wait()\nprint(prediction.output)\n"
        )
    return (
        f"{head}output = {target}.run(\n    {quote(ref, 'python')},\n"
        f"    input={rendered},\n)\nprint(output)\n"
    )


_JS_CALL = """
async function call(url, init) {
  const response = await fetch(url, init);
  if (!response.ok) {
    throw new Error(`${response.status} from ${url}: ${await response.text()}`);
  }
  return response.json();
}

let prediction = await call(%s, {
  method: "POST",
  headers: { ...headers, Prefer: "wait" },
  body: JSON.stringify(body),
});
const done = ["succeeded", "failed", "canceled", "aborted"];
while (!done.includes(prediction.status)) {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  prediction = await call(prediction.urls.get, { headers });
}
if (prediction.status !== "succeeded") {
  throw new Error(`The prediction ${prediction.status}: ${prediction.error}`);
}
console.log(prediction.output);
"""


def _javascript(ref: str, tree: dict[str, Any], base: str, notes: list[str]) -> str:
    # Plain fetch, not the npm client: that client copies the input object key by
    # key before sending it, and the copy turns a "__proto__" key into a prototype,
    # so that key would vanish. JSON.stringify sends every key as written.
    head = ""
    if contains(tree, FileRef):
        head = 'import { readFile } from "node:fs/promises";\n\n'
    head += "// Node.js 18 or later (fetch is built in).\n"
    if is_loopback(base):
        head += "// A local backend needs no token.\n"
        headers = '{ "Content-Type": "application/json" }'
    else:
        head += "// Reads REPLICATE_API_TOKEN from the environment.\n"
        headers = (
            "{\n  Authorization: `Bearer ${process.env.REPLICATE_API_TOKEN}`,\n"
            '  "Content-Type": "application/json",\n}'
        )
    if has_big_int(tree):
        notes = [
            *notes,
            "JavaScript numbers keep only 15-17 digits: integers beyond "
            "9007199254740991 are rounded before they are sent.",
        ]
    url, body = _endpoint(ref, tree, base)
    return (
        f"{head}{comments(notes, '//')}const headers = {headers};\n"
        f"const body = {render(body, 'javascript', 0)};\n"
        + _JS_CALL
        % quote(url, "javascript")
    )


def _endpoint(ref: str, tree: dict[str, Any], base: str) -> tuple[str, dict[str, Any]]:
    """Return the URL to POST the prediction to, and its JSON body."""
    parsed = parse_ref(ref)
    if parsed.version is None:
        return f"{base}/models/{parsed.path}/predictions", {"input": tree}
    return f"{base}/predictions", {"version": parsed.version, "input": tree}


def _shell_json(value: Any) -> str:
    """Write ``value`` as JSON for the shell: literal text quoted, markers spliced in.

    A secret becomes ``"$NAME"`` and a file a ``data:`` URL built by ``base64`` when
    the command runs, so neither is ever written into the command itself. All other
    text is inside single quotes, where the shell expands nothing.
    """
    markers: list[Any] = []
    plain = json.dumps(value, default=repr)
    # a sentinel no input text contains, so only the markers are split out
    tag = next(f"rw{k}_" for k in count() if f"\\u0000rw{k}_" not in plain)

    def mark(v: Any) -> Any:
        if isinstance(v, (EnvRef, FileRef)):
            markers.append(v)
            return f"\x00{tag}{len(markers) - 1}\x00"
        if isinstance(v, dict):
            return {k: mark(x) for k, x in v.items()}
        if isinstance(v, list):
            return [mark(x) for x in v]
        return v

    # Readable UTF-8, except what a terminal would hide or cannot encode (U+2028,
    # lone surrogates): those become JSON escapes, which mean the same.
    text = visible(json.dumps(mark(value), ensure_ascii=False), "javascript")
    pieces = re.split(rf"\\u0000{tag}(\d+)\\u0000", text)
    # JSON text goes in single quotes; only the splices are in double quotes
    out, literal = [], pieces[0]
    for i in range(1, len(pieces), 2):
        marker = markers[int(pieces[i])]
        if isinstance(marker, EnvRef):
            splice = f'"${marker.name}"'  # the name is [A-Z0-9_] (env_var_for)
        else:
            literal += json.dumps(marker.data_uri_prefix)[1:-1]
            splice = f"\"$(base64 < {shlex.quote(marker.path)} | tr -d '\\n')\""
        out += [shlex.quote(literal), splice]
        literal = pieces[i + 1]
    out.append(shlex.quote(literal))
    # shlex.quote("") is "''": drop the empty pieces the splices left behind
    return "".join(p for p in out if p != "''") or "''"


def _curl(
    ref: str, tree: dict[str, Any], base: str, notes: list[str], secrets: list[str]
) -> str:
    url, body = _endpoint(ref, tree, base)
    extra = list(notes)
    if secrets:
        extra.append(
            "Secrets come from the environment ("
            + ", ".join(f"${s}" for s in secrets)
            + '); they must not contain " or \\ as written here.'
        )
    lines = ["curl -s -X POST"]
    if not is_loopback(base):
        lines.append('-H "Authorization: Bearer $REPLICATE_API_TOKEN"')
    lines += [
        '-H "Content-Type: application/json"',
        '-H "Prefer: wait"',
        f"-d {_shell_json(body)}",
        shlex.quote(url),
    ]
    return comments(extra, "#") + " \\\n  ".join(lines) + "\n"


def snippets(
    ref: str,
    inputs: Mapping[str, Any],
    schema: ModelSchema | None = None,
    *,
    base_url: str | None = None,
) -> dict[str, str]:
    """Write the prediction for ``inputs`` as code in four flavours.

    Parameters
    ----------
    ref : str
        ``owner/name:version_id``, ``owner/name`` (official models) or a version id.
    inputs : Mapping
        Input name to value, as the form holds them. With ``schema`` they go through
        `ModelSchema.to_input` first (unset fields dropped, secret masks removed), and
        ``secret`` inputs become environment variables (see `env_var_for`). Files may
        be ``pathlib.Path``, open files, local paths (for ``file`` inputs), URLs or
        bytes; bytes become a placeholder file name with a comment saying what to save.
    schema : ModelSchema or None
        The model's schema; without it no input is known to be secret.
    base_url : str or None
        The API root; ``None`` means ``https://api.replicate.com/v1``. A loopback URL
        (the local backend) needs no token in any snippet.

    Returns
    -------
    dict of str to str
        ``python`` (this package's ``Client``), ``replicate`` (the official Python
        client), ``javascript`` (``fetch``, Node.js 18 or later) and ``curl``. The
        token is only ever referenced as ``REPLICATE_API_TOKEN``.

    Raises
    ------
    ValueError
        For a malformed ``ref`` or ``base_url``, or a value JSON cannot carry (NaN).
    TypeError
        For values that are not JSON, files, lists or dicts.
    SchemaError
        When ``schema`` is given and ``inputs`` names an input the model lacks.
    """
    parse_ref(ref)  # a clear message for a malformed reference, before anything else
    ref = ref.strip()
    if not isinstance(inputs, Mapping):
        raise TypeError(
            f"inputs must be a dict of input name to value, not {type(inputs).__name__}"
        )
    base = (base_url or DEFAULT_BASE_URL).rstrip("/")
    if not re.match(r"^https?://[^/\s]+", base) or any(c.isspace() for c in base):
        raise ValueError(
            f"base_url {base_url!r} is not an http(s) URL; use {DEFAULT_BASE_URL!r} "
            "or the local backend's URL such as 'http://127.0.0.1:8000/v1'"
        )
    if "@" in base.split("://", 1)[1].split("/", 1)[0]:
        # user:password@host would write a credential into every snippet
        raise ValueError(
            "base_url must not carry credentials (user:password@...); the snippets "
            "read the token from REPLICATE_API_TOKEN instead"
        )
    values = schema.to_input(inputs) if schema is not None else dict(inputs)
    conv = Converter()
    tree: dict[str, Any] = {}
    for name, value in values.items():
        if not isinstance(name, str):
            raise TypeError(f"input names must be text, got {name!r}")
        f = schema.field(name) if schema is not None else None
        tree[name] = conv.convert(value, name, f)
    notes = list(conv.notes)
    if conv.secrets:
        # names only: each is [A-Z0-9_] (env_var_for); the code shows which input
        listed = ", ".join(conv.secrets)
        notes.insert(0, f"Set these environment variables first: {listed}.")
    return {
        "python": _python(ref, tree, base, notes),
        "replicate": _official(ref, tree, base, notes),
        "javascript": _javascript(ref, tree, base, notes),
        "curl": _curl(ref, tree, base, conv.notes, list(conv.secrets)),
    }


def unwritable(reason: str) -> dict[str, str]:
    """Return the code view's text for when the form's values cannot be code.

    Parameters
    ----------
    reason : str
        Why, e.g. the message of the error `snippets` raised. It may quote a
        model's input names, so it is written by `comments` (it stays a comment)
        and below two fixed lines (where Python would obey a ``coding:`` comment).

    Returns
    -------
    dict of str to str
        ``python`` only: the code view shows that one tab.
    """
    head = "# Fix the form first: its values cannot be written as code yet.\n#\n"
    return {"python": head + comments([reason], "#")}


def insert_next_cell(code: str) -> bool:
    """Ask the notebook to put ``code`` into a new cell below the running one.

    Uses IPython's ``set_next_input``, which JupyterLab and Notebook 7 honour for
    code *run from a cell*; a widget's button callback runs outside any cell, so
    there the front end itself has to insert the cell (or the snippet is copied).

    Parameters
    ----------
    code : str
        The snippet, e.g. ``snippets(...)["python"]``.

    Returns
    -------
    bool
        True when an IPython shell took the request, False outside IPython.
    """
    if not isinstance(code, str):
        raise TypeError(f"code must be text, not {type(code).__name__}")
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing to insert into
        return False
    shell = get_ipython()
    if shell is None:
        return False
    shell.set_next_input(code, replace=False)
    return True
