"""Jotai-grade store semantics: tracking, laziness, glitch freedom, bail-out, errors, mounting."""

from __future__ import annotations

from typing import Any

import pytest

from atomiton.store import (
    Atom,
    CycleError,
    Getter,
    ListenersDidNotSettleError,
    Setter,
    Store,
    atom,
    computed,
    create_store,
)


def _plus_one(source: Atom[int]) -> Atom[int]:
    return computed(lambda get: get(source) + 1)


@pytest.fixture
def store() -> Store:
    return create_store()


def test_get_set_update(store: Store) -> None:
    count = atom(0)
    assert store.get(count) == 0
    store.set(count, 5)
    assert store.get(count) == 5
    assert store.update(count, lambda v: v + 1) == 6
    assert store.get(count) == 6


def test_writable_derived_runs_write_and_returns_its_result(store: Store) -> None:
    count = atom(0)

    def write(get: Getter, set: Setter, n: int) -> str:
        set(count, get(count) + n)
        return f"added {n}"

    add = computed(lambda get: get(count), write=write)
    assert store.set(add, 3) == "added 3"
    assert store.get(count) == 3
    assert store.get(add) == 3


def test_derived_recomputes_only_when_read_and_a_dependency_changed(store: Store) -> None:
    a, other = atom(1), atom(0)
    calls = []

    def read(get: Getter) -> int:
        calls.append(1)
        return get(a) * 2

    d = computed(read)
    store.set(a, 2)
    assert calls == []  # lazy: nothing read it yet
    assert store.get(d) == 4
    assert store.get(d) == 4
    store.set(other, 1)
    assert store.get(d) == 4
    assert len(calls) == 1
    store.set(a, 3)
    assert len(calls) == 1
    assert store.get(d) == 6
    assert len(calls) == 2


def test_conditional_dependencies_drop_out(store: Store) -> None:
    flag, left, right = atom(True), atom("L"), atom("R")
    calls = []

    def read(get: Getter) -> str:
        calls.append(1)
        return get(left) if get(flag) else get(right)

    d = computed(read)
    seen: list[str] = []
    store.subscribe(d, seen.append)
    store.set(right, "R2")  # not a dependency now
    assert seen == []
    assert len(calls) == 1
    store.set(flag, False)
    assert seen == ["R2"]
    store.set(left, "L2")  # dropped out: no recompute, no notification
    assert seen == ["R2"]
    assert len(calls) == 2
    store.set(right, "R3")
    assert seen == ["R2", "R3"]


def test_observed_derived_recomputes_eagerly_once_per_write(store: Store) -> None:
    a = atom(0)
    calls = []

    def read(get: Getter) -> int:
        calls.append(1)
        return get(a) + 1

    d = computed(read)
    store.subscribe(d, lambda _v: None)
    calls.clear()
    store.set(a, 1)
    store.set(a, 2)
    assert len(calls) == 2  # without anyone reading


def test_diamond_computes_once_and_listeners_never_see_a_glitch(store: Store) -> None:
    a = atom(1)
    b = computed(lambda get: get(a) + 1)
    c = computed(lambda get: get(a) * 10)
    runs = []

    def read_d(get: Getter) -> tuple[int, int]:
        runs.append(1)
        return (get(b), get(c))

    d = computed(read_d)
    seen: list[tuple[int, int]] = []
    store.subscribe(d, seen.append)
    store.subscribe(b, lambda v: seen.append((v, store.get(c) // 10 * 10)))
    runs.clear()
    store.set(a, 2)
    assert len(runs) == 1
    for left, right in seen:
        assert right == (left - 1) * 10
    assert store.get(d) == (3, 20)


def test_two_sets_in_a_write_function_or_batch_are_seen_atomically(store: Store) -> None:
    x, y = atom(0), atom(0)
    pair = computed(lambda get: (get(x), get(y)))
    seen: list[tuple[int, int]] = []
    store.subscribe(pair, seen.append)
    both = computed(lambda get: None, write=lambda get, set, n: (set(x, n), set(y, n)))
    store.set(both, 1)
    assert seen == [(1, 1)]
    with store.batch():
        store.set(x, 2)
        assert store.get(pair) == (2, 1)  # reads inside a batch are never stale
        store.set(y, 2)
        assert seen == [(1, 1)]
    assert seen == [(1, 1), (2, 2)]


def test_setting_an_equal_value_notifies_nobody(store: Store) -> None:
    a = atom([1, 2])
    seen: list[Any] = []
    store.subscribe(a, seen.append)
    store.set(a, [1, 2])
    assert seen == []
    store.set(a, [1, 3])
    assert seen == [[1, 3]]


def test_custom_equals_decides_the_bail_out(store: Store) -> None:
    a = atom(1.0, equals=lambda old, new: abs(old - new) < 0.5)
    seen: list[float] = []
    store.subscribe(a, seen.append)
    store.set(a, 1.2)
    assert seen == []
    store.set(a, 2.0)
    assert seen == [2.0]


def test_equality_that_cannot_answer_counts_as_a_change(store: Store) -> None:
    class Weird:
        def __eq__(self, other: object) -> bool:
            raise ValueError("ambiguous")

        __hash__ = object.__hash__

    a = atom(Weird())
    store.set(a, Weird())
    store.set(a, Weird())
    seen: list[Any] = []
    store.subscribe(a, seen.append)
    store.set(a, Weird())
    assert len(seen) == 1


def test_unchanged_derived_value_stops_propagation(store: Store) -> None:
    a = atom(1)
    parity = computed(lambda get: get(a) % 2)
    runs = []

    def read(get: Getter) -> str:
        runs.append(1)
        return "odd" if get(parity) else "even"

    label = computed(read)
    seen: list[str] = []
    store.subscribe(label, seen.append)
    parity_seen: list[int] = []
    store.subscribe(parity, parity_seen.append)
    runs.clear()
    store.set(a, 3)
    assert runs == []
    assert seen == []
    assert parity_seen == []
    store.set(a, 4)
    assert seen == ["even"]


def test_a_raising_listener_does_not_stop_the_others(store: Store) -> None:
    a = atom(0)
    seen: list[int] = []

    def boom(_v: int) -> None:
        raise RuntimeError("first")

    def boom2(_v: int) -> None:
        raise KeyError("second")

    store.subscribe(a, boom)
    store.subscribe(a, seen.append)
    store.subscribe(a, boom2)
    with pytest.raises(ExceptionGroup) as info:
        store.set(a, 1)
    assert seen == [1]
    assert [type(e) for e in info.value.exceptions] == [RuntimeError, KeyError]
    assert store.get(a) == 1


def test_a_raising_read_is_stored_until_a_dependency_changes(store: Store) -> None:
    a = atom(0)
    calls = []

    def read(get: Getter) -> float:
        calls.append(1)
        return 1 / get(a)

    d = computed(read)
    for _ in range(3):
        with pytest.raises(ZeroDivisionError):
            store.get(d)
    assert len(calls) == 1
    store.set(a, 2)
    assert store.get(d) == 0.5
    assert len(calls) == 2


def test_derived_of_a_raising_derived_raises_the_same_error(store: Store) -> None:
    a = atom(0)
    bad = computed(lambda get: 1 // get(a))
    top = computed(lambda get: get(bad) + 1)
    with pytest.raises(ZeroDivisionError):
        store.get(top)
    store.set(a, 1)
    assert store.get(top) == 2


def test_on_mount_and_on_unmount_follow_subscribers_through_dependants(store: Store) -> None:
    events: list[str] = []
    a = atom(
        0,
        on_mount=lambda s: events.append(f"mount {s.name}"),
        on_unmount=lambda s: events.append("unmount"),
    )
    d = computed(lambda get: get(a) + 1)
    un1 = store.subscribe(d, lambda _v: None)
    assert events == [f"mount {store.name}"]
    un2 = store.subscribe(a, lambda _v: None)
    un1()
    assert events == [f"mount {store.name}"]
    un2()
    assert events == [f"mount {store.name}", "unmount"]
    un2()  # idempotent
    assert events == [f"mount {store.name}", "unmount"]


def test_on_mount_may_write_its_atom(store: Store) -> None:
    a = atom(0, on_mount=lambda s: s.set(a, 42))
    seen: list[int] = []
    store.subscribe(a, seen.append)
    assert store.get(a) == 42
    assert seen == [42]


def test_a_listener_that_sets_its_own_atom_converges(store: Store) -> None:
    a = atom(0)
    seen: list[int] = []

    def clamp(v: int) -> None:
        seen.append(v)
        if v > 10:
            store.set(a, 10)

    store.subscribe(a, clamp)
    store.set(a, 50)
    assert store.get(a) == 10
    assert seen == [50, 10]


def test_listeners_that_never_converge_are_stopped(store: Store) -> None:
    a = atom(0)
    store.subscribe(a, lambda v: store.set(a, v + 1))
    with pytest.raises(ListenersDidNotSettleError):
        store.set(a, 1)


def test_a_chain_of_10000_derived_atoms_works(store: Store) -> None:
    base = atom(0)
    last: Atom[int] = base
    for _ in range(10_000):
        last = _plus_one(last)
    assert store.get(last) == 10_000
    store.set(base, 1)
    assert store.get(last) == 10_001
    seen: list[int] = []
    unsubscribe = store.subscribe(last, seen.append)
    store.set(base, 2)
    assert seen == [10_002]
    unsubscribe()
    store.set(base, 3)
    assert store.get(last) == 10_003


def test_a_derived_atom_that_reads_itself_raises_cycle_error(store: Store) -> None:
    holder: list[Atom[int]] = []
    a = computed(lambda get: get(holder[0]) + 1)
    b = computed(lambda get: get(a) + 1)
    holder.append(b)
    with pytest.raises(CycleError):
        store.get(b)


def test_set_on_a_primitive_takes_exactly_one_value(store: Store) -> None:
    a = atom(0)
    with pytest.raises(TypeError, match="exactly one value"):
        store.set(a)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="exactly one value"):
        store.set(a, 1, 2)  # type: ignore[call-overload]


def test_subscribe_rejects_a_non_callable_listener(store: Store) -> None:
    with pytest.raises(TypeError, match="listener must be callable"):
        store.subscribe(atom(0), 3)  # type: ignore[arg-type]


def test_one_store_per_request_is_cheap_and_independent() -> None:
    user = atom("anonymous")
    greeting = computed(lambda get: f"hello {get(user)}")
    stores = [create_store() for _ in range(1000)]
    for i, s in enumerate(stores):
        s.set(user, f"user{i}")
    assert [s.get(greeting) for s in stores[:3]] == ["hello user0", "hello user1", "hello user2"]


def test_unsubscribing_inside_a_listener_is_safe(store: Store) -> None:
    a = atom(0)
    seen: list[str] = []
    unsubs: list[Any] = []

    def once(v: int) -> None:
        seen.append(f"once {v}")
        unsubs[0]()

    unsubs.append(store.subscribe(a, once))
    store.subscribe(a, lambda v: seen.append(f"always {v}"))
    store.set(a, 1)
    store.set(a, 2)
    assert seen == ["once 1", "always 1", "always 2"]


def test_a_new_dependency_reached_during_a_recompute_sees_fresh_values(store: Store) -> None:
    root = atom(0)
    tens = computed(lambda get: get(root) * 10)
    via = computed(lambda get: get(tens) + 1)  # never mounted before the switch

    def read(get: Getter) -> int:
        return get(via) if get(root) > 0 else -1

    switch = computed(read)
    tens_seen: list[int] = []
    switch_seen: list[int] = []
    store.subscribe(tens, tens_seen.append)  # mounted first: visited after `switch` in a pass
    store.subscribe(switch, switch_seen.append)
    store.set(root, 1)
    assert switch_seen == [11]
    assert tens_seen == [10]
    store.set(root, 2)
    assert switch_seen == [11, 21]
    assert tens_seen == [10, 20]


def test_listeners_see_what_a_write_function_did_before_it_raised(store: Store) -> None:
    a = atom(0)
    seen: list[int] = []
    store.subscribe(a, seen.append)

    def write(get: Getter, set: Setter) -> None:
        set(a, 1)
        raise RuntimeError("half done")

    action = computed(lambda get: None, write=write)
    with pytest.raises(RuntimeError, match="half done"):
        store.set(action)
    assert seen == [1]


def test_every_observed_derived_atom_is_recomputed_before_any_listener_runs(store: Store) -> None:
    a = atom(1)
    d = computed(lambda get: get(a) * 100)
    seen: list[tuple[int, int]] = []
    store.subscribe(a, lambda v: seen.append((v, store.get(d))))  # subscribed first
    store.subscribe(d, lambda v: None)
    store.set(a, 2)
    assert seen == [(2, 200)]


def test_unsubscribing_the_last_listener_of_a_chain_unmounts_all_of_it(store: Store) -> None:
    events: list[str] = []
    base = atom(0, on_unmount=lambda s: events.append("base unmounted"))
    last: Atom[int] = base
    for _ in range(10_000):
        last = _plus_one(last)
    unsubscribe = store.subscribe(last, lambda v: None)
    unsubscribe()
    assert events == ["base unmounted"]
    store.set(base, 5)
    assert store.get(last) == 10_005
