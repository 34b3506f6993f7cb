"""Derived atoms against recomputing from scratch: random graphs, writes, batches, subscriptions.

Every derived atom is the sum of some earlier atoms (plus an optional condition that makes its
dependencies change). Whatever the order of writes, batches and (un)subscriptions, every read
equals a fresh evaluation, and each listener was called exactly when its atom's value changed,
with the new value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from atomiton.store import Atom, Getter, atom, computed, create_store

Op = tuple[str, int, int]


@st.composite
def graphs(draw: st.DrawFn) -> tuple[int, list[tuple[list[int], int | None]], list[Op]]:
    sources = draw(st.integers(1, 4))
    derived: list[tuple[list[int], int | None]] = []
    for i in range(draw(st.integers(1, 8))):
        upstream = sources + i
        deps = draw(st.lists(st.integers(0, upstream - 1), min_size=1, max_size=3, unique=True))
        gate = draw(st.none() | st.integers(0, sources - 1))
        derived.append((deps, gate))
    total = sources + len(derived)
    ops = draw(
        st.lists(
            st.one_of(
                st.tuples(st.just("set"), st.integers(0, sources - 1), st.integers(-2, 2)),
                st.tuples(st.just("batch"), st.integers(0, sources - 1), st.integers(-2, 2)),
                st.tuples(st.just("sub"), st.integers(0, total - 1), st.just(0)),
                st.tuples(st.just("unsub"), st.integers(0, total - 1), st.just(0)),
                st.tuples(st.just("get"), st.integers(0, total - 1), st.just(0)),
            ),
            max_size=25,
        )
    )
    return sources, derived, ops


def _build(
    sources: int, derived: list[tuple[list[int], int | None]]
) -> tuple[list[Atom[int]], Callable[[dict[int, int]], list[int]]]:
    atoms: list[Atom[int]] = [atom(0) for _ in range(sources)]

    def make(deps: list[int], gate: int | None) -> Atom[int]:
        def read(get: Getter) -> int:
            if gate is not None and get(atoms[gate]) < 0:
                return -1  # a branch that drops every other dependency
            return sum(get(atoms[d]) for d in deps)

        return computed(read)

    for deps, gate in derived:
        atoms.append(make(deps, gate))

    def model(values: dict[int, int]) -> list[int]:
        out = [values.get(i, 0) for i in range(sources)]
        for deps, gate in derived:
            if gate is not None and out[gate] < 0:
                out.append(-1)
            else:
                out.append(sum(out[d] for d in deps))
        return out

    return atoms, model


@settings(max_examples=200, deadline=None)
@given(graphs())
def test_derived_atoms_agree_with_recomputing_from_scratch(
    case: tuple[int, list[tuple[list[int], int | None]], list[Op]],
) -> None:
    sources, derived, ops = case
    atoms, model = _build(sources, derived)
    store = create_store()
    values: dict[int, int] = {}
    calls: dict[int, list[int]] = {}
    expected: dict[int, list[int]] = {}
    unsubscribers: dict[int, Callable[[], None]] = {}

    def listener(i: int) -> Callable[[Any], None]:
        return lambda value: calls[i].append(value)

    for kind, i, value in ops:
        before = model(values)
        if kind == "set":
            store.set(atoms[i], value)  # type: ignore[call-overload]
            values[i] = value
        elif kind == "batch":
            with store.batch():
                store.set(atoms[i], value + 1)  # type: ignore[call-overload]
                store.set(atoms[i], value)  # type: ignore[call-overload]
            values[i] = value
        elif kind == "sub" and i not in unsubscribers:
            calls[i], expected[i] = [], []
            unsubscribers[i] = store.subscribe(atoms[i], listener(i))
        elif kind == "unsub" and i in unsubscribers:
            unsubscribers.pop(i)()
        elif kind == "get":
            assert store.get(atoms[i]) == model(values)[i]
        after = model(values)
        for j in unsubscribers:
            if after[j] != before[j]:
                expected[j].append(after[j])
        for j in unsubscribers:
            assert calls[j] == expected[j]
    # Reads happen only in "get" steps above, so stale caches had every chance to show.
    assert [store.get(a) for a in atoms] == model(values)
