from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pytest

import atomiton.platform
from atomiton.platform import Capabilities, Container, ContainerError, PlatformInfo, provide

CALLS: list[tuple[str, Any]] = []


def fake_provider(container: Container, settings: Mapping[str, Any] | None = None) -> None:
    CALLS.append(("fake", settings))
    container.singleton("fake", lambda: container.resolve(PlatformInfo).os)


def use_entry_points(monkeypatch: pytest.MonkeyPatch, points: list[EntryPoint]) -> None:
    from atomiton.platform import _entry_points

    def fake_installed(group: str) -> list[EntryPoint]:
        assert group == "atomiton.providers"
        return points

    monkeypatch.setattr(_entry_points, "installed", fake_installed)


def test_platform_provider_is_installed_as_an_entry_point() -> None:
    points = {ep.name: ep.value for ep in entry_points(group="atomiton.providers")}
    assert points["platform"] == "atomiton.platform:provide"


def test_provide_registers_platform_info_and_capabilities_lazily() -> None:
    container = Container()
    provide(container)
    assert container.has(PlatformInfo)
    assert container.has(Capabilities)
    assert container.resolve(PlatformInfo) is atomiton.platform.detect()
    assert container.resolve(Capabilities).cpu_count >= 1


def test_provide_keeps_existing_registrations() -> None:
    container = Container()
    mine = atomiton.platform.detect()
    container.instance(PlatformInfo, mine)
    provide(container)
    assert container[PlatformInfo] is mine


def test_from_installed_runs_platform_first_then_by_name_with_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    CALLS.clear()
    here = f"{__name__}:fake_provider"
    use_entry_points(
        monkeypatch,
        [
            EntryPoint("aaa", here, "atomiton.providers"),
            EntryPoint("platform", "atomiton.platform:provide", "atomiton.providers"),
            EntryPoint("aaa", here, "atomiton.providers"),  # the same one twice: run once
        ],
    )
    container = Container.from_installed({"storage.url": "sqlite://"})
    assert CALLS == [("fake", {"storage.url": "sqlite://"})]
    assert container["fake"] == container[PlatformInfo].os


def test_from_installed_names_a_provider_that_cannot_load(monkeypatch: pytest.MonkeyPatch) -> None:
    use_entry_points(
        monkeypatch, [EntryPoint("broken", "atomiton.nowhere:provide", "atomiton.providers")]
    )
    with pytest.raises(ContainerError, match=r"broken = atomiton\.nowhere:provide"):
        Container.from_installed()
