"""A store against a plain dict: any sequence of operations on primitive atoms agrees."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from atomiton.store import PrimitiveAtom, Snapshot, atom, create_store

ATOMS = 5
values = st.one_of(
    st.integers(-3, 3), st.none(), st.text(max_size=2), st.lists(st.integers(0, 2), max_size=2)
)
index = st.integers(0, ATOMS - 1)


class StoreAgainstDict(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store = create_store()
        self.atoms: list[PrimitiveAtom[Any]] = [atom(i, name=f"a{i}") for i in range(ATOMS)]
        self.model: dict[int, Any] = {i: i for i in range(ATOMS)}
        self.notified: list[tuple[int, Any]] = []
        self.expected: list[tuple[int, Any]] = []
        self.snapshots: list[tuple[Snapshot, dict[int, Any]]] = []
        for i, a in enumerate(self.atoms):
            self.store.subscribe(a, self._listener(i))

    def _listener(self, i: int) -> Callable[[Any], None]:
        return lambda value: self.notified.append((i, value))

    def _write(self, i: int, value: Any) -> None:
        if self.model[i] != value:
            self.expected.append((i, value))
        self.model[i] = value

    @rule(i=index, value=values)
    def set(self, i: int, value: Any) -> None:
        self.store.set(self.atoms[i], value)
        self._write(i, value)

    @rule(i=index)
    def update(self, i: int) -> None:
        self.store.update(self.atoms[i], lambda v: (v, 1))
        self._write(i, (self.model[i], 1))

    @rule(writes=st.lists(st.tuples(index, values), max_size=4))
    def batch(self, writes: list[tuple[int, Any]]) -> None:
        before = dict(self.model)
        with self.store.batch():
            for i, value in writes:
                self.store.set(self.atoms[i], value)
                self.model[i] = value
        for i in sorted({i for i, _ in writes}):
            if before[i] != self.model[i]:
                self.expected.append((i, self.model[i]))

    @rule()
    def snapshot(self) -> None:
        self.snapshots.append((self.store.snapshot(), dict(self.model)))

    @precondition(lambda self: bool(self.snapshots))
    @rule(k=st.integers(0, 10))
    def restore(self, k: int) -> None:
        snap, model = self.snapshots[k % len(self.snapshots)]
        self.store.restore(snap, notify=False)  # silent: listeners expect nothing
        self.model = dict(model)

    @invariant()
    def values_agree(self) -> None:
        for i, a in enumerate(self.atoms):
            assert self.store.get(a) == self.model[i]

    @invariant()
    def state_by_name_agrees(self) -> None:
        state = self.store.get_state()
        for i in range(ATOMS):
            if f"a{i}" in state:
                assert state[f"a{i}"] == self.model[i]

    @invariant()
    def listeners_saw_every_change_once(self) -> None:
        assert sorted(self.notified, key=repr) == sorted(self.expected, key=repr)


StoreAgainstDict.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
test_store_agrees_with_a_dict = StoreAgainstDict.TestCase
