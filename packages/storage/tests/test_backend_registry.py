"""open_storage finds URL schemes through the atomiton.storage.backends entry points."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

import pytest

from atomiton.storage import MemoryStorage, StorageClient, StorageURLError, _backends, open_storage
from atomiton.storage._server_url import redact_url


class FakePoint:
    def __init__(self, name: str, value: str, load: Callable[[], Any]) -> None:
        self.name, self.value, self._load = name, value, load

    def load(self) -> Any:
        return self._load()


def _install(monkeypatch: pytest.MonkeyPatch, points: list[FakePoint]) -> None:
    def fake(*, group: str, name: str | None = None) -> list[FakePoint]:
        assert group == "atomiton.storage.backends"
        return [point for point in points if name is None or point.name == name]

    monkeypatch.setattr(_backends, "entry_points", fake)


def test_this_package_registers_its_four_server_schemes() -> None:
    found = {point.name: point.value for point in entry_points(group=_backends.GROUP)}
    assert found["postgres"] == found["postgresql"] == "atomiton.storage._postgres:open_postgres"
    assert found["redis"] == found["rediss"] == "atomiton.storage._redis:open_redis"


def test_another_package_adds_a_scheme_without_touching_this_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def open_s3(url: str, **options: Any) -> StorageClient:
        calls.append((url, options))
        return MemoryStorage()

    _install(monkeypatch, [FakePoint("s3", "their_pkg:open_s3", lambda: open_s3)])
    with open_storage("S3://bucket/data?region=eu", retries=3) as storage:
        assert isinstance(storage, MemoryStorage)
    assert calls == [("S3://bucket/data?region=eu", {"retries": 3})]


def test_unknown_twice_registered_and_broken_schemes_are_clear_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken() -> Any:
        raise ImportError("No module named 'their_pkg'")

    _install(
        monkeypatch,
        [
            FakePoint("dup", "a:open", lambda: None),
            FakePoint("dup", "b:open", lambda: None),
            FakePoint("broken", "their_pkg:open", broken),
        ],
    )
    with pytest.raises(StorageURLError, match=r"unknown scheme 'nope' \(use .*broken, dup"):
        open_storage("nope://u:secret@host/x")
    with pytest.raises(StorageURLError, match="registered by several backends"):
        open_storage("dup://x")
    with pytest.raises(StorageURLError, match="cannot be loaded: No module named") as caught:
        open_storage("broken://u:secret@host/x")
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://u:secret@host/0", "redis://u:***@host/0"),
        ("redis://u:se@cret@host/0", "redis://u:***@host/0"),  # a raw '@' in the password
        ("redis://u:se/cret@host", "redis://u:***@host"),  # a raw '/' in the password
        ("rediss://:secret@h:1/0?prefix=a:b", "rediss://:***@h:1/0?prefix=a:b"),
        ("postgres://u:%73ecret@h/db", "postgres://u:***@h/db"),
        ("postgresql://postgres@127.0.0.1/test", "postgresql://postgres@127.0.0.1/test"),
        ("redis://host/0?client_name=a:b", "redis://host/0?client_name=a:b"),
    ],
)
def test_redact_hides_the_whole_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    if "secret" in url or "%73ecret" in url:
        with pytest.raises(StorageURLError) as caught:
            open_storage(url.split("?")[0] + "?colour=red")
        assert "cret" not in str(caught.value)
        assert "'se'" not in str(caught.value)
