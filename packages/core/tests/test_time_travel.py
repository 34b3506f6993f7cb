"""Time travel: capture, undo/redo, jump, bounded history, auto capture, independent stores."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from atomiton.store import Getter, TimeTravel, atom, computed, create_store


def test_capture_undo_redo_and_jump() -> None:
    store = create_store()
    a = atom(0)
    tt = TimeTravel(store)
    assert not tt.can_undo
    assert not tt.can_redo
    assert tt.undo() is False
    for value in (1, 2, 3):
        store.set(a, value)
        tt.capture(f"set {value}")
    assert [e.label for e in tt.history] == ["set 1", "set 2", "set 3"]
    assert all(e.timestamp > 0 for e in tt.history)
    assert tt.undo() is True
    assert store.get(a) == 2
    assert tt.undo() is True
    assert store.get(a) == 1
    assert tt.undo() is False
    assert tt.redo() is True
    assert store.get(a) == 2
    assert tt.jump_to(2) is True
    assert store.get(a) == 3
    assert (tt.can_undo, tt.can_redo) == (True, False)
    assert tt.jump_to(7) is False


def test_capturing_after_undo_drops_the_redo_branch() -> None:
    store = create_store()
    a = atom(0)
    tt = TimeTravel(store)
    for value in (1, 2, 3):
        store.set(a, value)
        tt.capture()
    tt.undo()
    store.set(a, 9)
    tt.capture("branch")
    assert [store.get(a)] == [9]
    assert not tt.can_redo
    assert len(tt.history) == 3


def test_history_is_bounded_by_history_limit() -> None:
    store = create_store()
    a = atom(0)
    tt = TimeTravel(store, history_limit=3)
    for value in range(10):
        store.set(a, value)
        tt.capture(str(value))
    assert [e.label for e in tt.history] == ["7", "8", "9"]
    with pytest.raises(ValueError, match="history_limit"):
        TimeTravel(store, history_limit=0)


@pytest.mark.parametrize("bad", [1.5, True, "3", None])
def test_history_limit_must_be_an_int(bad: Any) -> None:
    with pytest.raises(TypeError, match="history_limit must be an int"):
        TimeTravel(create_store(), history_limit=bad)


def test_auto_capture_records_every_top_level_write_or_batch() -> None:
    store = create_store()
    a, b = atom(0), atom(0)
    tt = TimeTravel(store, auto_capture=True)
    store.set(a, 1)
    with store.batch():
        store.set(a, 2)
        store.set(b, 2)
    store.set(a, 2)  # no change: nothing captured
    assert len(tt.history) == 3  # initial + write + batch
    tt.undo()
    assert (store.get(a), store.get(b)) == (1, 0)
    tt.undo()
    assert store.get(a) == 0
    assert len(tt.history) == 3  # restoring does not capture
    tt.close()
    store.set(a, 5)
    assert len(tt.history) == 3


def test_restoring_notifies_subscribers_and_recomputes_derived_atoms() -> None:
    store = create_store()
    a = atom(1)
    d = computed(lambda get: get(a) * 10)
    seen: list[int] = []
    store.subscribe(d, seen.append)
    tt = TimeTravel(store)
    tt.capture()
    store.set(a, 2)
    tt.capture()
    tt.undo()
    assert store.get(d) == 10
    assert seen == [20, 10]


def test_silent_time_travel_does_not_notify() -> None:
    store = create_store()
    a = atom(1)
    seen: list[int] = []
    store.subscribe(a, seen.append)
    tt = TimeTravel(store, notify=False)
    tt.capture()
    store.set(a, 2)
    tt.capture()
    tt.undo()
    assert store.get(a) == 1
    assert seen == [2]


def test_each_store_has_an_independent_timeline() -> None:
    a = atom(0)
    s1, s2 = create_store(), create_store()
    t1, t2 = TimeTravel(s1, auto_capture=True), TimeTravel(s2, auto_capture=True)
    s1.set(a, 1)
    s1.set(a, 2)
    s2.set(a, 100)
    t1.undo()
    assert s1.get(a) == 1
    assert s2.get(a) == 100
    assert len(t2.history) == 2


def test_clear_forgets_the_history() -> None:
    store = create_store()
    tt = TimeTravel(store)
    tt.capture()
    tt.capture()
    tt.clear()
    assert tt.history == ()
    assert not tt.can_undo
    assert tt.index == -1


async def test_auto_capture_skips_commits_that_moved_no_value() -> None:
    store = create_store()
    n = atom(1)

    async def double(get: Getter) -> int:
        value = get(n)
        await asyncio.sleep(0)
        return value * 2

    doubled = computed(double)
    tt = TimeTravel(store, auto_capture=True)
    store.subscribe(doubled, lambda v: None)
    assert await store.aget(doubled) == 2  # settling is a commit, not a write
    store.set(n, 2)
    assert await store.aget(doubled) == 4
    assert len(tt.history) == 2  # initial + the write
    assert tt.undo() is True
    assert store.get(n) == 1  # one undo undoes the one write
