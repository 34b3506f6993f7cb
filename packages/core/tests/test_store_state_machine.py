"""Every change of a store's state goes through the runtime (issue 17): the bugs it removes."""

from __future__ import annotations

from typing import Any

import pytest

from atomiton.store import (
    Atom,
    ListenersDidNotSettleError,
    PluginHooks,
    PrimitiveAtom,
    Store,
    atom,
    computed,
    create_store,
)


def _clamp_at_zero(seen: list[tuple[str, Any]]) -> Any:
    def plugin(_store: Store) -> PluginHooks:
        def on_set(a: Atom[Any], value: Any) -> Any:
            return max(value, 0) if isinstance(value, int) else value

        def after_set(a: Atom[Any], value: Any) -> None:
            seen.append((a.name, value))

        return PluginHooks(on_set=on_set, after_set=after_set)

    return plugin


@pytest.mark.parametrize("subscribed", [False, True])
def test_set_state_goes_through_plugins_whether_or_not_the_atom_is_subscribed(
    subscribed: bool,
) -> None:
    seen: list[tuple[str, Any]] = []
    store = create_store(plugins=[_clamp_at_zero(seen)])
    count = atom(3, name="count")
    store.set(count, 4)
    if subscribed:
        store.subscribe(count, lambda _v: None)
    seen.clear()
    store.set_state({"count": -5})
    assert store.get(count) == 0
    assert seen == [("count", 0)]  # after_set: the devtools-visible change path


def test_set_state_reaches_a_named_atom_that_was_only_read() -> None:
    seen: list[tuple[str, Any]] = []
    store = create_store(plugins=[_clamp_at_zero(seen)])
    limit = atom(10, name="limit")
    assert store.get(limit) == 10  # read, never written
    assert store.get_state() == {"limit": 10}
    store.set_state({"limit": -1})
    assert store.get(limit) == 0
    assert seen == [("limit", 0)]


def test_set_state_is_one_batch_for_listeners() -> None:
    store = create_store()
    a, b = atom(0, name="a"), atom(0, name="b")
    total = computed(lambda get: get(a) + get(b))
    seen: list[int] = []
    store.subscribe(total, seen.append)
    store.set_state({"a": 1, "b": 2})
    assert seen == [3]


def _runaway(store: Store, until: int) -> tuple[PrimitiveAtom[int], list[int]]:
    """An atom whose listener keeps incrementing it until ``until`` (one round per write)."""
    loop = atom(0, name="loop")
    calls: list[int] = []

    def listener(value: int) -> None:
        calls.append(value)
        if value < until:
            store.set(loop, value + 1)

    store.subscribe(loop, listener)
    return loop, calls


def test_after_listeners_did_not_settle_unrelated_calls_do_not_rerun_the_bad_listener() -> None:
    store = create_store()
    loop, calls = _runaway(store, until=10**9)
    with pytest.raises(ListenersDidNotSettleError, match="dropped"):
        store.set(loop, 1)
    stopped_at = store.get(loop)
    calls_then = len(calls)
    other = atom(0, name="other")
    other_seen: list[int] = []
    store.subscribe(other, other_seen.append)  # no error: nothing of the failed flush is left
    store.set(other, 1)
    store.set(other, 2)
    assert other_seen == [1, 2]
    assert len(calls) == calls_then  # the bad listener did not run again
    assert store.get(loop) == stopped_at  # values stay where the listeners left them


def test_a_listener_that_would_settle_later_does_not_finish_inside_the_next_set() -> None:
    store = create_store()
    loop, calls = _runaway(store, until=1500)
    with pytest.raises(ListenersDidNotSettleError):
        store.set(loop, 1)
    stopped_at = store.get(loop)
    assert stopped_at < 1500
    calls_then = len(calls)
    other = atom(0)
    store.set(other, 1)  # unrelated: its remaining rounds must not run silently here
    assert store.get(loop) == stopped_at
    assert len(calls) == calls_then
    store.set(loop, 1499)  # the store still works for it: a new write notifies again
    assert store.get(loop) == 1500
    assert calls[-2:] == [1499, 1500]


def test_a_mounted_derived_atom_is_consistent_after_the_failed_flush() -> None:
    store = create_store()
    loop, _calls = _runaway(store, until=10**9)
    doubled = computed(lambda get: get(loop) * 2)
    store.subscribe(doubled, lambda _v: None)
    with pytest.raises(ListenersDidNotSettleError):
        store.set(loop, 1)
    assert store.get(doubled) == 2 * store.get(loop)


def test_update_and_writable_atoms_go_through_plugins() -> None:
    seen: list[tuple[str, Any]] = []
    store = create_store(plugins=[_clamp_at_zero(seen)])
    count = atom(1, name="count")
    store.update(count, lambda v: v - 10)
    assert store.get(count) == 0
    reset = computed(lambda get: get(count), write=lambda get, set_, value: set_(count, value))
    store.set(reset, -3)
    assert store.get(count) == 0
    assert seen == [("count", 0), ("count", 0)]


def test_restore_notifies_through_the_runtime_and_commits() -> None:
    commits: list[int] = []
    store = create_store(plugins=[lambda _s: PluginHooks(on_commit=lambda: commits.append(1))])
    a = atom(0)
    store.set(a, 1)
    snap = store.snapshot()
    store.set(a, 2)
    commits.clear()
    seen: list[int] = []
    store.subscribe(a, seen.append)
    store.restore(snap)
    assert seen == [1]
    assert commits == [1]


def test_set_state_gives_plugins_the_unnamed_atoms_a_plugin_store_wrote() -> None:
    seen: list[tuple[str, Any]] = []
    store = create_store(plugins=[_clamp_at_zero(seen)])
    plain = atom(1)  # unnamed, never subscribed: reachable because the store has plugins
    store.set(plain, 2)
    state = store.get_state()
    assert state == {plain.name: 2}
    seen.clear()
    store.set_state({plain.name: -7})
    assert store.get(plain) == 0
    assert seen == [(plain.name, 0)]
