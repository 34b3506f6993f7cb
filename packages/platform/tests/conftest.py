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


class FakeClock:
    """A monotonic clock the test advances by hand; its sleep advances it instead of waiting."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def clock() -> FakeClock:
    """A fresh FakeClock for a retry policy or breaker under test."""
    return FakeClock()
