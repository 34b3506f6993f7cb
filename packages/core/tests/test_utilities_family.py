"""atom_family: identity per parameter, remove, should_remove, params, no leaks."""

from __future__ import annotations

import gc
import threading
import weakref
from typing import Any

import pytest

from atomiton.platform.testing import bytes_per_object
from atomiton.store import AtomFamily, PrimitiveAtom, atom, atom_family, create_store


def _atom_of(param: Any) -> PrimitiveAtom[Any]:
    return atom(param)


def test_equal_params_give_the_same_atom_and_create_runs_once_per_param() -> None:
    made: list[int] = []

    def create(todo_id: int) -> PrimitiveAtom[str]:
        made.append(todo_id)
        return atom(f"todo {todo_id}")

    todo = atom_family(create)
    assert todo(1) is todo(1)
    assert todo(1) is not todo(2)
    assert made == [1, 2]
    store = create_store()
    store.set(todo(1), "changed")
    assert store.get(todo(1)) == "changed"
    assert store.get(todo(2)) == "todo 2"


def test_equals_compares_unhashable_params() -> None:
    def create(p: dict[str, int]) -> PrimitiveAtom[int]:
        return atom(p["x"] + p["y"])

    point = atom_family(create, equals=lambda a, b: a["x"] == b["x"] and a["y"] == b["y"])
    assert point({"x": 1, "y": 2}) is point({"y": 2, "x": 1})
    assert point({"x": 1, "y": 2}) is not point({"x": 2, "y": 2})
    assert point.params() == [{"x": 1, "y": 2}, {"x": 2, "y": 2}]
    point.remove({"x": 1, "y": 2})
    assert point.params() == [{"x": 2, "y": 2}]


def test_an_unhashable_param_without_equals_is_a_clear_type_error() -> None:
    family = atom_family(_atom_of)
    with pytest.raises(TypeError, match=r"unhashable: give the family an equals="):
        family([1, 2])


def test_create_must_return_an_atom() -> None:
    family: AtomFamily[Any, Any] = atom_family(lambda p: p)
    with pytest.raises(TypeError, match="create must return an atom, got int"):
        family(1)
    with pytest.raises(TypeError, match="create must be callable"):
        atom_family(3)  # type: ignore[arg-type]


def test_remove_makes_the_next_call_create_a_new_atom() -> None:
    family = atom_family(_atom_of)
    first = family("a")
    family.remove("a")
    family.remove("never there")  # nothing to remove: no error
    assert family("a") is not first
    assert family.params() == ["a"]


def test_should_remove_removes_matching_members_now_and_on_later_calls() -> None:
    family = atom_family(_atom_of)
    kept, dropped = family(1), family(2)
    seen: list[tuple[float, int]] = []

    def should_remove(created_at: float, param: int) -> bool:
        seen.append((created_at, param))
        return param % 2 == 0

    family.set_should_remove(should_remove)
    assert family.params() == [1]
    assert all(isinstance(created_at, float) and created_at > 0 for created_at, _ in seen)
    assert family(1) is kept
    assert family(2) is not dropped  # re-created
    family.set_should_remove(lambda created_at, param: created_at < 0)
    assert family.params() == [1, 2]


def test_should_remove_by_age_replaces_an_old_member_on_access() -> None:
    family = atom_family(_atom_of)
    old = family("k")
    created_at: list[float] = []

    def record(at: float, param: object) -> bool:
        created_at.append(at)
        return False

    family.set_should_remove(record)
    assert family("k") is old
    family.set_should_remove(lambda at, param: at <= created_at[0])  # that old: stale
    assert family.params() == []
    assert family("k") is not old


def test_concurrent_first_calls_create_one_atom() -> None:
    made: list[int] = []

    def create(p: int) -> PrimitiveAtom[int]:
        made.append(p)
        return atom(p)

    family = atom_family(create)
    results: list[Any] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        results.append(family(7))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert made == [7]
    assert all(r is results[0] for r in results)


def test_removed_members_of_a_100_000_param_family_are_freed_with_their_values() -> None:
    store = create_store()
    family = atom_family(_atom_of)
    refs = []
    for i in range(100_000):
        member = family(i)
        store.set(member, -i)
        refs.append(weakref.ref(member))
    del member
    assert len(family) == 100_000
    assert store.get(family(99_999)) == -99_999
    for i in family.params():
        family.remove(i)
    gc.collect()
    assert len(family) == 0
    assert all(ref() is None for ref in refs)  # nothing holds a removed member
    assert store.get_state() == {}  # and no store keeps its value


def test_a_member_created_written_and_removed_leaves_no_memory_behind() -> None:
    store = create_store()
    family = atom_family(_atom_of)

    def cycle(i: int) -> None:
        store.set(family(i), i + 1)
        family.remove(i)

    # 100,000 members are checked above with weak references; tracemalloc is slow, so fewer.
    assert bytes_per_object(cycle, count=5_000) < 8  # a leak would be >= 100 B each


def test_repr_and_len() -> None:
    family = atom_family(_atom_of)
    family(1)
    assert repr(family) == "<AtomFamily of 1 atoms>"
    assert len(family) == 1
