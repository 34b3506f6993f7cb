from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test's atomiton directories inside its own tmp_path."""
    for kind in ("DATA", "CACHE", "CONFIG"):
        monkeypatch.setenv(f"ATOMITON_{kind}_DIR", str(tmp_path / kind.lower()))
