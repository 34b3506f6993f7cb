"""Static types of the generic utilities, checked by ``uv run mypy packages/core/tests`` (strict).

Each ``assert_type`` fails the type check if an inferred type drifts; at run time the test only
checks the same objects behave.
"""

from __future__ import annotations

from typing import assert_type

from atomiton.store import (
    RESET,
    AtomFamily,
    AtomWatch,
    Computed,
    HasData,
    HasError,
    Loading,
    PrimitiveAtom,
    Reset,
    SplitAction,
    WritableComputed,
    atom,
    atom_family,
    atom_with_default,
    atom_with_reducer,
    atom_with_refresh,
    atom_with_reset,
    create_store,
    loadable,
    select_atom,
    split_atom,
    unwrap,
)


def test_the_generic_utilities_keep_their_value_types() -> None:
    store = create_store()

    def create(todo_id: int) -> PrimitiveAtom[str]:
        return atom(f"todo {todo_id}")

    todo = atom_family(create)
    assert_type(todo, AtomFamily[int, PrimitiveAtom[str]])
    assert_type(todo(1), PrimitiveAtom[str])
    assert_type(store.get(todo(1)), str)
    assert_type(todo.params(), list[int])

    user = atom({"name": "Ada", "age": 36})
    name = select_atom(user, lambda u: str(u["name"]))
    assert_type(name, Computed[str])
    assert_type(store.get(name), str)

    count = atom(1)
    state = loadable(count)
    assert_type(state, Computed[Loading | HasData[int] | HasError])
    assert_type(unwrap(count, fallback="none"), Computed[int | str])

    numbers = atom([1, 2, 3])
    split = split_atom(numbers)
    assert_type(
        split, WritableComputed[list[WritableComputed[int, int, None]], SplitAction[int], None]
    )
    first = store.get(split)[0]
    assert_type(store.get(first), int)

    resettable = atom_with_reset(0)
    assert_type(resettable, WritableComputed[int, int | Reset, None])
    store.set(resettable, RESET)
    defaulted = atom_with_default(lambda get: get(count) * 2)
    assert_type(defaulted, WritableComputed[int, int | Reset, None])

    def add(total: int, step: int) -> int:
        return total + step

    reduced = atom_with_reducer(0, add)
    assert_type(reduced, WritableComputed[int, int, None])
    store.set(reduced, 5)
    refreshed = atom_with_refresh(lambda get: get(count))
    assert_type(refreshed, WritableComputed[int, None])
    store.set(refreshed)

    assert_type(store.watch(count), AtomWatch[int])

    assert store.get(todo(1)) == "todo 1"
    assert store.get(name) == "Ada"
    assert store.get(state) == HasData(1)
    assert store.get(first) == 1
    assert store.get(reduced) == 5
    assert store.get(defaulted) == 2
