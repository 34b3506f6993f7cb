"""Async derived atoms: aget, latest evaluation wins, subscribers notified on settle."""

from __future__ import annotations

import asyncio

import pytest

from atomiton.store import Getter, PendingError, atom, computed, create_store


async def test_aget_awaits_the_settled_value() -> None:
    store = create_store()
    user_id = atom(1)

    async def load(get: Getter) -> str:
        uid = get(user_id)
        await asyncio.sleep(0)
        return f"user {uid}"

    user = computed(load)
    assert user.is_async
    assert await store.aget(user) == "user 1"
    assert store.get(user) == "user 1"
    store.set(user_id, 2)
    assert await store.aget(user) == "user 2"


async def test_sync_get_before_the_first_settle_raises_pending_error() -> None:
    store = create_store()
    gate = asyncio.Event()

    async def load(get: Getter) -> int:
        await gate.wait()
        return 1

    a = computed(load)
    with pytest.raises(PendingError):
        store.get(a)
    gate.set()
    assert await store.aget(a) == 1


def test_async_atom_without_a_running_loop_raises_pending_error() -> None:
    async def load(get: Getter) -> int:
        return 1

    with pytest.raises(PendingError, match="running event loop"):
        create_store().get(computed(load))


async def test_the_latest_evaluation_wins_and_the_superseded_one_is_cancelled() -> None:
    store = create_store()
    query = atom("a")
    started: list[str] = []
    cancelled: list[str] = []
    gates = {"a": asyncio.Event(), "b": asyncio.Event()}

    async def search(get: Getter) -> str:
        q = get(query)
        started.append(q)
        try:
            await gates[q].wait()
        except asyncio.CancelledError:
            cancelled.append(q)
            raise
        return q.upper()

    result = computed(search)
    waiter = asyncio.create_task(store.aget(result))
    await asyncio.sleep(0.01)
    store.set(query, "b")
    second = asyncio.create_task(store.aget(result))
    await asyncio.sleep(0.01)
    gates["b"].set()
    assert await second == "B"
    assert await waiter == "B"
    assert cancelled == ["a"]
    assert started == ["a", "b"]


async def test_subscribers_are_notified_when_an_async_atom_settles() -> None:
    store = create_store()
    n = atom(1)

    async def double(get: Getter) -> int:
        value = get(n)
        await asyncio.sleep(0)
        return value * 2

    d = computed(double)
    seen: list[int] = []
    store.subscribe(d, seen.append)
    assert await store.aget(d) == 2
    assert seen == [2]
    store.set(n, 5)
    for _ in range(50):
        if seen[-1] == 10:
            break
        await asyncio.sleep(0.001)
    assert seen == [2, 10]


async def test_an_async_read_that_raises_is_raised_by_aget() -> None:
    store = create_store()

    async def fail(get: Getter) -> int:
        await asyncio.sleep(0)
        raise LookupError("nope")

    with pytest.raises(LookupError, match="nope"):
        await store.aget(computed(fail))


async def test_aget_of_plain_atoms_returns_their_values() -> None:
    store = create_store()
    a = atom(3)
    d = computed(lambda get: get(a) + 1)
    assert await store.aget(a) == 3
    assert await store.aget(d) == 4
