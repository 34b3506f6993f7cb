"""split_atom: per-item atoms stable per key, remove/insert/move, notification counts, cleanup."""

from __future__ import annotations

import gc
import weakref
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atomiton.store import (
    Atom,
    InsertItem,
    MoveItem,
    RemoveItem,
    SplitItemMissingError,
    StoreError,
    atom,
    computed,
    create_store,
    split_atom,
)

Todo = dict[str, Any]


def _todos() -> list[Todo]:
    return [{"id": "a", "done": False}, {"id": "b", "done": False}, {"id": "c", "done": True}]


def test_items_read_their_element_and_write_replaces_it_in_a_new_list() -> None:
    todos = atom(_todos())
    split = split_atom(todos, key=lambda t: t["id"])
    store = create_store()
    original = store.get(todos)
    items = store.get(split)
    _a, b, _c = items
    assert store.get(b) == {"id": "b", "done": False}
    store.set(b, {"id": "b", "done": True})
    assert store.get(todos)[1] == {"id": "b", "done": True}
    assert original[1] == {"id": "b", "done": False}  # the old list was not mutated


def test_item_atoms_are_stable_per_key_across_moves_and_edits() -> None:
    todos = atom(_todos())
    split = split_atom(todos, key=lambda t: t["id"])
    store = create_store()
    items = store.get(split)
    a, b, c = items
    store.set(todos, [store.get(c), store.get(a), store.get(b)])
    now = store.get(split)
    assert now == [c, a, b]
    assert all(x is y for x, y in zip(now, [c, a, b], strict=True))
    other = create_store()  # one atom per key for every store
    assert other.get(split)[0] is a


def test_the_split_notifies_only_when_keys_change_and_items_only_for_their_own_value() -> None:
    todos = atom(_todos())
    split = split_atom(todos, key=lambda t: t["id"])
    store = create_store()
    split_seen: list[object] = []
    store.subscribe(split, split_seen.append)
    items = store.get(split)
    a, b, c = items
    a_seen: list[Todo] = []
    store.subscribe(a, a_seen.append)
    store.set(b, {"id": "b", "done": True})  # only b's value changed
    assert split_seen == []
    assert a_seen == []
    store.set(a, {"id": "a", "done": True})
    assert a_seen == [{"id": "a", "done": True}]
    assert split_seen == []
    store.set(split, RemoveItem(c))
    assert len(split_seen) == 1
    assert a_seen == [{"id": "a", "done": True}]


def test_remove_insert_and_move_actions() -> None:
    todos = atom(_todos())
    split = split_atom(todos, key=lambda t: t["id"])
    store = create_store()

    def ids() -> list[str]:
        return [t["id"] for t in store.get(todos)]

    items = store.get(split)
    a, b, c = items
    store.set(split, RemoveItem(b))
    assert ids() == ["a", "c"]
    store.set(split, RemoveItem(b))  # already gone: nothing happens
    assert ids() == ["a", "c"]
    store.set(split, InsertItem({"id": "d", "done": False}))  # at the end
    store.set(split, InsertItem({"id": "e", "done": False}, before=c))
    assert ids() == ["a", "e", "c", "d"]
    d = store.get(split)[3]
    store.set(split, MoveItem(d, before=a))  # backwards
    assert ids() == ["d", "a", "e", "c"]
    store.set(split, MoveItem(d, before=c))  # forwards: lands just before c
    assert ids() == ["a", "e", "d", "c"]
    store.set(split, MoveItem(a))  # to the end
    assert ids() == ["e", "d", "c", "a"]
    assert store.get(split)[3] is a  # moved, same atom


def test_without_key_items_are_per_index() -> None:
    numbers = atom([10, 20, 30])
    split = split_atom(numbers)
    store = create_store()
    items = store.get(split)
    first, second, third = items
    store.set(split, RemoveItem(first))
    assert store.get(numbers) == [20, 30]
    assert store.get(split) == [first, second]  # index 0 and 1 keep their atoms
    assert store.get(first) == 20
    with pytest.raises(SplitItemMissingError, match="no longer in the list"):
        store.get(third)


def test_an_item_whose_key_left_the_list_raises_on_read_and_write() -> None:
    todos = atom(_todos())
    split = split_atom(todos, key=lambda t: t["id"])
    store = create_store()
    items = store.get(split)
    a, _b, _c = items
    store.set(split, RemoveItem(a))
    with pytest.raises(SplitItemMissingError) as caught:
        store.get(a)
    assert isinstance(caught.value, StoreError)
    assert isinstance(caught.value, LookupError)
    with pytest.raises(SplitItemMissingError, match="cannot be written"):
        store.set(a, {"id": "a", "done": True})
    with pytest.raises(SplitItemMissingError):
        store.set(split, MoveItem(a))
    with pytest.raises(SplitItemMissingError):
        store.set(split, InsertItem({"id": "z"}, before=a))


def test_bad_actions_and_foreign_atoms_are_type_errors() -> None:
    todos = atom(_todos())
    split = split_atom(todos, key=lambda t: t["id"])
    store = create_store()
    with pytest.raises(TypeError, match="not an item atom of this split atom"):
        store.set(split, RemoveItem(atom({"id": "a"})))
    with pytest.raises(TypeError, match="takes RemoveItem, InsertItem or MoveItem"):
        store.set(split, cast(Any, "remove"))
    with pytest.raises(TypeError, match="source must be an atom"):
        split_atom([1, 2])  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="key must be callable"):
        split_atom(todos, key="id")  # type: ignore[call-overload]


def test_a_read_only_source_gives_read_only_items() -> None:
    base = atom([1, 2, 3])
    evens = computed(lambda get: [n for n in get(base) if n % 2 == 0])
    split = split_atom(evens)
    store = create_store()
    items = store.get(split)
    (two,) = items
    assert store.get(two) == 2
    assert two.kind == "computed"
    assert split.kind == "computed"


def test_a_writable_derived_source_is_written_through() -> None:
    base = atom([1, 2])

    def write(get: Any, set: Any, value: list[int]) -> None:
        set(base, value)

    proxy = computed(lambda get: get(base), write=write)
    split = split_atom(proxy)
    store = create_store()
    items = store.get(split)
    first, _ = items
    store.set(first, 100)
    assert store.get(base) == [100, 2]


def test_items_removed_for_good_are_collected() -> None:
    numbers = atom(list(range(1_000)))
    split = split_atom(numbers, key=lambda n: n)
    store = create_store()
    refs: list[weakref.ref[Atom[int]]] = [weakref.ref(item) for item in store.get(split)]
    store.set(numbers, [0])
    store.get(split)  # the store's cached list now holds one item atom
    gc.collect()
    assert sum(ref() is not None for ref in refs) == 1


_STEP = st.tuples(
    st.sampled_from(["remove", "insert", "move", "edit"]),
    st.integers(0, 20),
    st.one_of(st.none(), st.integers(0, 20)),
)


@settings(max_examples=150, deadline=None)
@given(start=st.lists(st.integers(0, 1_000), max_size=8, unique=True), steps=st.lists(_STEP))
def test_actions_match_a_list_model(
    start: list[int], steps: list[tuple[str, int, int | None]]
) -> None:
    # Elements are {"id": n, "v": version}; keyed by id, so the model is a list of ids + values.
    source = atom([{"id": n, "v": 0} for n in start])
    split = split_atom(source, key=lambda e: e["id"])
    store = create_store()
    model = [{"id": n, "v": 0} for n in start]
    fresh = iter(range(10_000, 20_000))
    for kind, at, before in steps:
        items = store.get(split)
        assert [store.get(item) for item in items] == model
        before_ids = {store.get(item)["id"]: item for item in items}
        if kind == "insert":
            target = None if before is None or not items else before % len(items)
            value = {"id": next(fresh), "v": 0}
            store.set(split, InsertItem(value, before=None if target is None else items[target]))
            model.insert(len(model) if target is None else target, value)
            continue
        if not items:
            continue
        i = at % len(items)
        if kind == "remove":
            store.set(split, RemoveItem(items[i]))
            del model[i]
        elif kind == "edit":
            changed = {**model[i], "v": model[i]["v"] + 1}
            store.set(items[i], changed)
            model[i] = changed
        else:
            j = None if before is None else before % len(items)
            store.set(split, MoveItem(items[i], before=None if j is None else items[j]))
            moved = model.pop(i)
            if j is None:
                model.append(moved)
            else:
                model.insert(j - 1 if i < j else j, moved)
        # Every element still in the list kept its atom.
        atom_of = {store.get(item)["id"]: item for item in store.get(split)}
        assert all(atom_of.get(id_, item) is item for id_, item in before_ids.items())
    assert [store.get(item) for item in store.get(split)] == model
