"""provide(): one lazily built EventBus under the EventBus type and the key "events"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from atomiton.events import BusConfigError, EventBus, EventLog, provide
from atomiton.platform import Container


def test_provide_registers_one_shared_bus_under_type_and_key() -> None:
    container = Container()
    provide(container)
    assert container.has(EventBus)
    assert container.has("events")
    bus = container.resolve(EventBus)
    assert container.resolve("events") is bus
    assert container[EventBus] is bus


def test_the_bus_is_built_lazily_on_first_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    import atomiton.events._provider as provider_module

    built: list[EventBus] = []

    class CountingBus(EventBus):
        __slots__ = ()

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    container = Container()
    provide(container)
    monkeypatch.setattr(provider_module, "EventBus", CountingBus)
    assert built == []
    first = container.resolve("events")
    assert built == [first]
    assert container.resolve(EventBus) is first
    assert len(built) == 1


def test_settings_shape_the_bus(tmp_path: Path) -> None:
    container = Container()
    path = tmp_path / "events.jsonl"
    provide(container, {"events.history_limit": 2, "events.log": str(path)})
    bus = container.resolve(EventBus)
    for number in range(3):
        bus.emit("a", number)
    assert [event.data for event in bus.history()] == [1, 2]
    container.close()
    assert [event.data for event in EventLog(path).events()] == [0, 1, 2]


def test_closing_the_container_closes_the_bus() -> None:
    container = Container()
    provide(container)
    bus = container.resolve("events")
    bus.on("**", print)
    container.close()
    assert bus.listener_count() == 0


@pytest.mark.parametrize(
    "settings",
    [
        {"events.history_limit": "many"},
        {"events.history_limit": -1},
        {"events.history_age": "1h"},
        {"events.history_age": 0},
        {"events.history_limit": None},
        {"events.log": 5},
    ],
)
def test_bad_settings_are_refused_at_provide_time(settings: dict[str, object]) -> None:
    with pytest.raises(BusConfigError, match="settings"):
        provide(Container(), settings)


def test_provide_is_the_installed_entry_point() -> None:
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="atomiton.providers") if e.name == "events"]
    assert entry.load() is provide
