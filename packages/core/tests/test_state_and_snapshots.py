"""Snapshots (by atom identity), restore, and state by atom name."""

from __future__ import annotations

from typing import Any

import pytest

from atomiton.store import UnknownAtomError, atom, computed, create_store


def test_snapshot_and_restore_notify_and_recompute_by_default() -> None:
    store = create_store()
    a, b = atom(1), atom(2)
    total = computed(lambda get: get(a) + get(b))
    seen: list[int] = []
    store.subscribe(total, seen.append)
    snap = store.snapshot()
    store.set(a, 10)
    store.set(b, 20)
    store.restore(snap)
    assert store.get(total) == 3
    assert seen == [12, 30, 3]


def test_restore_resets_atoms_written_after_the_snapshot_to_their_initial_value() -> None:
    store = create_store()
    a = atom("init")
    snap = store.snapshot()
    store.set(a, "later")
    store.restore(snap)
    assert store.get(a) == "init"


def test_restore_with_notify_false_is_silent_but_derived_atoms_follow() -> None:
    store = create_store()
    a = atom(1)
    d = computed(lambda get: get(a) * 2)
    seen: list[int] = []
    store.subscribe(d, seen.append)
    snap = store.snapshot()
    store.set(a, 5)
    store.restore(snap, notify=False)
    assert seen == [10]
    assert store.get(d) == 2


def test_snapshots_key_values_by_atom_identity_not_name() -> None:
    store = create_store()
    first, second = atom(0, name="same"), atom(0, name="same")
    store.set(first, 1)
    store.set(second, 2)
    snap = store.snapshot()
    assert snap[first] == 1
    assert snap[second] == 2
    assert first in snap
    assert len(snap) == 2
    assert snap[atom(5)] == 5  # never written: its initial value
    assert snap.by_id() == {first.id: 1, second.id: 2}
    assert snap.ids == {first.id, second.id}


def test_restore_needs_a_snapshot() -> None:
    with pytest.raises(TypeError, match="Snapshot"):
        create_store().restore({})  # type: ignore[arg-type]


def test_get_state_and_set_state_by_name() -> None:
    store = create_store()
    count, flag = atom(0, name="count"), atom(False)
    store.set(count, 3)
    store.set(flag, True)
    assert store.get_state() == {"count": 3, flag.name: True}
    seen: list[Any] = []
    store.subscribe(count, seen.append)
    store.set_state({"count": 4, flag.name: False})
    assert store.get(count) == 4
    assert store.get(flag) is False
    assert seen == [4]


def test_set_state_with_an_unknown_name_raises() -> None:
    with pytest.raises(UnknownAtomError, match="nope"):
        create_store().set_state({"nope": 1})
