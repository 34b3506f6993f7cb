"""atomiton.store atoms against reaktiv and solara, case by case, in the same run.

Peers are used the way their docs and sources show: reaktiv ``Signal``/``Computed``/``Effect``
(``batch()`` for batches); solara ``solara.reactive`` and ``solara.toestand.Computed``
(``.value``, ``.set``, ``.subscribe``; solara has no batch, so its batch case is ten sets).
A solara Computed evaluates on first read, so each setup reads it once before subscribing.

Every case is timed with the thread's CPU time (``time.thread_time``), for atomiton and the
peers alike: the machines are shared, and wall time would mostly measure the other processes.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import reaktiv
import solara
import solara.toestand
from pytest_benchmark.fixture import BenchmarkFixture

from atomiton.store import Atom, atom, computed, create_store

pytestmark = pytest.mark.benchmark(timer=time.thread_time)

IMPLS = ["atomiton", "reaktiv", "solara"]
TARGETS = {
    "get": 250e-9,
    "set, no subscriber": 600e-9,
    "set -> one listener": 1e-6,
    "cached derived get": 700e-9,
    "set -> mounted derived -> listener": 5e-6,
    "diamond, per write": 10e-6,
    "fan-out to 100 mounted derived": 300e-6,
    "chain of 100": 300e-6,
    "batch of 10 sets": 10e-6,
    "batch of 10 sets, no subscriber": 10e-6,
}


def _noop(_value: Any) -> None:
    pass


@pytest.fixture
def effects() -> Iterator[list[Any]]:
    """reaktiv effects stay referenced during a case and are disposed after it."""
    held: list[Any] = []
    yield held
    for effect in held:
        effect.dispose()


class _Counter:
    """Fresh values for every write (so no write is an equal-value bail-out), cheaply."""

    __slots__ = ("next",)

    def __init__(self) -> None:
        self.next = itertools.count(1).__next__

    @property
    def n(self) -> int:
        """The last value handed out (consumes one)."""
        return self.next() - 1


def _offset(source: Atom[int], n: int) -> Atom[int]:
    return computed(lambda get: get(source) + n)


def _run(benchmark: BenchmarkFixture, case: str, impl: str, fn: Callable[[], Any]) -> None:
    """Time ``fn`` with enough calls per round that the timer's own cost does not count."""
    benchmark.group = f"store: {case}"
    benchmark.extra_info["impl"] = impl
    if impl == "atomiton":
        benchmark.extra_info["target_s"] = TARGETS[case]
    if getattr(benchmark, "disabled", False):
        benchmark(fn)
        return
    start = time.perf_counter()
    fn()
    one = max(time.perf_counter() - start, 1e-7)
    iterations = max(1, min(2000, int(200e-6 / one)))
    rounds = max(20, min(300, int(0.3 / (one * iterations))))
    benchmark.pedantic(  # type: ignore[no-untyped-call]
        fn, rounds=rounds, iterations=iterations, warmup_rounds=2
    )


@pytest.mark.parametrize("impl", IMPLS)
def test_get(benchmark: BenchmarkFixture, impl: str) -> None:
    if impl == "atomiton":
        store, a = create_store(), atom(1)
        fn: Callable[[], Any] = lambda: store.get(a)  # noqa: E731
    elif impl == "reaktiv":
        fn = reaktiv.Signal(1)
    else:
        r = solara.reactive(1)
        fn = lambda: r.value  # noqa: E731
    _run(benchmark, "get", impl, fn)
    assert fn() == 1


@pytest.mark.parametrize("impl", IMPLS)
def test_set_without_subscriber(benchmark: BenchmarkFixture, impl: str) -> None:
    c = _Counter()
    if impl == "atomiton":
        store, a = create_store(), atom(0)
        set_, next_ = store.set, c.next
        fn = lambda: set_(a, next_())  # noqa: E731
        read: Callable[[], Any] = lambda: store.get(a)  # noqa: E731
    elif impl == "reaktiv":
        s = reaktiv.Signal(0)
        sset, next_ = s.set, c.next
        fn, read = (lambda: sset(next_())), s
    else:
        r = solara.reactive(0)
        rset, next_ = r.set, c.next
        fn, read = (lambda: rset(next_())), (lambda: r.value)
    _run(benchmark, "set, no subscriber", impl, fn)
    assert read() == c.n


@pytest.mark.parametrize("impl", IMPLS)
def test_set_notifies_one_listener(
    benchmark: BenchmarkFixture, impl: str, effects: list[Any]
) -> None:
    c, seen = _Counter(), list[Any]()
    if impl == "atomiton":
        store, a = create_store(), atom(0)
        store.subscribe(a, seen.append)
        set_, next_ = store.set, c.next
        fn = lambda: set_(a, next_())  # noqa: E731
    elif impl == "reaktiv":
        s = reaktiv.Signal(0)
        effects.append(reaktiv.Effect(lambda: seen.append(s())))
        seen.clear()
        sset, next_ = s.set, c.next
        fn = lambda: sset(next_())  # noqa: E731
    else:
        r = solara.reactive(0)
        r.subscribe(seen.append)
        rset, next_ = r.set, c.next
        fn = lambda: rset(next_())  # noqa: E731
    _run(benchmark, "set -> one listener", impl, fn)
    assert seen[-1] == c.n


@pytest.mark.parametrize("impl", IMPLS)
def test_cached_derived_get(benchmark: BenchmarkFixture, impl: str) -> None:
    if impl == "atomiton":
        store, a = create_store(), atom(2)
        d = computed(lambda get: get(a) * 2)
        store.get(d)
        fn: Callable[[], Any] = lambda: store.get(d)  # noqa: E731
    elif impl == "reaktiv":
        s = reaktiv.Signal(2)
        fn = reaktiv.Computed(lambda: s() * 2)
    else:
        r = solara.reactive(2)
        sd = solara.toestand.Computed(lambda: r.value * 2)
        fn = lambda: sd.value  # noqa: E731
    fn()
    _run(benchmark, "cached derived get", impl, fn)
    assert fn() == 4


@pytest.mark.parametrize("impl", IMPLS)
def test_set_mounted_derived_listener(
    benchmark: BenchmarkFixture, impl: str, effects: list[Any]
) -> None:
    c, seen = _Counter(), list[Any]()
    if impl == "atomiton":
        store, a = create_store(), atom(0)
        d = computed(lambda get: get(a) * 2)
        store.subscribe(d, seen.append)
        set_, next_ = store.set, c.next
        fn = lambda: set_(a, next_())  # noqa: E731
    elif impl == "reaktiv":
        s = reaktiv.Signal(0)
        rd = reaktiv.Computed(lambda: s() * 2)
        effects.append(reaktiv.Effect(lambda: seen.append(rd())))
        sset, next_ = s.set, c.next
        fn = lambda: sset(next_())  # noqa: E731
    else:
        r = solara.reactive(0)
        sd = solara.toestand.Computed(lambda: r.value * 2)
        _ = sd.value
        sd.subscribe(seen.append)
        rset, next_ = r.set, c.next
        fn = lambda: rset(next_())  # noqa: E731
    _run(benchmark, "set -> mounted derived -> listener", impl, fn)
    assert seen[-1] == 2 * c.n


@pytest.mark.parametrize("impl", IMPLS)
def test_diamond(benchmark: BenchmarkFixture, impl: str, effects: list[Any]) -> None:
    c, seen = _Counter(), list[Any]()
    if impl == "atomiton":
        store, a = create_store(), atom(0)
        b = computed(lambda get: get(a) + 1)
        cc = computed(lambda get: get(a) * 2)
        d = computed(lambda get: get(b) + get(cc))
        store.subscribe(d, seen.append)
        set_, next_ = store.set, c.next
        fn = lambda: set_(a, next_())  # noqa: E731
    elif impl == "reaktiv":
        s = reaktiv.Signal(0)
        rb = reaktiv.Computed(lambda: s() + 1)
        rc = reaktiv.Computed(lambda: s() * 2)
        rd = reaktiv.Computed(lambda: rb() + rc())
        effects.append(reaktiv.Effect(lambda: seen.append(rd())))
        sset, next_ = s.set, c.next
        fn = lambda: sset(next_())  # noqa: E731
    else:
        r = solara.reactive(0)
        sb = solara.toestand.Computed(lambda: r.value + 1)
        sc = solara.toestand.Computed(lambda: r.value * 2)
        sd = solara.toestand.Computed(lambda: sb.value + sc.value)
        _ = sd.value
        sd.subscribe(seen.append)
        rset, next_ = r.set, c.next
        fn = lambda: rset(next_())  # noqa: E731
    _run(benchmark, "diamond, per write", impl, fn)
    assert seen[-1] == 3 * c.n + 1


@pytest.mark.parametrize("impl", IMPLS)
def test_fan_out_100(benchmark: BenchmarkFixture, impl: str, effects: list[Any]) -> None:
    c, total = _Counter(), [0]

    def bump(_value: Any) -> None:
        total[0] += 1

    if impl == "atomiton":
        store, a = create_store(), atom(0)
        for i in range(100):
            store.subscribe(_offset(a, i), bump)
        set_, next_ = store.set, c.next
        fn = lambda: set_(a, next_())  # noqa: E731
    elif impl == "reaktiv":
        s = reaktiv.Signal(0)

        def watch(rd: Any) -> Callable[[], None]:
            return lambda: bump(rd())

        for i in range(100):
            rd = reaktiv.Computed(lambda i=i: s() + i)
            effects.append(reaktiv.Effect(watch(rd)))
        sset, next_ = s.set, c.next
        fn = lambda: sset(next_())  # noqa: E731
    else:
        r = solara.reactive(0)
        for i in range(100):
            sd = solara.toestand.Computed(lambda i=i: r.value + i)  # type: ignore[misc]
            _ = sd.value
            sd.subscribe(bump)
        rset, next_ = r.set, c.next
        fn = lambda: rset(next_())  # noqa: E731
    total[0] = 0
    _run(benchmark, "fan-out to 100 mounted derived", impl, fn)
    assert total[0] == 100 * c.n


@pytest.mark.parametrize("impl", IMPLS)
def test_chain_100(benchmark: BenchmarkFixture, impl: str, effects: list[Any]) -> None:
    c, seen = _Counter(), list[Any]()
    if impl == "atomiton":
        store, a = create_store(), atom(0)
        last: Atom[int] = a
        for _ in range(100):
            last = _offset(last, 1)
        store.subscribe(last, seen.append)
        set_, next_ = store.set, c.next
        fn = lambda: set_(a, next_())  # noqa: E731
    elif impl == "reaktiv":
        s = reaktiv.Signal(0)
        rl: Any = s
        for _ in range(100):
            rl = reaktiv.Computed(lambda p=rl: p() + 1)
        effects.append(reaktiv.Effect(lambda: seen.append(rl())))
        sset, next_ = s.set, c.next
        fn = lambda: sset(next_())  # noqa: E731
    else:
        r = solara.reactive(0)
        sl: Any = r
        for _ in range(100):
            sl = solara.toestand.Computed(lambda p=sl: p.value + 1)  # type: ignore[misc]
        _ = sl.value
        sl.subscribe(seen.append)
        rset, next_ = r.set, c.next
        fn = lambda: rset(next_())  # noqa: E731
    _run(benchmark, "chain of 100", impl, fn)
    assert seen[-1] == c.n + 100


@pytest.mark.parametrize("impl", IMPLS)
def test_batch_of_10_sets(benchmark: BenchmarkFixture, impl: str, effects: list[Any]) -> None:
    c, seen = _Counter(), list[Any]()
    if impl == "atomiton":
        store = create_store()
        atoms = [atom(0) for _ in range(10)]
        total = computed(lambda get: sum([get(x) for x in atoms]))
        store.subscribe(total, seen.append)

        def fn() -> None:
            n = c.next()
            with store.batch():
                for x in atoms:
                    store.set(x, n)

    elif impl == "reaktiv":
        signals = [reaktiv.Signal(0) for _ in range(10)]
        rt = reaktiv.Computed(lambda: sum([s() for s in signals]))
        effects.append(reaktiv.Effect(lambda: seen.append(rt())))

        def fn() -> None:
            n = c.next()
            with reaktiv.batch():
                for s in signals:
                    s.set(n)

    else:
        rs = [solara.reactive(0) for _ in range(10)]
        st = solara.toestand.Computed(lambda: sum([r.value for r in rs]))
        _ = st.value
        st.subscribe(seen.append)

        def fn() -> None:
            n = c.next()
            for r in rs:
                r.set(n)

    _run(benchmark, "batch of 10 sets", impl, fn)
    assert seen[-1] == 10 * c.n


@pytest.mark.parametrize("impl", IMPLS)
def test_batch_of_10_sets_without_subscriber(benchmark: BenchmarkFixture, impl: str) -> None:
    """The batch machinery alone: ten writes nobody observes (the case above adds a total)."""
    c = _Counter()
    if impl == "atomiton":
        store = create_store()
        atoms = [atom(0) for _ in range(10)]

        def fn() -> None:
            n = c.next()
            with store.batch():
                for x in atoms:
                    store.set(x, n)

        def read() -> list[Any]:
            return [store.get(x) for x in atoms]

    elif impl == "reaktiv":
        signals = [reaktiv.Signal(0) for _ in range(10)]

        def fn() -> None:
            n = c.next()
            with reaktiv.batch():
                for s in signals:
                    s.set(n)

        def read() -> list[Any]:
            return [s() for s in signals]

    else:
        rs = [solara.reactive(0) for _ in range(10)]

        def fn() -> None:
            n = c.next()
            for r in rs:
                r.set(n)

        def read() -> list[Any]:
            return [r.value for r in rs]

    _run(benchmark, "batch of 10 sets, no subscriber", impl, fn)
    assert read() == [c.n] * 10
