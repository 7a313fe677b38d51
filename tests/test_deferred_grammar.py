"""import replicate_widgets leaves the IRI grammar uncompiled; IRIs still validate."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("rfc3987_syntax")


def run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_import_leaves_the_grammar_uncompiled():
    out = run(
        """
        import sys
        import replicate_widgets as rw
        rw.InputForm  # the widgets and jsonschema loaded too
        import jsonschema
        print("rfc3987_syntax.syntax_helpers" in sys.modules)
        """
    )
    assert out == "False"


def test_iri_formats_validate_as_without_the_stand_in():
    out = run(
        """
        import sys
        import replicate_widgets
        from jsonschema import FormatChecker
        checker = FormatChecker()
        good = checker.conforms("http://example.com/ä", "iri")
        bad = checker.conforms("not an iri at all", "iri")
        import rfc3987_syntax
        # The real module replaced the stand-in, with all its names.
        print(good, bad, type(sys.modules["rfc3987_syntax"]).__name__,
              callable(rfc3987_syntax.parse))
        """
    )
    assert out == "True False module True"
