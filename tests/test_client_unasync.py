"""The sync client modules are generated from the async ones; this keeps them in step.

``scripts/unasync.py`` is the generator (``make lint`` runs it with ``--check``);
these tests run the same check in the suite and show that the check can fail: on
a sync module edited by hand, and on a rule that no longer matches anything.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "unasync", ROOT / "scripts/unasync.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["unasync"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def unasync() -> ModuleType:
    return _load()


def test_sync_modules_are_what_the_async_sources_generate(unasync, capsys) -> None:
    assert unasync.main(["--check"]) == 0, capsys.readouterr().err


def test_rules_turn_awaits_into_blocking_calls(unasync) -> None:
    text = unasync.generate("async_client.py", set())
    assert "async " not in text
    assert "await " not in text
    assert "asyncio" not in text
    assert "aiter_sse()" not in text
    assert "httpx.Client(" in text
    assert "time.sleep(" in text
    assert "self._http.close()" in text
    assert "def __enter__(self) -> Client:" in text
    assert "yield from self.stream_prediction(prediction)" in text
    assert "lambda url: self._send(" in text


def test_check_fails_on_a_hand_edited_sync_module(
    unasync, tmp_path, monkeypatch, capsys
) -> None:
    copy = tmp_path / "replicate_widgets"
    copy.mkdir()
    for pair in unasync.SOURCES.items():
        for name in pair:
            shutil.copy(ROOT / "replicate_widgets" / "_client" / name, copy / name)
    edited = copy / "resources.py"
    edited.write_text(edited.read_text() + "\n# edited by hand\n")
    monkeypatch.setattr(unasync, "PACKAGE", copy)
    assert unasync.main(["--check"]) == 1
    assert "resources.py differs" in capsys.readouterr().err


def test_check_reports_a_rule_nothing_uses(unasync, monkeypatch, capsys) -> None:
    rules = [*unasync.SUBS, ("anext", "next")]
    monkeypatch.setattr(unasync, "SUBS", rules)
    monkeypatch.setattr(
        unasync,
        "_COMPILED",
        [*unasync._COMPILED, (unasync.re.compile(r"(?<!\w)anext(?!\w)"), "next")],
    )
    assert unasync.main(["--check"]) == 1
    assert "unused rule: 'anext' -> 'next'" in capsys.readouterr().err
