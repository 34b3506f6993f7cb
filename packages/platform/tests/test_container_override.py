from __future__ import annotations

from atomiton.platform import Container


class Clock:
    def now(self) -> float:
        return 1.0


class FakeClock(Clock):
    def now(self) -> float:
        return 99.0


class Scheduler:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock


def test_override_with_an_instance_replaces_and_restores() -> None:
    container = Container()
    container.singleton(Clock)
    container.transient(Scheduler)
    real = container[Clock]
    fake = FakeClock()
    with container.override(Clock, fake):
        assert container[Clock] is fake
        assert container[Scheduler].clock is fake
    assert container[Clock] is real
    assert container[Scheduler].clock is real


def test_override_with_a_factory_keeps_the_lifetime() -> None:
    container = Container()
    container.singleton(Clock)
    with container.override(Clock, FakeClock):
        assert isinstance(container[Clock], FakeClock)
        assert container[Clock] is container[Clock]
    assert type(container[Clock]) is Clock


def test_singletons_built_during_an_override_are_forgotten_after() -> None:
    container = Container()
    container.singleton(Clock)
    container.singleton(Scheduler)
    with container.override(Clock, FakeClock()):
        assert isinstance(container[Scheduler].clock, FakeClock)
    assert type(container[Scheduler].clock) is Clock


def test_override_of_an_unregistered_key_is_removed_after() -> None:
    container = Container()
    with container.override("clock", Clock):
        assert isinstance(container["clock"], Clock)
    assert not container.has("clock")
