"""The seed's registry: atoms a store uses are registered with no explicit call (issue 17)."""

from __future__ import annotations

import gc
import threading
import time
from typing import Any

import pytest

from atomiton.store import (
    AtomRegistry,
    DuplicateAtomNameWarning,
    IsolationError,
    atom,
    computed,
    create_store,
)


def test_an_atom_used_in_an_attached_store_is_known_by_id_and_name() -> None:
    registry = AtomRegistry()
    store = create_store(registry=registry)
    count = atom(0, name="count")
    store.set(count, 1)
    assert registry.get(count.id) is count
    assert registry.get(count.id, store) is count
    assert registry.get_by_name("count", store) is count
    assert registry.get_store_for_atom(count.id) is store
    assert registry.get_atoms_for_store(store) == [count]
    meta = registry.get_metadata(count.id)
    assert meta is not None
    assert (meta.name, meta.kind) == ("count", "primitive")


def test_reading_or_subscribing_registers_too_derived_atoms_included() -> None:
    registry = AtomRegistry()
    store = create_store(registry=registry)
    limit = atom(5, name="limit")
    doubled = computed(lambda get: get(limit) * 2, name="doubled")
    assert store.get(limit) == 5
    assert registry.get_by_name("limit", store) is limit
    store.subscribe(doubled, lambda _v: None)
    assert registry.get_by_name("doubled", store) is doubled
    meta = registry.get_metadata(doubled.id)
    assert meta is not None
    assert meta.kind == "computed"


def test_automatic_registration_does_not_isolate_the_atom() -> None:
    registry = AtomRegistry()
    first, second = create_store(registry=registry), create_store(registry=registry)
    shared = atom(0, name="shared")
    first.set(shared, 1)
    second.set(shared, 2)  # no IsolationError: only register(atom, store) isolates
    assert (first.get(shared), second.get(shared)) == (1, 2)
    assert registry.get_store_for_atom(shared.id) is first  # the first store that used it
    assert registry.get_by_name("shared", second) is shared


def test_atom_with_store_registers_it_with_that_store() -> None:
    registry = AtomRegistry()
    store, other = create_store(registry=registry), create_store(registry=registry)
    mine = atom(0, name="mine", store=store)
    assert registry.get_by_name("mine", store) is mine
    assert registry.get(mine.id) is mine
    assert registry.get_store_for_atom(mine.id) is store
    assert registry.get_atoms_for_store(store) == [mine]
    with pytest.raises(IsolationError):
        other.get(mine)
    derived = computed(lambda get: get(mine) + 1, name="plus", store=store)
    assert registry.get_by_name("plus", store) is derived


def test_atoms_a_store_saw_before_attaching_are_registered_on_attach() -> None:
    registry = AtomRegistry()
    store = create_store(registry=AtomRegistry())
    early = atom(1, name="early")
    store.set(early, 2)
    registry.attach_store(store)
    assert registry.get_by_name("early", store) is early


def test_registering_again_under_a_new_name_updates_the_metadata_name() -> None:
    registry = AtomRegistry()
    store = create_store(registry=registry)
    a = atom(0, name="old")
    registry.register(a, store)
    registry.register(a, store, name="new")
    meta = registry.get_metadata(a.id)
    assert meta is not None
    assert meta.name == "new"
    assert registry.get_by_name("new", store) is a
    assert registry.get_by_name("old", store) is a  # still found by its first name


def test_get_state_holds_named_atoms_read_but_never_written() -> None:
    store = create_store(registry=AtomRegistry())
    count, limit = atom(0, name="count"), atom(10, name="limit")
    store.set(count, 1)
    assert store.get(limit) == 10
    assert store.get_state() == {"count": 1, "limit": 10}


def test_duplicate_names_warn_only_on_explicit_registration() -> None:
    registry = AtomRegistry()
    store = create_store(registry=registry)
    first, second = atom(0, name="dup"), atom(0, name="dup")
    store.set(first, 1)
    store.set(second, 2)  # used, not registered explicitly: no warning
    assert registry.get_by_name("dup", store) is first
    with pytest.warns(DuplicateAtomNameWarning):
        registry.register(atom(0), store, name="dup")


def test_a_dropped_atom_leaves_every_index() -> None:
    registry = AtomRegistry()
    store = create_store(registry=registry)
    a = atom(0, name="gone")
    store.set(a, 1)
    atom_id = a.id
    del a
    gc.collect()
    assert registry.get(atom_id) is None
    assert registry.get_by_name("gone", store) is None
    assert registry.get_atoms_for_store(store) == []
    assert "gone" not in store.get_state()


class _SlowAdopt(AtomRegistry):
    """Holds the writer inside the registry callback (store lock held) for a moment."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()

    def _adopt(self, atom: Any, sid: int | None) -> None:
        if atom.name == "late" and not self.entered.is_set():
            self.entered.set()
            time.sleep(0.2)  # the attaching thread takes the registry meanwhile
        super()._adopt(atom, sid)


def test_attaching_while_a_write_registers_an_atom_does_not_deadlock() -> None:
    # The writer holds the store's lock when its runtime tells the registry of a new atom;
    # attach_store holds the registry while it asks the runtime which atoms it knows. With one
    # registry lock for both, each thread waited for the other forever.
    registry = _SlowAdopt()
    store = create_store(registry=registry)
    late = atom(0, name="late")

    def attach() -> None:
        registry.entered.wait(10)
        registry.attach_store(store)

    writer = threading.Thread(target=lambda: store.set(late, 1), daemon=True)
    attacher = threading.Thread(target=attach, daemon=True)
    writer.start()
    attacher.start()
    writer.join(timeout=30)
    attacher.join(timeout=30)
    assert not writer.is_alive()
    assert not attacher.is_alive()
    assert registry.get_by_name("late", store) is late
