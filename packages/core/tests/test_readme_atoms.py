"""The README's atom, registry and time-travel examples run as written (one script, in order)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _atom_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    example = text[text.index("## Example") : text.index("<!-- atoms:end")]
    return re.findall(r"```python\n(.*?)```", example, flags=re.DOTALL)


def test_readme_atom_examples_run() -> None:
    blocks = _atom_blocks()
    assert len(blocks) >= 8
    namespace: dict[str, object] = {"__name__": "readme"}
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)
