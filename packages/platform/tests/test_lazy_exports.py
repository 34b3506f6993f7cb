"""lazy_exports(): a package face that imports each public name on first use."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from atomiton.platform import lazy_exports


@pytest.fixture
def face(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    package = tmp_path / "lazyface"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from atomiton.platform import lazy_exports\n"
        "__all__ = ['answer']\n"
        "__getattr__, __dir__ = lazy_exports(__name__, {'answer': '_impl'}, __all__)\n"
    )
    (package / "_impl.py").write_text("answer = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "lazyface"
    for name in [m for m in sys.modules if m == "lazyface" or m.startswith("lazyface.")]:
        del sys.modules[name]


def test_a_name_is_imported_on_first_access_only(face: str) -> None:
    import importlib

    module = importlib.import_module(face)
    assert f"{face}._impl" not in sys.modules
    assert "answer" in dir(module)
    assert module.answer == 42
    assert f"{face}._impl" in sys.modules
    assert module.__dict__["answer"] == 42  # cached: later lookups skip the hook


def test_an_unknown_name_is_an_attribute_error_naming_the_package(face: str) -> None:
    import importlib

    module = importlib.import_module(face)
    with pytest.raises(AttributeError, match=r"'lazyface' has no attribute 'missing'"):
        _ = module.missing


def test_the_face_must_be_importing_or_imported() -> None:
    with pytest.raises(KeyError):
        lazy_exports("not_a_loaded_package_xyz", {}, [])
