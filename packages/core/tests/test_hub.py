"""The store hub: shared loads, cached failures, ref-counted disposal on a fake clock, cycles."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import heapq
import itertools
import math
import weakref
from collections.abc import Callable
from typing import Any

import pytest

from atomiton.store import (
    HubDisposedError,
    InvalidStoreIdError,
    StoreDefinitionError,
    StoreDependencyCycleError,
    StoreDisposedError,
    StoreHub,
    StoreHubError,
    StoreState,
    define_store,
)


class FakeHandle:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeTimer:
    """A manual clock: callbacks run only when ``advance`` passes their time."""

    def __init__(self) -> None:
        self.now = 0.0
        self._queue: list[tuple[float, int, FakeHandle, Callable[[], object]]] = []
        self._seq = itertools.count()

    def call_later(self, delay: float, callback: Callable[[], object], /) -> FakeHandle:
        handle = FakeHandle()
        heapq.heappush(self._queue, (self.now + delay, next(self._seq), handle, callback))
        return handle

    def advance(self, seconds: float) -> None:
        self.now += seconds
        while self._queue and self._queue[0][0] <= self.now:
            _when, _seq, handle, callback = heapq.heappop(self._queue)
            if not handle.cancelled:
                callback()

    @property
    def scheduled(self) -> int:
        return sum(not h.cancelled for _w, _s, h, _c in self._queue)


class Resource:
    """A store with a close(); counts how often it was closed."""

    def __init__(self, store_id: str) -> None:
        self.store_id = store_id
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_concurrent_loads_share_one_create_and_the_result_is_cached() -> None:
    calls: list[str] = []

    async def create(store_id: str, hub: StoreHub) -> Resource:
        calls.append(store_id)
        await asyncio.sleep(0.01)
        return Resource(store_id)

    issues = define_store("issues", create)
    hub = StoreHub(timer=FakeTimer())
    stores = await asyncio.gather(*(hub.load(issues, "issue-1") for _ in range(10)))
    assert calls == ["issue-1"]
    assert all(s is stores[0] for s in stores)
    assert await hub.load(issues, "issue-1") is stores[0]
    assert calls == ["issue-1"]
    await hub.aclose()


async def test_sync_create_works_too() -> None:
    issues = define_store("issues", lambda store_id, hub: Resource(store_id))
    hub = StoreHub(timer=FakeTimer())
    store = await hub.load(issues, "a")
    assert store.store_id == "a"
    await hub.aclose()


async def test_get_and_state_follow_the_lifecycle_without_blocking() -> None:
    gate = asyncio.Event()

    async def create(store_id: str, hub: StoreHub) -> Resource:
        await gate.wait()
        return Resource(store_id)

    issues = define_store("issues", create)
    hub = StoreHub(timer=FakeTimer())
    assert hub.state(issues, "x") is None
    assert hub.get(issues, "x") is None
    pending = asyncio.ensure_future(hub.load(issues, "x"))
    await settle()
    assert hub.state(issues, "x") is StoreState.LOADING
    assert hub.get(issues, "x") is None
    gate.set()
    store = await pending
    assert hub.state(issues, "x") is StoreState.RUNNING
    assert hub.get(issues, "x") is store
    await hub.aclose()
    assert hub.state(issues, "x") is StoreState.SHUTDOWN
    assert store.closed == 1


async def test_a_failed_load_is_cached_as_the_same_exception_until_reset() -> None:
    attempts: list[int] = []

    async def create(store_id: str, hub: StoreHub) -> Resource:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("backend down")
        return Resource(store_id)

    issues = define_store("issues", create)
    hub = StoreHub(timer=FakeTimer())
    with pytest.raises(ConnectionError) as first:
        await hub.load(issues, "a")
    with pytest.raises(ConnectionError) as second:
        await hub.load(issues, "a")
    assert first.value is second.value
    assert hub.state(issues, "a") is StoreState.ERROR
    assert len(attempts) == 1
    assert hub.reset(issues, "a") is True
    assert hub.reset(issues, "a") is False
    assert (await hub.load(issues, "a")).store_id == "a"
    assert len(attempts) == 2
    await hub.aclose()


async def test_a_create_raising_cancelled_error_is_a_failed_load_not_stuck_loading() -> None:
    attempts: list[int] = []

    async def create(store_id: str, hub: StoreHub) -> Resource:
        attempts.append(1)
        if len(attempts) == 1:
            raise asyncio.CancelledError
        return Resource(store_id)

    issues = define_store("issues", create)
    hub = StoreHub(timer=FakeTimer())
    with pytest.raises(StoreHubError, match="issues:a was cancelled") as first:
        await hub.load(issues, "a")
    assert hub.state(issues, "a") is StoreState.ERROR
    with pytest.raises(StoreHubError) as second:
        await hub.load(issues, "a")
    assert first.value is second.value
    assert hub.reset(issues, "a") is True
    assert (await hub.load(issues, "a")).store_id == "a"
    await hub.aclose()


async def test_an_unretained_store_is_disposed_after_unused_cache_time() -> None:
    timer = FakeTimer()
    issues = define_store("issues", lambda store_id, hub: Resource(store_id))
    hub = StoreHub(unused_cache_time=60.0, timer=timer)
    store = await hub.load(issues, "a")
    timer.advance(59.0)
    assert hub.get(issues, "a") is store
    timer.advance(1.0)
    assert hub.get(issues, "a") is None
    assert hub.state(issues, "a") is None
    assert store.closed == 1
    again = await hub.load(issues, "a")
    assert again is not store  # a disposed store is never served again
    await hub.aclose()


async def test_retain_keeps_a_store_and_release_starts_the_countdown() -> None:
    timer = FakeTimer()
    issues = define_store("issues", lambda store_id, hub: Resource(store_id))
    hub = StoreHub(unused_cache_time=10.0, timer=timer)
    release = hub.retain(issues, "a")
    store = await hub.load(issues, "a")
    timer.advance(1000.0)
    assert hub.get(issues, "a") is store
    release()
    release()  # a second call counts once
    timer.advance(9.0)
    assert hub.get(issues, "a") is store
    again = hub.retain(issues, "a")  # cancels the pending disposal
    timer.advance(100.0)
    assert hub.get(issues, "a") is store
    again()
    timer.advance(10.0)
    assert hub.get(issues, "a") is None
    assert store.closed == 1
    await hub.aclose()


async def test_a_zero_cache_time_never_closes_a_store_before_its_loader_received_it() -> None:
    async def create(store_id: str, hub: StoreHub) -> Resource:
        await asyncio.sleep(0)
        return Resource(store_id)

    issues = define_store("issues", create)
    hub = StoreHub(unused_cache_time=0)  # the event loop's own timer
    store = await hub.load(issues, "a")
    assert store.closed == 0  # the countdown starts once the awaiting caller has it
    release = hub.retain(issues, "a")
    await settle()
    assert store.closed == 0
    assert hub.get(issues, "a") is store
    release()
    await settle()
    assert store.closed == 1
    assert hub.get(issues, "a") is None
    await hub.aclose()


async def test_two_retains_need_two_releases() -> None:
    timer = FakeTimer()
    issues = define_store("issues", lambda store_id, hub: Resource(store_id))
    hub = StoreHub(unused_cache_time=1.0, timer=timer)
    first, second = hub.retain(issues, "a"), hub.retain(issues, "a")
    store = await hub.load(issues, "a")
    first()
    timer.advance(5.0)
    assert hub.get(issues, "a") is store
    second()
    timer.advance(5.0)
    assert hub.get(issues, "a") is None
    await hub.aclose()


async def test_infinite_unused_cache_time_keeps_stores_forever() -> None:
    timer = FakeTimer()
    issues = define_store("issues", lambda store_id, hub: Resource(store_id))
    hub = StoreHub(unused_cache_time=math.inf, timer=timer)
    store = await hub.load(issues, "a")
    hub.retain(issues, "a")()
    timer.advance(1e12)
    assert hub.get(issues, "a") is store
    assert timer.scheduled == 0
    await hub.aclose()


async def test_disposing_the_hub_cancels_in_flight_loads() -> None:
    cancelled = asyncio.Event()

    async def create(store_id: str, hub: StoreHub) -> Resource:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        raise AssertionError("unreachable")

    issues = define_store("issues", create)
    hub = StoreHub(timer=FakeTimer())
    waiter = asyncio.ensure_future(hub.load(issues, "a"))
    await settle()
    await hub.aclose()
    assert cancelled.is_set()
    with pytest.raises(StoreDisposedError, match="issues:a"):
        await waiter
    with pytest.raises(HubDisposedError):
        await hub.load(issues, "a")
    with pytest.raises(HubDisposedError):
        hub.retain(issues, "a")
    await hub.aclose()  # idempotent


async def test_expiry_while_loading_cancels_the_load() -> None:
    timer = FakeTimer()
    gate = asyncio.Event()

    async def create(store_id: str, hub: StoreHub) -> Resource:
        await gate.wait()
        return Resource(store_id)

    issues = define_store("issues", create)
    hub = StoreHub(unused_cache_time=5.0, timer=timer)
    release = hub.retain(issues, "a")
    waiter = asyncio.ensure_future(hub.load(issues, "a"))
    await settle()
    release()
    timer.advance(5.0)
    with pytest.raises(StoreDisposedError):
        await waiter
    assert hub.state(issues, "a") is None
    await hub.aclose()


async def test_a_store_that_finishes_loading_after_disposal_is_closed_not_served() -> None:
    made: list[Resource] = []
    gate = asyncio.Event()

    async def create(store_id: str, hub: StoreHub) -> Resource:
        with contextlib.suppress(asyncio.CancelledError):  # ignores cancellation, returns anyway
            await gate.wait()
        made.append(Resource(store_id))
        return made[-1]

    issues = define_store("issues", create)
    hub = StoreHub(timer=FakeTimer())
    waiter = asyncio.ensure_future(hub.load(issues, "a"))
    await settle()
    await hub.aclose()
    with pytest.raises(StoreDisposedError):
        await waiter
    assert made[0].closed == 1


async def test_disposal_calls_aclose_close_or_dispose() -> None:
    log: list[str] = []

    class Async:
        async def aclose(self) -> None:
            log.append("aclose")

    class Disposable:
        def dispose(self) -> None:
            log.append("dispose")

    class Plain:
        pass

    kinds = {"a": Async, "d": Disposable, "p": Plain}
    things = define_store("things", lambda store_id, hub: kinds[store_id]())
    hub = StoreHub(timer=FakeTimer())
    for store_id in kinds:
        await hub.load(things, store_id)
    await hub.aclose()
    assert sorted(log) == ["aclose", "dispose"]


async def test_loads_of_different_stores_run_concurrently() -> None:
    arrived: list[str] = []
    both = asyncio.Event()

    async def create(store_id: str, hub: StoreHub) -> Resource:
        arrived.append(store_id)
        if len(arrived) == 2:
            both.set()
        await asyncio.wait_for(both.wait(), 5)  # deadlocks if loads were serialised
        return Resource(store_id)

    issues = define_store("issues", create)
    hub = StoreHub(timer=FakeTimer())
    a, b = await asyncio.gather(hub.load(issues, "a"), hub.load(issues, "b"))
    assert (a.store_id, b.store_id) == ("a", "b")
    await hub.aclose()


async def test_dependent_stores_load_through_the_hub() -> None:
    users = define_store("users", lambda store_id, hub: Resource(store_id))

    async def create_issue(store_id: str, hub: StoreHub) -> dict[str, Any]:
        owner = await hub.load(users, "owner-" + store_id)
        return {"id": store_id, "owner": owner}

    issues = define_store("issues", create_issue)
    hub = StoreHub(timer=FakeTimer())
    issue = await hub.load(issues, "1")
    assert issue["owner"] is hub.get(users, "owner-1")
    await hub.aclose()


async def test_a_dependency_cycle_is_a_clear_error_not_a_deadlock() -> None:
    definitions: dict[str, Any] = {}

    async def create_a(store_id: str, hub: StoreHub) -> Resource:
        await hub.load(definitions["b"], store_id)
        return Resource(store_id)

    async def create_b(store_id: str, hub: StoreHub) -> Resource:
        await hub.load(definitions["c"], store_id)
        return Resource(store_id)

    async def create_c(store_id: str, hub: StoreHub) -> Resource:
        await hub.load(definitions["a"], store_id)
        return Resource(store_id)

    definitions.update(
        a=define_store("a", create_a), b=define_store("b", create_b), c=define_store("c", create_c)
    )
    hub = StoreHub(timer=FakeTimer())
    with pytest.raises(StoreDependencyCycleError, match="c:1 -> a:1 -> b:1 -> c:1"):
        await asyncio.wait_for(hub.load(definitions["a"], "1"), 5)
    await hub.aclose()


async def test_a_store_loading_itself_is_a_cycle() -> None:
    async def create(store_id: str, hub: StoreHub) -> Resource:
        await hub.load(selfish, store_id)
        return Resource(store_id)

    selfish = define_store("selfish", create)
    hub = StoreHub(timer=FakeTimer())
    with pytest.raises(StoreDependencyCycleError, match="selfish:1 -> selfish:1"):
        await asyncio.wait_for(hub.load(selfish, "1"), 5)
    await hub.aclose()


@pytest.mark.parametrize("bad", ["", "a b", "a/b", "ä", "x\n", 5])
async def test_store_ids_are_validated(bad: Any) -> None:
    issues = define_store("issues", lambda store_id, hub: Resource(store_id))
    hub = StoreHub(timer=FakeTimer())
    with pytest.raises(InvalidStoreIdError, match="must match"):
        await hub.load(issues, bad)
    with pytest.raises(InvalidStoreIdError):
        hub.retain(issues, bad)
    await hub.aclose()


@pytest.mark.parametrize("bad", [-1, float("nan"), "60", None, True])
def test_a_bad_unused_cache_time_is_rejected_naming_it(bad: Any) -> None:
    with pytest.raises(ValueError, match="unused_cache_time must be seconds >= 0"):
        StoreHub(unused_cache_time=bad)


def test_a_timer_without_call_later_is_rejected() -> None:
    with pytest.raises(TypeError, match="timer must have call_later"):
        StoreHub(timer=object())  # type: ignore[arg-type]


async def test_two_definitions_with_one_name_are_an_error() -> None:
    first = define_store("issues", lambda store_id, hub: Resource(store_id))
    second = define_store("issues", lambda store_id, hub: Resource(store_id))
    hub = StoreHub(timer=FakeTimer())
    await hub.load(first, "a")
    with pytest.raises(StoreDefinitionError, match="'issues'"):
        await hub.load(second, "a")
    with pytest.raises(StoreDefinitionError):
        define_store("bad name", lambda store_id, hub: None)
    await hub.aclose()


async def test_preload_starts_a_load_and_never_raises() -> None:
    calls: list[str] = []

    def create(store_id: str, hub: StoreHub) -> Resource:
        calls.append(store_id)
        if store_id == "boom":
            raise RuntimeError("fails")
        return Resource(store_id)

    issues = define_store("issues", create)
    hub = StoreHub(timer=FakeTimer())
    hub.preload(issues, "a")
    hub.preload(issues, "a")
    hub.preload(issues, "boom")
    hub.preload(issues, "not valid!")
    await settle()
    assert calls == ["a", "boom"]
    assert hub.state(issues, "a") is StoreState.RUNNING
    assert hub.state(issues, "boom") is StoreState.ERROR
    await hub.aclose()
    hub.preload(issues, "b")  # after dispose: silently nothing


def test_preload_outside_an_event_loop_does_not_raise() -> None:
    hub = StoreHub()
    hub.preload(define_store("issues", lambda store_id, hub: None), "a")
    assert len(hub) == 0


async def test_disposed_stores_leave_nothing_behind() -> None:
    timer = FakeTimer()
    issues = define_store("issues", lambda store_id, hub: Resource(store_id))
    hub = StoreHub(unused_cache_time=1.0, timer=timer)
    refs = []
    for i in range(50):
        release = hub.retain(issues, f"s{i}")
        refs.append(weakref.ref(await hub.load(issues, f"s{i}")))
        release()
    assert len(hub) == 50
    timer.advance(1.0)
    assert len(hub) == 0
    assert hub._refs == {}
    assert hub._waits == {}
    await settle()  # asyncio itself holds the last awaited future until the next loop step
    gc.collect()
    assert all(r() is None for r in refs)
    await hub.aclose()


async def test_hub_memory_grows_linearly_with_live_stores() -> None:
    import tracemalloc

    async def grow(count: int) -> float:
        hub = StoreHub(unused_cache_time=math.inf, timer=FakeTimer())
        things = define_store("things", lambda store_id, hub: object())
        tracemalloc.start()
        start = tracemalloc.get_traced_memory()[0]
        for i in range(count):
            await hub.load(things, f"s{i}")
        per_store = (tracemalloc.get_traced_memory()[0] - start) / count
        tracemalloc.stop()
        await hub.aclose()
        assert len(hub) == 0
        return per_store

    small, large = await grow(200), await grow(2000)
    assert large <= small * 1.5
    assert large < 4096  # a few hundred bytes of bookkeeping per live store


def test_a_sync_create_raising_keyboard_interrupt_is_re_raised_and_not_left_loading() -> None:
    # Its own event loop: the interrupt leaves the loop, as it would stop a real program.
    attempts: list[int] = []

    def create(store_id: str, hub: StoreHub) -> Resource:
        attempts.append(1)
        if len(attempts) == 1:
            raise KeyboardInterrupt
        return Resource(store_id)

    issues = define_store("issues", create)
    hub = StoreHub(timer=FakeTimer())

    async def load_and_wait() -> None:
        await hub.load(issues, "a")

    with pytest.raises(KeyboardInterrupt):
        asyncio.run(load_and_wait())
    assert hub.state(issues, "a") is StoreState.ERROR

    async def afterwards() -> Resource:
        with pytest.raises(StoreHubError, match="issues:a was interrupted \\(KeyboardInterrupt\\)"):
            await hub.load(issues, "a")
        assert hub.reset(issues, "a") is True
        loaded = await hub.load(issues, "a")
        await hub.aclose()
        return loaded

    assert asyncio.run(afterwards()).store_id == "a"
    assert len(attempts) == 2


async def test_instances_reports_state_refs_errors_and_pending_disposal() -> None:
    def create(store_id: str, hub: StoreHub) -> dict[str, str]:
        if store_id == "bad":
            raise ValueError("no such board")
        return {"id": store_id}

    boards = define_store("board-list", create)
    hub = StoreHub(unused_cache_time=math.inf)
    release = hub.retain(boards, "b1")
    hub.retain(boards, "b1")
    await hub.load(boards, "b1")
    with pytest.raises(ValueError, match="no such board"):
        await hub.load(boards, "bad")
    assert [(i.store, i.id, i.state, i.refs, i.error) for i in hub.instances()] == [
        ("board-list", "b1", StoreState.RUNNING, 2, None),
        ("board-list", "bad", StoreState.ERROR, 0, "ValueError: no such board"),
    ]
    release()
    assert hub.instances()[0].refs == 1
    await hub.aclose()
    assert {i.state for i in hub.instances()} <= {StoreState.SHUTDOWN}


async def test_aclose_is_the_hub_s_close_and_dispose_its_alias() -> None:
    assert StoreHub.dispose is StoreHub.aclose
    issues = define_store("issues", lambda store_id, hub: Resource(store_id))
    async with StoreHub(timer=FakeTimer()) as hub:
        store = await hub.load(issues, "a")
        assert store.closed == 0
    assert hub.is_disposed
    assert store.closed == 1  # leaving the block closed the hub and its stores
