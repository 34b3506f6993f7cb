"""The README's entity store, live query, async entity API and store hub examples run as written.

Each block runs alone.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def _blocks(section: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    body = text[start : None if end == -1 else end]
    return re.findall(r"```python\n(.*?)```", body, flags=re.DOTALL)


@pytest.mark.parametrize(
    ("section", "at_least"),
    [("Entity stores", 6), ("Live queries", 2), ("Async entity API", 2), ("Store hub", 1)],
)
def test_readme_examples_run(section: str, at_least: int, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _blocks(section)
    assert len(blocks) >= at_least
    for block in blocks:
        # A real module in sys.modules: the examples define dataclasses, which look it up.
        module = types.ModuleType("readme_example")
        monkeypatch.setitem(sys.modules, module.__name__, module)
        exec(compile(block, f"{README}: {section}", "exec"), module.__dict__)
