"""atom_with_reset, atom_with_default, atom_with_reducer, atom_with_refresh (Jotai semantics)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from atomiton.store import (
    RESET,
    Getter,
    Reset,
    atom,
    atom_with_default,
    atom_with_reducer,
    atom_with_refresh,
    atom_with_reset,
    computed,
    create_store,
)


def test_reset_returns_to_the_initial_value_and_notifies_once() -> None:
    count = atom_with_reset(10)
    store = create_store()
    seen: list[int] = []
    store.subscribe(count, seen.append)
    store.set(count, 11)
    store.set(count, 11)  # equal: nobody notified
    store.set(count, RESET)
    store.set(count, RESET)  # already initial: nobody notified
    assert store.get(count) == 10
    assert seen == [11, 10]
    assert repr(RESET) == "RESET"
    assert RESET is Reset.RESET


def test_reset_atoms_are_per_store() -> None:
    count = atom_with_reset(0)
    a, b = create_store(), create_store()
    a.set(count, 5)
    assert (a.get(count), b.get(count)) == (5, 0)


def test_default_follows_its_source_until_written_and_reset_follows_again() -> None:
    count = atom(1)
    doubled = atom_with_default(lambda get: get(count) * 2)
    store = create_store()
    seen: list[int] = []
    store.subscribe(doubled, seen.append)
    store.set(count, 2)
    assert store.get(doubled) == 4
    store.set(doubled, 100)  # written: stops following
    store.set(count, 3)
    assert store.get(doubled) == 100
    store.set(doubled, RESET)  # follows its default again
    assert store.get(doubled) == 6
    store.set(count, 4)
    assert seen == [4, 100, 6, 8]


def test_a_default_atom_written_with_its_default_value_still_stops_following() -> None:
    count = atom(1)
    copy = atom_with_default(lambda get: get(count))
    store = create_store()
    store.set(copy, 1)  # same value as the default, but now it is written
    store.set(count, 2)
    assert store.get(copy) == 1


async def test_an_async_default_is_an_async_atom() -> None:
    user_id = atom(1)

    async def load(get: Getter) -> str:
        uid = get(user_id)
        await asyncio.sleep(0)
        return f"user {uid}"

    user = atom_with_default(load)
    assert user.is_async
    store = create_store()
    assert await store.aget(user) == "user 1"
    store.set(user, "override")
    assert await store.aget(user) == "override"
    store.set(user, RESET)
    store.set(user_id, 2)
    assert await store.aget(user) == "user 2"


def test_default_rejects_a_non_callable() -> None:
    with pytest.raises(TypeError, match="get_default must be callable"):
        atom_with_default(5)  # type: ignore[call-overload]


def test_reducer_applies_actions_and_equal_results_notify_nobody() -> None:
    def reducer(state: int, action: str) -> int:
        if action == "inc":
            return state + 1
        if action == "dec":
            return state - 1
        return state

    count = atom_with_reducer(0, reducer)
    store = create_store()
    seen: list[int] = []
    store.subscribe(count, seen.append)
    store.set(count, "inc")
    store.set(count, "inc")
    store.set(count, "noop")
    store.set(count, "dec")
    assert store.get(count) == 1
    assert seen == [1, 2, 1]


def test_reducer_actions_from_many_threads_all_apply() -> None:
    def add(state: int, n: int) -> int:
        return state + n

    count = atom_with_reducer(0, add)
    store = create_store()

    def worker() -> None:
        for _ in range(1_000):
            store.set(count, 1)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get(count) == 4_000


def test_reducer_rejects_a_non_callable() -> None:
    with pytest.raises(TypeError, match="reducer must be callable"):
        atom_with_reducer(0, None)  # type: ignore[arg-type]


def test_refresh_re_runs_the_read_without_an_input_change() -> None:
    calls: list[int] = []
    base = atom(1)

    def read(get: Getter) -> int:
        calls.append(get(base))
        return len(calls)

    counter = atom_with_refresh(read)
    store = create_store()
    assert store.get(counter) == 1
    assert store.get(counter) == 1  # cached: no change, no re-run
    store.set(counter)
    assert store.get(counter) == 2
    store.set(base, 2)  # an input change re-runs it as any derived atom
    assert store.get(counter) == 3
    assert calls == [1, 1, 2]


def test_refreshing_a_mounted_atom_notifies_only_when_the_value_changes() -> None:
    values = iter([1, 1, 2])
    flaky = atom_with_refresh(lambda get: next(values))
    store = create_store()
    seen: list[int] = []
    store.subscribe(flaky, seen.append)  # first read: 1
    store.set(flaky)  # 1 again: nobody notified
    store.set(flaky)  # 2
    assert seen == [2]


async def test_refreshing_an_async_atom_starts_a_new_evaluation() -> None:
    fetched: list[int] = []

    async def fetch(get: Getter) -> int:
        await asyncio.sleep(0)
        fetched.append(1)
        return len(fetched)

    latest = atom_with_refresh(fetch)
    assert latest.is_async
    store = create_store()
    assert await store.aget(latest) == 1
    store.set(latest)
    assert await store.aget(latest) == 2


def test_writable_utilities_take_a_name() -> None:
    named = [
        atom_with_reset(0, name="r"),
        atom_with_default(lambda get: 0, name="d"),
        atom_with_reducer(0, lambda s, a: s, name="x"),
        atom_with_refresh(lambda get: 0, name="f"),
    ]
    assert [a.name for a in named] == ["r", "d", "x", "f"]
    assert all(a.kind == "writable" for a in named)
    assert computed(lambda get: 0).kind == "computed"
