"""select_atom (notifies only when the slice changes), loadable and unwrap."""

from __future__ import annotations

import asyncio

import pytest

from atomiton.store import (
    Getter,
    HasData,
    HasError,
    Loading,
    PendingError,
    atom,
    computed,
    create_store,
    loadable,
    select_atom,
    unwrap,
)


def test_select_notifies_only_when_the_selected_slice_changes() -> None:
    user = atom({"name": "Ada", "age": 36})
    name = select_atom(user, lambda u: str(u["name"]))
    store = create_store()
    seen: list[str] = []
    store.subscribe(name, seen.append)
    store.set(user, {"name": "Ada", "age": 37})  # slice unchanged
    store.set(user, {"name": "Grace", "age": 37})
    assert seen == ["Grace"]
    assert store.get(name) == "Grace"


def test_select_with_equals_keeps_the_previous_slice_object() -> None:
    items = atom([3, 1, 2])
    as_set = select_atom(items, lambda xs: list(xs), equals=lambda a, b: set(a) == set(b))
    store = create_store()
    seen: list[list[int]] = []
    store.subscribe(as_set, seen.append)
    first = store.get(as_set)
    store.set(items, [1, 2, 3])  # same members: equal, the old object stays
    assert store.get(as_set) is first
    assert seen == []
    store.set(items, [1, 2])
    assert seen == [[1, 2]]


def test_select_dependants_do_not_recompute_for_an_unchanged_slice() -> None:
    user = atom({"name": "Ada", "age": 36})
    name = select_atom(user, lambda u: u["name"])
    runs: list[str] = []

    def greet(get: Getter) -> str:
        runs.append("run")
        return f"hi {get(name)}"

    greeting = computed(greet)
    store = create_store()
    store.subscribe(greeting, lambda v: None)
    store.set(user, {"name": "Ada", "age": 40})
    assert runs == ["run"]


def test_select_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError, match="source must be an atom"):
        select_atom(1, lambda v: v)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="selector must be callable"):
        select_atom(atom(1), 2)  # type: ignore[arg-type]


async def test_loadable_goes_loading_then_data_and_notifies_each_step() -> None:
    gate = asyncio.Event()
    user_id = atom(1)

    async def load(get: Getter) -> str:
        uid = get(user_id)
        await gate.wait()
        return f"user {uid}"

    state = loadable(computed(load))
    store = create_store()
    seen: list[object] = []
    store.subscribe(state, seen.append)
    assert store.get(state) == Loading()  # never raises PendingError
    gate.set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert store.get(state) == HasData("user 1")
    assert seen == [HasData("user 1")]


async def test_loadable_reports_an_error_as_a_value() -> None:
    fail = atom(True)

    async def load(get: Getter) -> int:
        await asyncio.sleep(0)
        if get(fail):
            raise ValueError("no")
        return 1

    source = computed(load)
    state = loadable(source)
    store = create_store()
    seen: list[object] = []
    store.subscribe(state, seen.append)
    with pytest.raises(ValueError, match="no"):
        await store.aget(source)
    result = store.get(state)
    assert isinstance(result, HasError)
    assert isinstance(result.error, ValueError)
    store.set(fail, False)
    assert await store.aget(source) == 1
    assert store.get(state) == HasData(1)
    assert [type(s).__name__ for s in seen] == ["HasError", "HasData"]


def test_loadable_of_a_sync_atom_is_data_or_error() -> None:
    divisor = atom(1)
    ratio = computed(lambda get: 10 // get(divisor))
    state = loadable(ratio)
    store = create_store()
    assert store.get(state) == HasData(10)
    store.set(divisor, 0)
    failed = store.get(state)
    assert isinstance(failed, HasError)
    assert isinstance(failed.error, ZeroDivisionError)


def test_loadable_values_support_match() -> None:
    def describe(state: Loading | HasData[int] | HasError) -> str:
        match state:
            case Loading():
                return "loading"
            case HasData(data):
                return f"data {data}"
            case HasError(error):
                return f"error {error}"
        raise AssertionError(state)

    assert [describe(s) for s in (Loading(), HasData(1), HasError(ValueError("x")))] == [
        "loading",
        "data 1",
        "error x",
    ]


async def test_unwrap_shows_the_fallback_until_settled_then_the_value() -> None:
    gate = asyncio.Event()

    async def load(get: Getter) -> int:
        await gate.wait()
        return 5

    source = computed(load)
    value = unwrap(source, fallback=0)
    plain = unwrap(source)
    store = create_store()
    assert store.get(value) == 0
    assert store.get(plain) is None
    gate.set()
    assert await store.aget(source) == 5
    assert store.get(value) == 5


async def test_unwrap_re_raises_errors() -> None:
    async def load(get: Getter) -> int:
        raise KeyError("gone")

    source = computed(load)
    value = unwrap(source, 0)
    store = create_store()
    with pytest.raises(KeyError):
        await store.aget(source)
    with pytest.raises(KeyError):
        store.get(value)


def test_loadable_outside_a_loop_stays_loading() -> None:
    async def load(get: Getter) -> int:
        return 1

    source = computed(load)
    store = create_store()
    with pytest.raises(PendingError):
        store.get(source)
    assert store.get(loadable(source)) == Loading()


def test_loadable_and_unwrap_reject_non_atoms() -> None:
    with pytest.raises(TypeError, match="loadable"):
        loadable(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unwrap"):
        unwrap(1)  # type: ignore[arg-type]
