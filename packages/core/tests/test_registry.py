"""The atom registry: global and isolated modes, weak stores, O(1) lookups, duplicate names."""

from __future__ import annotations

import gc
import time
import weakref

import pytest

from atomiton.store import (
    AtomMetadata,
    AtomRegistry,
    DuplicateAtomNameWarning,
    IsolationError,
    StoreError,
    UnknownAtomError,
    atom,
    computed,
    create_store,
    default_registry,
)


def test_create_store_attaches_to_the_default_registry_in_isolated_mode() -> None:
    store = create_store()
    assert store.registry is default_registry
    assert default_registry.mode_of(store) == "isolated"


def test_isolated_stores_hold_their_own_values() -> None:
    registry = AtomRegistry()
    a = atom(0)
    s1 = create_store(registry=registry)
    s2 = create_store(registry=registry)
    s1.set(a, 1)
    assert s2.get(a) == 0


def test_global_stores_of_one_registry_share_values() -> None:
    registry = AtomRegistry()
    a = atom(0)
    d = computed(lambda get: get(a) * 2)
    s1 = create_store(registry_mode="global", registry=registry)
    s2 = create_store(registry_mode="global", registry=registry)
    s1.set(a, 21)
    assert s2.get(a) == 21
    assert s2.get(d) == 42
    seen: list[int] = []
    s2.subscribe(a, seen.append)
    s1.set(a, 1)
    assert seen == [1]
    other = create_store(registry_mode="global", registry=AtomRegistry())
    assert other.get(a) == 0


def test_create_store_rejects_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="registry_mode"):
        create_store(registry_mode="shared")  # type: ignore[arg-type]


def test_register_indexes_by_id_and_name_with_metadata() -> None:
    registry = AtomRegistry()
    count = atom(0, name="count")
    doubled = computed(lambda get: get(count) * 2, name="doubled")
    add = computed(lambda get: 0, write=lambda get, set, n: set(count, n), name="add")
    before = time.time()
    for a in (count, doubled, add):
        registry.register(a)
    assert registry.get(count.id) is count
    assert registry.get_by_name("doubled") is doubled
    meta = registry.get_metadata(add.id)
    assert isinstance(meta, AtomMetadata)
    assert (meta.name, meta.kind) == ("add", "writable")
    assert meta.created_at >= before
    assert registry.get_metadata(count.id).kind == "primitive"  # type: ignore[union-attr]
    assert registry.get_metadata(doubled.id).kind == "computed"  # type: ignore[union-attr]
    assert registry.get(10**12) is None
    assert registry.get_by_name("missing") is None


def test_register_under_another_name() -> None:
    registry = AtomRegistry()
    a = atom(0, name="inner")
    registry.register(a, name="outer")
    assert registry.get_by_name("outer") is a
    assert registry.get_by_name("inner") is None


def test_per_store_names_win_over_global_ones() -> None:
    registry = AtomRegistry()
    store = create_store(registry=registry)
    global_user, store_user = atom("g"), atom("s")
    registry.register(global_user, name="user")
    registry.register(store_user, store=store, name="user")
    assert registry.get_by_name("user", store) is store_user
    assert registry.get_by_name("user") is global_user
    assert registry.get_by_name("user", create_store(registry=registry)) is global_user
    assert registry.get_store_for_atom(store_user.id) is store
    assert registry.get_atoms_for_store(store) == [store_user]
    assert registry.get(store_user.id, store) is store_user
    assert registry.get(global_user.id, store) is None


def test_an_atom_registered_to_an_isolated_store_is_not_accessible_elsewhere() -> None:
    registry = AtomRegistry()
    home, other = create_store(registry=registry), create_store(registry=registry)
    secret = atom("x")
    registry.register(secret, store=home)
    assert home.get(secret) == "x"
    with pytest.raises(IsolationError):
        other.get(secret)


def test_get_atom_value_reads_from_the_atoms_store() -> None:
    registry = AtomRegistry()
    store = create_store(registry=registry)
    a = atom(1)
    registry.register(a, store=store)
    store.set(a, 5)
    assert registry.get_atom_value(a.id) == 5
    b = atom(2)
    registry.register(b)
    assert registry.get_atom_value(b.id, create_store(registry=registry)) == 2
    with pytest.raises(UnknownAtomError, match="store="):
        registry.get_atom_value(b.id)
    with pytest.raises(UnknownAtomError, match="no registered atom"):
        registry.get_atom_value(10**12)


def test_duplicate_names_warn_once_and_resolve_to_the_first() -> None:
    registry = AtomRegistry()
    first, second, third = atom(1), atom(2), atom(3)
    registry.register(first, name="dup")
    with pytest.warns(DuplicateAtomNameWarning, match="'dup'"):
        registry.register(second, name="dup")
    registry.register(third, name="dup")  # warned once already: no second warning
    assert registry.get_by_name("dup") is first
    del first
    gc.collect()
    assert registry.get_by_name("dup") is second


def test_stores_are_held_weakly_and_leave_nothing_behind() -> None:
    registry = AtomRegistry()
    a = atom(0)
    store = create_store(registry=registry)
    registry.register(a, store=store)
    ref = weakref.ref(store)
    assert registry.store_count == 1
    del store
    gc.collect()
    assert ref() is None
    assert registry.store_count == 0
    assert registry.get_store_for_atom(a.id) is None


def test_atoms_are_held_weakly() -> None:
    registry = AtomRegistry()
    a = atom(0, name="temp")
    registry.register(a)
    atom_id = a.id
    del a
    gc.collect()
    assert registry.get(atom_id) is None
    assert registry.get_by_name("temp") is None
    assert registry.get_metadata(atom_id) is None
    assert len(registry) == 0


def test_detach_store_cleans_every_reference() -> None:
    registry = AtomRegistry()
    store = create_store(registry=registry)
    a = atom(0)
    registry.register(a, store=store, name="a")
    registry.detach_store(store)
    assert store.registry is None
    assert registry.mode_of(store) is None
    assert registry.get_store_for_atom(a.id) is None
    assert registry.get_by_name("a", store) is None
    assert registry.get_atoms_for_store(store) == []


def test_detaching_a_global_store_keeps_a_private_copy() -> None:
    registry = AtomRegistry()
    a = atom(0)
    s1 = create_store(registry_mode="global", registry=registry)
    s2 = create_store(registry_mode="global", registry=registry)
    s1.set(a, 1)
    registry.detach_store(s2)
    s1.set(a, 2)
    assert s2.get(a) == 1


def test_attach_switches_an_unsubscribed_store_to_global_mode() -> None:
    registry = AtomRegistry()
    a = atom(0)
    shared = create_store(registry_mode="global", registry=registry)
    loner = create_store(registry=registry)
    loner.set(a, 7)
    registry.attach_store(loner, mode="global")
    assert shared.get(a) == 7
    with pytest.raises(ValueError, match="mode"):
        registry.attach_store(loner, mode="other")  # type: ignore[arg-type]


def test_lookups_stay_constant_time_at_10000_atoms() -> None:
    registry = AtomRegistry()
    atoms = [atom(i, name=f"atom{i}") for i in range(10_000)]
    for a in atoms:
        registry.register(a)

    def lookup_cost(n: int) -> float:
        names = [f"atom{i}" for i in range(n)]
        start = time.perf_counter()
        for _ in range(20):
            for name in names:
                registry.get_by_name(name)
        return (time.perf_counter() - start) / (20 * n)

    small, large = lookup_cost(100), lookup_cost(10_000)
    assert large < small * 10  # O(1): per-lookup cost does not grow with the registry
    assert registry.get_by_name("atom9999") is atoms[9999]
    assert registry.get(atoms[5000].id) is atoms[5000]


def test_get_state_includes_registered_atoms_by_name() -> None:
    registry = AtomRegistry()
    store = create_store(registry=registry)
    theme = atom("dark", name="theme")
    registry.register(theme, store=store)
    assert store.get_state() == {"theme": "dark"}
    store.set_state({"theme": "light"})
    assert store.get(theme) == "light"


def test_a_global_store_attached_again_in_isolated_mode_stops_sharing() -> None:
    registry = AtomRegistry()
    a = atom(0)
    s1 = create_store(registry_mode="global", registry=registry)
    s2 = create_store(registry_mode="global", registry=registry)
    s1.set(a, 1)
    registry.attach_store(s2, mode="isolated")
    assert registry.mode_of(s2) == "isolated"
    assert s2.get(a) == 1  # a private copy of the shared values
    s1.set(a, 2)
    assert s2.get(a) == 1
    s2.set(a, 3)
    assert s1.get(a) == 2


def test_a_store_refused_global_mode_keeps_its_mode_and_values() -> None:
    registry = AtomRegistry()
    a = atom(0)
    shared = create_store(registry_mode="global", registry=registry)
    busy = create_store(registry=registry)
    busy.set(a, 5)
    busy.subscribe(a, lambda v: None)
    with pytest.raises(StoreError, match="subscribers"):
        registry.attach_store(busy, mode="global")
    assert registry.mode_of(busy) == "isolated"
    assert (busy.get(a), shared.get(a)) == (5, 0)


def test_an_atom_registered_under_two_names_leaves_both_when_dropped() -> None:
    registry = AtomRegistry()
    first, second = atom(0, name="first"), atom(1)
    registry.register(first)
    registry.register(first, name="alias")
    with pytest.warns(DuplicateAtomNameWarning, match="'alias'"):
        registry.register(second, name="alias")
    assert registry.get_by_name("alias") is first
    del first
    gc.collect()
    assert registry.get_by_name("first") is None
    assert registry.get_by_name("alias") is second  # the dead atom no longer shadows it
