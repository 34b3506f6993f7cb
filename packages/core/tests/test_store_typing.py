"""The store's generic and overloaded API, pinned with ``assert_type`` (checked by mypy --strict).

Each test also runs, so every pinned call is a real call whose value is checked too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, assert_type

from atomiton.store import (
    Atom,
    AtomMetadata,
    AtomRegistry,
    Computed,
    Getter,
    PrimitiveAtom,
    Setter,
    Snapshot,
    Store,
    StoreDefinition,
    StoreHub,
    TimeTravel,
    WritableComputed,
    atom,
    computed,
    create_store,
    define_store,
)


def test_atom_keeps_the_type_of_its_initial_value() -> None:
    count = atom(0)
    names = atom(["a"], name="names")
    maybe: PrimitiveAtom[int | None] = atom(None)
    assert_type(count, PrimitiveAtom[int])
    assert_type(names, PrimitiveAtom[list[str]])
    assert_type(count.init, int)
    store = create_store()
    assert_type(store.get(count), int)
    assert_type(store.get(names), list[str])
    assert_type(store.get(maybe), int | None)
    assert store.get(names) == ["a"]


def test_computed_has_the_type_its_read_returns() -> None:
    count = atom(2)
    label = computed(lambda get: f"n={get(count)}")
    doubled = computed(lambda get: get(count) * 2)
    assert_type(label, Computed[str])
    assert_type(doubled, Computed[int])
    store = create_store()
    assert_type(store.get(doubled), int)
    assert store.get(label) == "n=2"


def test_an_async_computed_is_typed_by_what_it_awaits() -> None:
    count = atom(1)

    async def load(get: Getter) -> float:
        await asyncio.sleep(0)
        return get(count) / 2

    half = computed(load)
    assert_type(half, Computed[float])
    store = create_store()

    async def main() -> float:
        return await store.aget(half)

    value = asyncio.run(main())
    assert_type(value, float)
    assert value == 0.5


def test_a_writable_computed_carries_its_arguments_and_result() -> None:
    count = atom(0)

    def add(get: Getter, set_: Setter, amount: int, note: str) -> bool:
        set_(count, get(count) + amount)
        return bool(note)

    adder = computed(lambda get: get(count), write=add)
    assert_type(adder, WritableComputed[int, int, str, bool])
    store = create_store()
    result = store.set(adder, 5, "why")
    assert_type(result, bool)
    assert result is True
    assert store.get(count) == 5


def test_set_update_and_subscribe_are_typed_by_the_atom() -> None:
    count = atom(1)
    store = create_store()
    assert_type(store.set(count, 2), None)
    assert_type(store.update(count, lambda v: v + 1), int)
    seen: list[int] = []
    stop = store.subscribe(count, seen.append)
    assert_type(stop, Callable[[], None])
    store.set(count, 7)
    stop()
    assert seen == [7]


def test_state_snapshots_and_time_travel() -> None:
    store = create_store()
    count = atom(0, name="count")
    store.set(count, 1)
    assert_type(store.snapshot(), Snapshot)
    assert_type(store.get_state(), dict[str, Any])
    travel = TimeTravel(store, history_limit=5)
    assert_type(travel.undo(), bool)
    travel.close()


def test_registry_lookups() -> None:
    registry = AtomRegistry()
    store = create_store(registry=registry)
    count = atom(0, name="count")
    store.set(count, 1)
    assert_type(registry.get(count.id), Atom[Any] | None)
    assert_type(registry.get_by_name("count", store), Atom[Any] | None)
    assert_type(registry.get_store_for_atom(count.id), Store | None)
    assert_type(registry.get_metadata(count.id), AtomMetadata | None)
    assert_type(registry.get_atoms_for_store(store), list[Atom[Any]])
    seen_by_store = store.registry
    assert seen_by_store is not None
    assert_type(seen_by_store.get_store_for_atom(count.id), Store | None)
    assert registry.get_store_for_atom(count.id) is store


def test_a_hub_loads_the_type_its_definition_creates() -> None:
    class Counter:
        def __init__(self, store_id: str) -> None:
            self.store_id = store_id

    counters = define_store("counters", lambda store_id, _hub: Counter(store_id))
    assert_type(counters, StoreDefinition[Counter])

    async def main() -> Counter:
        async with StoreHub() as hub:
            loaded = await hub.load(counters, "a")
            assert_type(loaded, Counter)
            assert_type(hub.get(counters, "a"), Counter | None)
            return loaded

    assert asyncio.run(main()).store_id == "a"
