"""Plugins: given the store, observe and transform writes, in the documented hook order."""

from __future__ import annotations

from typing import Any

import pytest

from atomiton.store import Atom, Getter, PluginHooks, Store, atom, computed, create_store


def test_hook_order_is_on_set_write_recompute_notify_after_set() -> None:
    log: list[str] = []
    a = atom(0, name="a")

    def double(get: Getter) -> int:
        log.append("recompute")
        return get(a) * 2

    doubled = computed(double)

    def plugin(store: Store) -> PluginHooks:
        def on_set(target: Atom[Any], value: Any) -> Any:
            log.append(f"on_set {target.name}={value}")
            return value

        def after_set(target: Atom[Any], value: Any) -> None:
            log.append(f"after_set {target.name}={value} stored={store.get(a)}")

        return PluginHooks(on_set=on_set, after_set=after_set)

    store = create_store(plugins=[plugin])
    store.subscribe(doubled, lambda v: log.append(f"notify {v}"))
    log.clear()
    store.set(a, 2)
    assert log == ["on_set a=2", "recompute", "notify 4", "after_set a=2 stored=2"]


def test_on_set_may_transform_the_value() -> None:
    clamp = PluginHooks(on_set=lambda _atom, value: max(0, min(10, value)))
    store = create_store(plugins=[lambda _s: clamp])
    a = atom(5)
    store.set(a, 99)
    assert store.get(a) == 10
    store.update(a, lambda v: v - 50)
    assert store.get(a) == 0


def test_plugins_are_given_the_store_and_may_return_none() -> None:
    given: list[Store] = []

    def plugin(store: Store) -> None:
        given.append(store)

    store = create_store(plugins=[plugin])
    assert given == [store]


def test_use_adds_a_plugin_later_and_its_remover_detaches_it() -> None:
    store = create_store()
    a = atom(0)
    seen: list[Any] = []
    remove = store.use(lambda _s: PluginHooks(after_set=lambda _a, v: seen.append(v)))
    store.set(a, 1)
    remove()
    store.set(a, 2)
    assert seen == [1]


def test_on_commit_runs_once_per_top_level_operation() -> None:
    commits: list[int] = []
    store = create_store(plugins=[lambda _s: PluginHooks(on_commit=lambda: commits.append(1))])
    a, b = atom(0), atom(0)
    store.set(a, 1)
    with store.batch():
        store.set(a, 2)
        store.set(b, 2)
    store.set(a, 2)  # equal: nothing changed
    assert len(commits) == 2


def test_a_plugin_must_return_hooks_or_none() -> None:
    with pytest.raises(TypeError, match="PluginHooks"):
        create_store(plugins=[lambda _s: "nope"])  # type: ignore[list-item, return-value]


def test_on_action_reports_a_writable_atom_call_before_its_commit_inner_calls_first() -> None:
    count = atom(0, name="count")

    def add_n(get: Getter, set_: Any, n: int) -> None:
        set_(count, get(count) + n)

    add = computed(lambda get: get(count), write=add_n, name="add")

    def add_n_twice(get: Getter, set_: Any, n: int) -> None:
        set_(add, n)
        set_(add, n)

    add_twice = computed(lambda get: get(count), write=add_n_twice, name="add_twice")
    seen: list[Any] = []
    store = create_store(
        plugins=[
            lambda s: PluginHooks(
                on_action=lambda a, args: seen.append((a.name, args)),
                on_commit=lambda: seen.append("commit"),
            )
        ]
    )
    store.set(add_twice, 5)
    assert store.get(count) == 10
    assert seen == [("add", (5,)), ("add", (5,)), ("add_twice", (5,)), "commit"]
    seen.clear()
    store.set(count, 1)  # a primitive write is no action
    assert seen == ["commit"]
