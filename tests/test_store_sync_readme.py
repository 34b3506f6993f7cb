"""The store README's "Several processes and machines" example runs as written (it needs
atomiton.events and atomiton.storage, so it lives with the cross-package tests)."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "packages" / "core" / "README.md"
SECTION = "Several processes and machines"


def test_the_sync_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {SECTION}\n")
    end = text.find("\n## ", start + 1)
    blocks = re.findall(r"```python\n(.*?)```", text[start:end], flags=re.DOTALL)
    assert len(blocks) == 1
    module = types.ModuleType("readme_sync_example")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(blocks[0], f"{README}: {SECTION}", "exec"), module.__dict__)
