"""bus.domain(name): a view that owns a namespace by prefixing types and patterns."""

from __future__ import annotations

import pytest

from atomiton.events import Event, EventBus, PatternError


async def test_domain_prefixes_every_operation() -> None:
    bus = EventBus()
    execution = bus.domain("execution")
    seen: list[str] = []
    everything: list[str] = []
    execution.on("job.*", lambda e: seen.append(e.type))
    bus.on("**", lambda e: everything.append(e.type))
    event = execution.emit("job.started", {"id": 1}, source="execution")
    await execution.aemit("job.done")
    bus.emit("job.started")  # not in the domain
    assert event.type == "execution.job.started"
    assert seen == ["execution.job.started", "execution.job.done"]
    assert everything == ["execution.job.started", "execution.job.done", "job.started"]
    assert [e.type for e in execution.history()] == seen
    assert execution.listener_count("job.x") == 2


async def test_domain_once_off_replay_and_stream() -> None:
    bus = EventBus()
    store = bus.domain("store")
    store.emit("changed")
    replayed: list[int] = []
    store.on("changed", lambda e: replayed.append(e.id), replay=True)
    assert replayed == [1]
    once: list[int] = []
    store.once("*", lambda e: once.append(e.id))

    def handler(event: Event) -> None:
        raise AssertionError("removed")

    store.on("x", handler)
    assert store.off("x", handler) is True
    async with store.stream("*") as stream:
        store.emit("x")
        assert (await anext(stream)).type == "store.x"
    assert once == [2]


def test_nested_domains_join_names() -> None:
    bus = EventBus()
    assert bus.domain("a").domain("b").emit("c").type == "a.b.c"


@pytest.mark.parametrize("name", ["", "a.*", "a..b"])
def test_domain_name_must_be_a_concrete_type(name: str) -> None:
    with pytest.raises(PatternError):
        EventBus().domain(name)
