"""The store README's atom-utility and store.watch examples run as written (one script, in order).

They live in tests/ because they show atom_with_storage on atomiton.storage's MemoryStorage,
which atomiton-store does not depend on.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "packages" / "core" / "README.md"


def _utility_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("<!-- utilities:begin") : text.index("<!-- utilities:end")]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_readme_utility_examples_run() -> None:
    blocks = _utility_blocks()
    assert len(blocks) >= 7
    namespace: dict[str, object] = {"__name__": "readme"}
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)
