"""get_state(): by name, derived atoms optional, a failing or pending read never breaks it."""

from __future__ import annotations

import asyncio

import pytest

from atomiton.store import AtomRegistry, atom, computed, create_store


def test_get_state_leaves_out_a_registered_derived_atom_whose_read_raises() -> None:
    registry = AtomRegistry()
    store = create_store(registry=registry)
    count = atom(1, name="count")

    def boom(get: object) -> int:
        raise ValueError("no value")

    broken = computed(boom, name="broken")
    registry.register(count, store=store)
    registry.register(broken, store=store)
    with pytest.raises(ValueError, match="no value"):
        store.get(broken)
    assert store.get_state() == {"count": 1}


def test_get_state_leaves_out_a_pending_async_derived_atom() -> None:
    registry = AtomRegistry()
    store = create_store(registry=registry)

    async def slow(get: object) -> int:
        await asyncio.sleep(10)
        return 1

    pending = computed(slow, name="pending")
    registry.register(pending, store=store)
    assert "pending" not in store.get_state()


def test_get_state_include_derived_reports_mounted_derived_values() -> None:
    store = create_store()
    count = atom(2, name="count")
    doubled = computed(lambda get: get(count) * 2, name="doubled")
    unsubscribe = store.subscribe(doubled, lambda value: None)
    store.set(count, 5)
    assert store.get_state() == {"count": 5}
    assert store.get_state(include_derived=True) == {"count": 5, "doubled": 10}
    unsubscribe()
    assert "doubled" not in store.get_state(include_derived=True)
