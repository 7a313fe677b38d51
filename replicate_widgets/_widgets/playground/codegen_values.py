"""Input values as code: form values to markers, markers to Python or JS literals.

`Converter` turns a prediction's input into JSON values plus two markers, `EnvRef`
(a secret, read from an environment variable) and `FileRef` (a file, referenced by
its local path). `render` writes the result as a Python or JavaScript literal that
evaluates back to exactly the same values. :mod:`.codegen` assembles the snippets.
"""

from __future__ import annotations

import json
import math
import mimetypes
import os
import posixpath
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from replicate_widgets._client.files import decode_data_uri, is_file_input
from replicate_widgets._client.sniff import sniff_mime
from replicate_widgets._schema.types import Field
from replicate_widgets._widgets.media import extension_for

__all__ = [
    "MAX_SAFE_JS_INT",
    "Converter",
    "EnvRef",
    "FileRef",
    "Lang",
    "comments",
    "contains",
    "env_var_for",
    "has_big_int",
    "quote",
    "render",
    "visible",
]

Lang = Literal["python", "javascript"]

# Longer data: URIs are files in disguise; pasting them would bury the snippet.
_MAX_INLINE_DATA_URI = 1024
_WIDTH = 80
MAX_SAFE_JS_INT = 2**53 - 1
"""Largest integer a JavaScript number holds exactly."""
# Environment variables a secret named after them would silently read instead.
_RESERVED_ENV = frozenset(
    {"PATH", "HOME", "USER", "SHELL", "PWD", "LANG", "TERM", "TMPDIR", "HOSTNAME"}
)


@dataclass(frozen=True)
class EnvRef:
    """A secret, read from an environment variable when the snippet runs."""

    name: str


@dataclass(frozen=True)
class FileRef:
    """A file input, referenced by its local path."""

    path: str

    @property
    def data_uri_prefix(self) -> str:
        """``data:TYPE;base64,``, the type guessed from the path's extension.

        For snippets that send the file inline. The type comes from Python's table
        of extensions; a path that is itself a ``data:`` URL would name its own
        type, so anything but a plain ``type/subtype`` is ignored.
        """
        mime = mimetypes.guess_type(self.path)[0] or ""
        if not re.fullmatch(r"[\w.+-]+/[\w.+-]+", mime, re.ASCII):
            mime = "application/octet-stream"
        return f"data:{mime};base64,"


def env_var_for(field_name: str) -> str:
    """Return the environment variable a snippet reads a secret input from.

    Parameters
    ----------
    field_name : str
        The input's name, e.g. ``signing_key``.

    Returns
    -------
    str
        The name upper-cased with every other character turned into ``_``
        (``SIGNING_KEY``); ``_SECRET`` is appended where the result would shadow a
        system variable such as ``PATH``.
    """
    name = re.sub(r"[^A-Za-z0-9]+", "_", field_name).strip("_").upper() or "SECRET"
    if name[0].isdigit():
        name = "INPUT_" + name
    if name in _RESERVED_ENV:
        name += "_SECRET"
    return name


def _is_secret(f: Field | None) -> bool:
    return f is not None and f.secret


def _is_file(f: Field | None) -> bool:
    return f is not None and (
        f.kind == "file" or (f.items is not None and f.items.kind == "file")
    )


class Converter:
    """Turns input values into JSON plus `EnvRef`/`FileRef` markers.

    What it had to change is kept in `notes` (for comments in the snippet) and the
    environment variables it chose in `secrets` (variable name to input name).
    Notes are fixed text and numbers: an input's name, value, file name or type
    may come from a model's example and so from anyone, and it reaches the snippet
    only as a literal written by `quote`, never inside a comment.
    """

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.secrets: dict[str, str] = {}

    def env(self, base: str, source: str) -> EnvRef:
        name, n = base, 2
        while self.secrets.get(name, source) != source:  # "api-key" and "api_key"
            name, n = f"{base}_{n}", n + 1
        self.secrets[name] = source
        return EnvRef(name)

    def secret(self, f: Field, value: Any) -> Any:
        base = env_var_for(f.name)
        if isinstance(value, (list, tuple)):  # a list of secrets: one variable each
            return [
                self.env(f"{base}_{i}", f"{f.name}[{i - 1}]")
                for i in range(1, len(value) + 1)
            ]
        return self.env(base, f.name)

    def placeholder(
        self, where: str, data: bytes, declared: str | None, upload: str | None = None
    ) -> FileRef:
        mime = sniff_mime(data, declared, upload)
        given = re.sub(r"[^\w. -]+", "_", posixpath.basename(upload or "")).strip(" .")
        if given:
            name = given
        else:
            stem = re.sub(r"[^A-Za-z0-9_-]+", "_", where).strip("_") or "input"
            name = stem + extension_for(mime)
        self.notes.append(
            f"A file input was given as data ({len(data):,} bytes), not as a local "
            "file: save the data next to this code under the file name written "
            "below, or change that name."
        )
        return FileRef(name)

    def convert(self, value: Any, where: str, f: Field | None = None) -> Any:
        if _is_secret(f) and f is not None:
            return self.secret(f, value)
        if value is None or isinstance(value, (bool, int, str)):
            if isinstance(value, str):
                return self.text(value, where, f)
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(
                    f"input {where!r} is {value}, which JSON cannot carry; "
                    "give a finite number"
                )
            return value
        if is_file_input(value):
            return self.file(value, where)
        item = f.items if f is not None else None
        if isinstance(value, (list, tuple)):
            return [self.convert(v, f"{where}[{i}]", item) for i, v in enumerate(value)]
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for key, v in value.items():
                if not isinstance(key, str):
                    raise TypeError(
                        f"input {where!r} has the key {key!r}; JSON objects need "
                        "string keys, so use str(key)"
                    )
                out[key] = self.convert(v, f"{where}.{key}")
            return out
        raise TypeError(
            f"input {where!r} is a {type(value).__name__}, which cannot be written "
            "as JSON; pass text, a number, a bool, a list, a dict, or a file path"
        )

    def text(self, value: str, where: str, f: Field | None) -> Any:
        if value.startswith("data:") and len(value) > _MAX_INLINE_DATA_URI:
            try:
                data, declared = decode_data_uri(value)
            except ValueError:
                return value
            return self.placeholder(where, data, declared)
        if _is_file(f) and not re.match(r"^[a-z][a-z0-9+.-]*:", value, re.I):
            return FileRef(value)  # a local path typed as text
        return value

    def file(self, value: Any, where: str) -> Any:
        if isinstance(value, os.PathLike):
            return FileRef(os.fspath(value))
        name = getattr(value, "name", None)
        name = name if isinstance(name, str) and not name.startswith("<") else None
        getvalue = getattr(value, "getvalue", None)
        if callable(getvalue):
            # in memory (a browser upload is an io.BytesIO named after the file):
            # peek without consuming it, and suggest the upload's name
            return self.placeholder(where, bytes(getvalue()), None, name)
        if name:
            return FileRef(name)  # an open file: the path it was opened from
        if isinstance(value, (bytes, bytearray, memoryview)):
            return self.placeholder(where, bytes(value), None)
        return self.placeholder(where, b"", None)


# -- literals -----------------------------------------------------------------------


def _escape(ch: str, lang: Lang) -> str:
    code = ord(ch)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    if lang == "python":
        return f"\\U{code:08x}"
    # a UTF-16 pair: what JSON and JavaScript strings both read as one character
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def visible(text: str, lang: Lang) -> str:
    r"""Escape every character in ``text`` a reader cannot see.

    ``text`` is JSON from `json.dumps` (``ensure_ascii=False``), a string literal or
    a comment. Everything that is not printable becomes a ``\u`` escape (``\U``
    in Python): what could end a line in some language (``\r``, U+0085, U+2028,
    U+2029), NUL, lone surrogates, bidirectional controls. In JSON such characters
    only occur inside strings, where the escape means the same character, and JSON
    strings are also valid JavaScript strings (and, with the Python escape for
    characters past U+FFFF, Python strings).
    """
    return re.sub(
        r"[^\x20-\x7e]",
        lambda m: m[0] if m[0].isprintable() else _escape(m[0], lang),
        text,
    )


def quote(text: str, lang: Lang) -> str:
    """Quote ``text`` as a double-quoted Python or JavaScript string literal.

    JSON's serializer writes the quotes and backslashes; `visible` escapes the rest.
    """
    return visible(json.dumps(text, ensure_ascii=False), lang)


def _scalar(value: Any, lang: Lang) -> str:
    if isinstance(value, EnvRef):
        if lang == "python":
            return f"os.environ[{quote(value.name, lang)}]"
        return f"process.env.{value.name}"
    if isinstance(value, FileRef):
        if lang == "python":
            return f"Path({quote(value.path, lang)})"
        # fetch sends JSON, so the file goes inline as a data: URL
        return (
            f"{quote(value.data_uri_prefix, lang)} + "
            f'(await readFile({quote(value.path, lang)})).toString("base64")'
        )
    if value is None:
        return "None" if lang == "python" else "null"
    if isinstance(value, bool):
        text = str(value)
        return text if lang == "python" else text.lower()
    if isinstance(value, (int, float)):
        return repr(value)  # repr keeps 7.0 a float and every digit of a float
    return quote(str(value), lang)


def _key(key: str, lang: Lang) -> str:
    if lang == "javascript" and key == "__proto__":
        # In an object literal, `__proto__: v` and `"__proto__": v` set the
        # object's prototype instead of adding a key; a computed key is a key.
        return f"[{quote(key, lang)}]"
    if lang == "javascript" and re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$]*", key):
        return key
    return quote(key, lang)


def render(value: Any, lang: Lang, indent: int) -> str:
    """Render ``value`` inline when it fits in the line, else one item per line."""
    if isinstance(value, dict):
        parts = [
            f"{_key(k, lang)}: {render(v, lang, indent + 1)}" for k, v in value.items()
        ]
        opener, closer = "{", "}"
    elif isinstance(value, list):
        parts = [render(v, lang, indent + 1) for v in value]
        opener, closer = "[", "]"
    else:
        return _scalar(value, lang)
    unit = "    " if lang == "python" else "  "
    inline = opener + ", ".join(parts) + closer
    if not parts or (len(inline) + len(unit) * indent <= _WIDTH and "\n" not in inline):
        return inline
    pad = unit * (indent + 1)
    if isinstance(value, list) and not any(isinstance(v, (dict, list)) for v in value):
        # a long list of numbers or words reads better filled than one per line
        lines = textwrap.wrap(
            ", ".join(p.replace(" ", "\x00") for p in parts) + ",",
            _WIDTH - len(pad),
            break_long_words=False,
            break_on_hyphens=False,
        )
        body = "".join(f"{pad}{line}\n".replace("\x00", " ") for line in lines)
        return f"{opener}\n{body}{unit * indent}{closer}"
    body = "".join(f"{pad}{p},\n" for p in parts)
    return f"{opener}\n{body}{unit * indent}{closer}"


def comments(notes: list[str], prefix: str) -> str:
    r"""Write ``notes`` as comment lines (``#`` or ``//``) wrapped at 79 columns.

    A comment ends at a line break, and Python, JavaScript and the shell disagree
    on what breaks a line (JavaScript also breaks at U+2028 and U+2029). So every
    ``\n`` starts a new comment line and every other invisible character is
    written as an escape (`visible`): no text can step out of its comment.
    """
    out = []
    for note in notes:
        for line in note.split("\n"):
            wrapped = textwrap.fill(
                visible(line, "python"),
                79,
                initial_indent=f"{prefix} ",
                subsequent_indent=f"{prefix} ",
            )
            out.append((wrapped or prefix) + "\n")
    return "".join(out)


def contains(value: Any, cls: type) -> bool:
    """Tell whether ``value`` holds an instance of ``cls`` at any depth."""
    if isinstance(value, cls):
        return True
    if isinstance(value, dict):
        return any(contains(v, cls) for v in value.values())
    if isinstance(value, list):
        return any(contains(v, cls) for v in value)
    return False


def has_big_int(value: Any) -> bool:
    """Tell whether ``value`` holds an integer JavaScript would round."""
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) > MAX_SAFE_JS_INT
    if isinstance(value, dict):
        return any(has_big_int(v) for v in value.values())
    if isinstance(value, list):
        return any(has_big_int(v) for v in value)
    return False
