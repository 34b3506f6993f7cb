"""Atom definitions: identity, names, kinds, isolation, and that stores never keep atoms alive."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

from atomiton.store import (
    Atom,
    Computed,
    IsolationError,
    PrimitiveAtom,
    ReadOnlyAtomError,
    WritableComputed,
    atom,
    computed,
    create_store,
)


def _reader(source: Atom[Any]) -> Atom[Any]:
    return computed(lambda get: get(source))


def test_atoms_have_unique_ids_and_hash_by_identity() -> None:
    a, b = atom(0), atom(0)
    assert a.id != b.id
    assert a != b
    assert len({a, b, a}) == 2


def test_unnamed_atoms_get_a_fallback_name() -> None:
    a = atom(0)
    assert a.name == f"atom-{a.id}"
    assert not a.has_explicit_name
    assert atom(0, name="count").name == "count"


def test_kinds_are_primitive_computed_and_writable() -> None:
    a = atom(1)
    assert isinstance(a, PrimitiveAtom)
    assert a.kind == "primitive"
    assert a.init == 1
    ro = computed(lambda get: get(a))
    assert isinstance(ro, Computed)
    assert ro.kind == "computed"
    rw = computed(lambda get: get(a), write=lambda get, set, n: set(a, n))
    assert isinstance(rw, WritableComputed)
    assert rw.kind == "writable"


def test_bad_definitions_raise_clear_errors() -> None:
    with pytest.raises(TypeError, match="read must be callable"):
        computed(42)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="name must be a str"):
        atom(0, name=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="equals must be callable"):
        atom(0, equals="yes")  # type: ignore[arg-type]


def test_values_live_in_stores_not_in_atoms() -> None:
    a = atom(0)
    s1, s2 = create_store(), create_store()
    s1.set(a, 5)
    assert s1.get(a) == 5
    assert s2.get(a) == 0


def test_dropping_every_reference_to_an_atom_frees_its_value_in_every_store() -> None:
    class Value:
        pass

    stores = [create_store() for _ in range(3)]
    a: PrimitiveAtom[Any] = atom(None)
    held = Value()
    alive = weakref.ref(held)
    for store in stores:
        store.set(a, held)
    d = _reader(a)
    for store in stores:
        assert store.get(d) is held
    del held, a, d
    gc.collect()
    assert alive() is None
    for store in stores:
        assert store.snapshot().ids == frozenset()


def test_a_store_is_collected_when_dropped() -> None:
    a = atom(0)
    store = create_store()
    store.set(a, 1)
    ref = weakref.ref(store)
    del store
    gc.collect()
    assert ref() is None


def test_an_atom_owned_by_a_store_is_not_accessible_from_another() -> None:
    owner, other = create_store(name="owner"), create_store()
    a = atom(0, store=owner)
    owner.set(a, 2)
    assert owner.get(a) == 2
    assert owner.registry is not None
    assert owner.registry.get_store_for_atom(a.id) is owner
    with pytest.raises(IsolationError, match="owner"):
        other.get(a)
    with pytest.raises(IsolationError):
        other.set(a, 1)
    d = computed(lambda get: get(a))
    with pytest.raises(IsolationError):
        other.get(d)
    assert owner.get(d) == 2


def test_setting_a_read_only_derived_atom_raises() -> None:
    a = atom(1)
    d = computed(lambda get: get(a), name="d")
    store = create_store()
    with pytest.raises(ReadOnlyAtomError, match="'d' is read-only"):
        store.set(d, 3)  # type: ignore[call-overload]
