"""Copy as code under attack: hostile names and values arrive exactly, none runs.

A model's example prefills the form, so every input name, value, file name and
file type in a snippet may have been chosen by someone else. Each snippet is run
the way a person would run it (Python, ``node``, ``bash`` with ``curl``) against
the local backend on 127.0.0.1, whose ``echo`` model keeps the input it was sent:
that input must be exactly the one given, and no text may have become code (the
payloads try to print or create ``pwned``). Lone surrogates, which the local
backend cannot store, are checked by each language's own parser instead.
"""

from __future__ import annotations

import ast
import base64
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tokenize
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from replicate_widgets import Client, parse
from replicate_widgets._widgets.playground.codegen import snippets

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "replicate_widgets" / "server" / "models"
FLAVOURS = ["python", "replicate", "javascript", "curl"]
FILE_NAMES = {"python": "snippet.py", "replicate": "snippet.py"}
FILE_NAMES |= {"javascript": "snippet.mjs", "curl": "snippet.sh"}

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("curl") is None,
    reason="needs node and curl to run the JavaScript and curl snippets",
)

# Each tries to end a string, a comment or a line in one of the four languages.
HOSTILE = [
    "'",
    '"',
    "`",
    "\\",
    "\\'",
    '\\"',
    "'''",
    '"""',
    "\\\n",
    "$(touch pwned)",
    "`touch pwned`",
    "${HOME}",
    "${process.exit(3)}",
    "$HOME",
    "!!",
    "!$",
    "'; touch pwned; '",
    '"; touch pwned; "',
    '"); __import__("os").system("touch pwned"); ("',
    '\\"); process.stdout.write("pwned"); ("',
    "\n",
    "\r",
    "\r\n",
    "\t",
    "\u2028",
    "\u2029",
    "\u2028process.stdout.write('pwned')//",
    "\u0085",
    "\x00",
    "\x00rw0_0\x00",
    "\\u0000rw0_0\\u0000",
    "\x0b\x0c\x1b[31m\x7f",
    "\u202e",
    "\ufeff",
    "\u00a0",
    "*/",
    "/*",
    "-->",
    "<!--",
    "</script>",
    "#",
    "//",
    "# -*- coding: utf-7 -*-",
    "+AAo-",
    "\\u2028",
    "\\x00",
    "%s %d {0} {}",
    "é 漢字",
    "🎉",
    "\U000e0001",
    "",
    " ",
]
KEYS = [
    "__proto__",
    "constructor",
    "prototype",
    "toString",
    "hasOwnProperty",
    "__defineGetter__",
    "await",
    "class",
    "import",
    "$x",
    "1st",
    "with space",
    *HOSTILE,
]
LONG = "x'\"\\`$(" * 3_000


def hostile_text(rng: random.Random, surrogates: bool) -> str:
    """Pieces of the corpus mixed with code points from every plane."""
    pieces = []
    for _ in range(rng.randint(0, 8)):
        roll = rng.random()
        if roll < 0.4:
            pieces.append(rng.choice(HOSTILE))
        elif roll < 0.65:
            pieces.append(chr(rng.randint(0, 0x7F)))
        elif roll < 0.9:
            code = rng.randint(0x80, 0xFFFF)
            if not surrogates and 0xD800 <= code <= 0xDFFF:
                code -= 0x800
            pieces.append(chr(code))
        else:
            pieces.append(chr(rng.randint(0x10000, 0x10FFFF)))
    return "".join(pieces)


def hostile_inputs(nonce: str) -> dict[str, Any]:
    rng = random.Random(2028)  # noqa: S311 - reproducible, not secret
    inputs: dict[str, Any] = {
        "text": nonce + "".join(HOSTILE),
        "values": HOSTILE,
        "keys": {key: i for i, key in enumerate(KEYS)},
        "nested": {"__proto__": {"__proto__": "p", "constructor": {"prototype": 1}}},
        "mixed": [None, True, False, 0, -1, 2**53 - 1, [], {}, {"": ""}],
        "long": LONG,
        "random": [hostile_text(rng, surrogates=False) for _ in range(60)],
        "random_keys": {
            hostile_text(rng, surrogates=False): hostile_text(rng, surrogates=False)
            for _ in range(40)
        },
    }
    # hostile input names at the top level too ("text" must stay the echo's input)
    inputs |= {key: key for key in KEYS if key not in inputs}
    return inputs


# -- running snippets ----------------------------------------------------------------


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server_mod = pytest.importorskip("replicate_widgets.server")
    with server_mod.serve(
        port=0,
        models=[MODELS / "echo"],
        bundled=False,
        data_dir=tmp_path_factory.mktemp("codegen-fuzz-backend"),
    ) as server:
        yield server.url


@pytest.fixture(scope="module")
def echo_version(backend: str) -> str:
    with Client(base_url=backend) as client:
        version = client.models.get("demo/echo").latest
    assert version is not None
    return version.id


def run_snippet(
    code: str, flavour: str, cwd: Path, env: dict[str, str] | None = None
) -> str:
    """Run ``code`` as its reader would, in ``cwd``; return what it printed."""
    script = cwd / FILE_NAMES[flavour]
    script.write_text(code, encoding="utf-8")
    command = {
        "python": [sys.executable, str(script)],
        "replicate": [sys.executable, str(script)],
        "javascript": ["node", str(script)],
        "curl": ["bash", str(script)],
    }[flavour]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("REPLICATE_")}
    environ |= {"PYTHONPATH": str(ROOT), "PYTHONUTF8": "1", **(env or {})}
    done = subprocess.run(
        command, cwd=cwd, env=environ, capture_output=True, check=False, timeout=120
    )
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0, f"{flavour} failed:\n{stderr[-3000:]}"
    assert not (cwd / "pwned").exists(), f"{flavour} ran injected code"
    # what it printed is compared whole (check_printed): an injected print shows
    return done.stdout.decode("utf-8")


def latest_prediction(backend: str) -> dict[str, Any]:
    page = httpx.get(f"{backend}/predictions", timeout=30).json()
    prediction: dict[str, Any] = page["results"][0]
    return prediction


def check_printed(flavour: str, printed: str, text: str) -> None:
    if flavour == "curl":  # curl prints the prediction itself
        assert json.loads(printed)["output"] == text
    else:
        assert printed == text + "\n"


# -- every snippet, executed -----------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("by_version", [False, True], ids=["model", "version"])
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_hostile_names_and_values_arrive_exactly(
    backend: str, echo_version: str, flavour: str, by_version: bool, tmp_path: Path
) -> None:
    ref = echo_version if by_version else "demo/echo"
    nonce = f"{flavour}-{by_version}:"
    inputs = hostile_inputs(nonce)
    code = snippets(ref, inputs, base_url=backend)[flavour]
    printed = run_snippet(code, flavour, tmp_path)
    prediction = latest_prediction(backend)
    assert prediction["status"] == "succeeded", prediction
    assert prediction["input"] == inputs
    check_printed(flavour, printed, inputs["text"])


@pytest.mark.integration
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_secret_with_a_hostile_name_comes_from_the_environment(
    backend: str, flavour: str, tmp_path: Path
) -> None:
    name = "key\u2028process.stdout.write('pwned')//\n__import__('os')#"
    secret = {"type": "string", "format": "password", "x-cog-secret": True}
    props = {"text": {"type": "string", "x-order": 0}, name: {**secret, "x-order": 1}}
    schema = parse({"components": {"schemas": {"Input": {"properties": props}}}})
    # text that looks like the curl command's own splice markers
    text = f"{flavour}: \x00rw0_0\x00 \\u0000rw0_0\\u0000 $(touch pwned)"
    value = "s3cr3t $(touch pwned) `touch pwned` 'q' \u2028 ✓"  # no " or \ for curl
    out = snippets("demo/echo", {"text": text, name: value}, schema, base_url=backend)
    code = out[flavour]
    assert value not in code
    env = {"KEY_PROCESS_STDOUT_WRITE_PWNED_IMPORT_OS": value}
    assert all(var in code for var in env)
    check_printed(flavour, run_snippet(code, flavour, tmp_path, env), text)
    assert latest_prediction(backend)["input"] == {"text": text, name: value}


def comment_attack(tmp_path: Path) -> dict[str, Any]:
    """Inputs whose file type and file name reach notes the snippets write."""
    # Bytes no sniffer recognises, so the data: URI's own type is believed.
    data = b"\x00\x01" * 700
    payloads = [
        "\u2028process.stdout.write('pwned')//",  # ends a JavaScript comment
        "\rprint('pwned')#",  # ends a Python comment
        "\nprint('pwned')#",
        "\x85print('pwned')#",
    ]
    inputs: dict[str, Any] = {"text": "comments"}
    for i, payload in enumerate(payloads):
        uri = f"data:x/y{payload};base64," + base64.b64encode(data).decode()
        inputs[f"file{i}"] = uri
        (tmp_path / f"file{i}.bin").write_bytes(data)
    upload = io.BytesIO(data)
    upload.name = "u\u2028process.stdout.write('pwned');\ntouch pwned\n.bin"
    inputs["upload"] = upload
    (tmp_path / "u_process.stdout.write_pwned_touch pwned_.bin").write_bytes(data)
    return inputs


@pytest.mark.integration
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_file_types_and_names_never_become_code(
    backend: str, flavour: str, tmp_path: Path
) -> None:
    code = snippets("demo/echo", comment_attack(tmp_path), base_url=backend)[flavour]
    check_printed(flavour, run_snippet(code, flavour, tmp_path), "comments")


# -- no comment carries input text ----------------------------------------------------


def comment_lines(code: str, flavour: str) -> list[str]:
    if flavour in ("python", "replicate"):
        tokens = tokenize.generate_tokens(io.StringIO(code).readline)
        return [t.string for t in tokens if t.type == tokenize.COMMENT]
    prefix = "//" if flavour == "javascript" else "#"
    # JavaScript also ends a line at U+2028/U+2029, the shell only at \n
    lines = code.splitlines() if flavour == "javascript" else code.split("\n")
    return [line for line in lines if line.lstrip().startswith(prefix)]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_comments_carry_no_input_text(flavour: str, tmp_path: Path) -> None:
    # "mark" in every name, type and file name; environment variables are named
    # after secrets, but upper-cased to [A-Z0-9_] (MARK_SECRET), which cannot
    # leave a comment
    secret = {"type": "string", "format": "password", "x-cog-secret": True}
    name = "mark secret"
    props = {"mark file": {"type": "string", "format": "uri"}, name: secret}
    schema = parse({"components": {"schemas": {"Input": {"properties": props}}}})
    big = "data:x/mark;base64," + base64.b64encode(b"\x00\x01" * 700).decode()
    upload = io.BytesIO(b"\x00" * 10)
    upload.name = "mark.bin"
    for code in (
        snippets("demo/echo", {"mark file": big, name: "v"}, schema)[flavour],
        snippets("demo/echo", {"mark": upload, "x": 2**60})[flavour],
        snippets("demo/echo", comment_attack(tmp_path))[flavour],
    ):
        found = [
            line
            for line in comment_lines(code, flavour)
            if "mark" in line or "pwned" in line
        ]
        assert not found, code


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_snippets_hold_only_printable_text(flavour: str, tmp_path: Path) -> None:
    # NUL, U+2028, lone surrogates and the like are written as escapes, so no
    # editor, terminal or parser sees them raw
    rng = random.Random(85)  # noqa: S311 - reproducible, not secret
    inputs = {
        hostile_text(rng, surrogates=True): hostile_text(rng, surrogates=True)
        for _ in range(200)
    }
    files = {k: v for k, v in comment_attack(tmp_path).items() if k != "text"}
    code = snippets("demo/echo", {**inputs, **files, "h": HOSTILE})
    assert all(ch.isprintable() or ch == "\n" for ch in code[flavour])


# -- lone surrogates and every plane, by each language's parser ------------------------


def fuzz_strings() -> list[str]:
    rng = random.Random(2029)  # noqa: S311 - reproducible, not secret
    texts = [hostile_text(rng, surrogates=True) for _ in range(400)]
    return [*KEYS, "\ud800", "\udfff", "a\udc00b", "\ud83c", *texts]


def test_python_literals_parse_back_exactly() -> None:
    texts = fuzz_strings()
    code = snippets("demo/echo", {"v": texts, "k": dict.fromkeys(texts, 1)})["python"]
    (call,) = [
        n
        for n in ast.walk(ast.parse(code))
        if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "run"
    ]
    (keyword,) = [k for k in call.keywords if k.arg == "input"]
    got = ast.literal_eval(keyword.value)
    assert got == {"v": texts, "k": dict.fromkeys(texts, 1)}


def test_javascript_literals_parse_back_exactly(tmp_path: Path) -> None:
    texts = fuzz_strings()
    inputs = {"v": texts, "k": dict.fromkeys(texts, 1)}
    code = snippets("demo/echo", inputs)["javascript"]
    # up to the request: JSON.stringify of the body is what fetch would send
    head = code[: code.index("async function call")]
    script = tmp_path / "body.mjs"
    script.write_text(head + "process.stdout.write(JSON.stringify(body));\n")
    done = subprocess.run(["node", str(script)], capture_output=True, check=True)
    sent = json.loads(done.stdout.decode("utf-8"))  # lone surrogates come \u-escaped
    assert sent == {"input": inputs}  # "__proto__" among the keys, as a key


def test_curl_body_parses_back_exactly(tmp_path: Path) -> None:
    texts = fuzz_strings()
    inputs = {"v": texts, "k": dict.fromkeys(texts, 1)}
    code = snippets("demo/echo", inputs, base_url="http://127.0.0.1:9/v1")["curl"]
    # bash parses the command; a function named curl hands back what follows -d
    recorder = (
        'curl() { while [ "$#" -gt 0 ]; do '
        '[ "$1" = -d ] && printf %s "$2"; shift; done; }\n'
    )
    script = tmp_path / "body.sh"
    script.write_text(recorder + code, encoding="utf-8")
    done = subprocess.run(["bash", str(script)], capture_output=True, check=True)
    assert json.loads(done.stdout.decode("utf-8")) == {"input": inputs}


def test_form_errors_shown_as_code_stay_comments() -> None:
    # imported here so the rest of this file also runs against older code
    from replicate_widgets._widgets.playground.codegen import unwritable

    # an error message can quote a model's input names, chosen by its author
    reason = (
        "'promt' is not an input; did you mean a\u2028process.stdout.write('pwned')//"
        "\nimport os; os.system('touch pwned')\r# -*- coding: utf-7 -*-"
    )
    (code,) = unwritable(reason).values()
    lines = code.split("\n")
    assert all(line.startswith("#") for line in lines[:-1])
    assert lines[-1] == ""
    assert "coding" not in "".join(lines[:2])  # Python reads a coding: on line 1-2
    assert all(ch.isprintable() or ch == "\n" for ch in code)
    scope: dict[str, Any] = {}
    exec(compile(code, "<shown>", "exec"), scope)  # noqa: S102 - it must do nothing
    assert set(scope) == {"__builtins__"}


@pytest.mark.integration
@pytest.mark.parametrize("flavour", ["javascript", "curl"])
def test_a_path_that_looks_like_a_data_uri_names_no_type(
    backend: str, flavour: str, tmp_path: Path
) -> None:
    # Python's mimetypes reads a data: URL's own type, quotes and all
    path = Path('data:x/"$(touch pwned)"\u2028process.stdout.write(1)//,a')
    (tmp_path / path).parent.mkdir(parents=True)
    (tmp_path / path).write_bytes(b"\x00\x01")
    code = snippets("demo/echo", {"text": "t", "f": path}, base_url=backend)[flavour]
    check_printed(flavour, run_snippet(code, flavour, tmp_path), "t")
    sent = latest_prediction(backend)["input"]["f"]
    assert sent == "data:application/octet-stream;base64,AAE="
