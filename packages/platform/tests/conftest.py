from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from atomiton.platform import _capabilities, _detect


@pytest.fixture(autouse=True)
def _isolated_dirs_and_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep every test's atomiton directories inside its own tmp_path, and let no test see
    another's cached detect()/capabilities() (they were measured under other variables)."""
    for kind in ("DATA", "CACHE", "CONFIG"):
        monkeypatch.setenv(f"ATOMITON_{kind}_DIR", str(tmp_path / kind.lower()))
    _detect._cache.clear()
    _capabilities._cache.clear()
    yield
    _detect._cache.clear()
    _capabilities._cache.clear()
