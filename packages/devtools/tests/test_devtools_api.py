"""DevTools over real stores, buses, entity clients and workers: timeline, time travel, detach."""

import asyncio
import json
import math
import threading
import time
from typing import Any

import pytest

from atomiton.devtools import AttachError, DevTools, EditError, ImportDataError, TimeTravelError
from atomiton.events import EventBus
from atomiton.execution import ThreadWorkers, current_job
from atomiton.store import StoreHub, atom, computed, create_client, create_store, define_store


@pytest.fixture
def dt() -> Any:
    with DevTools() as devtools:
        yield devtools


def test_atom_writes_are_on_the_timeline_in_order_by_name(dt: DevTools) -> None:
    count = atom(0, name="count")
    label = atom("", name="label")
    store = create_store()
    dt.attach(store, name="ui")
    store.set(count, 1)
    store.set(label, "hi")
    store.set(count, 1)  # equal value: not a write
    atoms = dt.timeline.entries("atom")
    assert [(e.source, e.label, e.data) for e in atoms] == [
        ("ui", "count", {"count": 1}),
        ("ui", "label", {"label": "hi"}),
    ]
    assert [e.position for e in atoms] == [1, 2]
    assert dt.state("ui") == {"count": 1, "label": "hi"}


def test_undo_redo_and_jump_really_restore_the_store_and_its_derived_atoms(dt: DevTools) -> None:
    count = atom(0, name="count")
    doubled = computed(lambda get: get(count) * 2, name="doubled")
    store = create_store()
    seen: list[int] = []
    store.subscribe(doubled, seen.append)
    dt.attach(store, name="ui")
    for n in (1, 2, 3):
        store.set(count, n)
    assert dt.undo("ui") is True
    assert store.get(count) == 2
    assert store.get(doubled) == 4
    assert dt.redo("ui") is True
    assert store.get(count) == 3
    assert dt.jump_to("ui", 1) is True
    assert store.get(count) == 1
    assert seen[-1] == 2  # subscribers were notified by the restore
    assert dt.jump_to("ui", 0) is True
    assert store.get(count) == 0
    assert dt.undo("ui") is False  # nothing older than the attach point


def test_a_write_after_undo_drops_the_redo_branch(dt: DevTools) -> None:
    count = atom(0, name="count")
    store = create_store()
    dt.attach(store, name="ui")
    store.set(count, 1)
    store.set(count, 2)
    dt.undo("ui")
    store.set(count, 10)
    assert [p.label for p in dt.history("ui")] == ["attach", "count", "count"]
    assert [p.state["count"] for p in dt.history("ui")[1:]] == [1, 10]
    assert dt.redo("ui") is False


def test_restores_do_not_add_history_points(dt: DevTools) -> None:
    count = atom(0, name="count")
    store = create_store()
    dt.attach(store, name="ui")
    store.set(count, 1)
    store.set(count, 2)
    dt.undo("ui")
    dt.undo("ui")
    assert len(dt.history("ui")) == 3
    assert len(dt.timeline.entries("atom")) == 2


def test_a_batch_is_one_history_point(dt: DevTools) -> None:
    a = atom(0, name="a")
    b = atom(0, name="b")
    store = create_store()
    dt.attach(store, name="ui")
    with store.batch():
        store.set(a, 1)
        store.set(b, 2)
    (entry,) = dt.timeline.entries("atom")
    assert entry.label == "a, b"
    assert entry.data == {"a": 1, "b": 2}
    dt.undo("ui")
    assert (store.get(a), store.get(b)) == (0, 0)


def test_jumping_to_a_position_that_is_not_kept_names_the_valid_range() -> None:
    count = atom(0, name="count")
    store = create_store()
    with DevTools(history_limit=3) as dt:
        dt.attach(store, name="ui")
        for n in range(1, 6):
            store.set(count, n)
        with pytest.raises(TimeTravelError, match=r"position 1 is not kept; valid: 3\.\.5"):
            dt.jump_to("ui", 1)
        assert dt.jump_to("ui", 3) is True
        assert store.get(count) == 3
        with pytest.raises(TimeTravelError, match="no atom store"):
            dt.undo("nope")


def test_the_timeline_ring_keeps_only_entry_limit() -> None:
    count = atom(0, name="count")
    store = create_store()
    with DevTools(entry_limit=5) as dt:
        dt.attach(store, name="ui")
        for n in range(1, 21):
            store.set(count, n)
        assert len(dt.timeline) == 5
        assert [e.data["count"] for e in dt.timeline] == [16, 17, 18, 19, 20]


def test_events_are_recorded_and_detach_removes_the_subscription(dt: DevTools) -> None:
    bus = EventBus()
    before = bus.listener_count("anything")
    dt.attach(bus, name="bus")
    assert bus.listener_count("anything") == before + 1
    bus.emit("job.done", {"id": 7}, source="test")
    dt.detach(bus)
    bus.emit("job.done", {"id": 8}, source="test")
    assert bus.listener_count("anything") == before
    events = dt.timeline.entries("event")
    assert [(e.label, e.source, e.data) for e in events] == [("job.done", "test", {"id": 7})]


def test_storage_operation_events_feed_the_profile(dt: DevTools) -> None:
    bus = EventBus()
    dt.attach(bus)
    for ms in (1, 2, 3, 4):
        payload = {"operation": "read", "keys": ["k"], "duration": ms / 1000, "bytes": 1}
        bus.emit("storage.operation", {**payload, "error": None}, source="storage")
    stats = dt.profile()["storage.read"]
    assert stats.count == 4
    assert stats.max == pytest.approx(0.004)
    assert 0.001 <= stats.p50 <= 0.004


def test_detaching_a_store_removes_its_plugin(dt: DevTools) -> None:
    count = atom(0, name="count")
    store = create_store()
    dt.attach(store, name="ui")
    dt.detach("ui")
    store.set(count, 5)
    assert dt.timeline.entries("atom") == []
    assert dt.attached == {}
    with pytest.raises(AttachError, match="nothing is attached"):
        dt.detach("ui")


def test_attach_rejects_unknown_objects_duplicates_and_taken_names(dt: DevTools) -> None:
    with pytest.raises(AttachError, match="cannot attach a int"):
        dt.attach(42)
    store = create_store()
    dt.attach(store, name="ui")
    with pytest.raises(AttachError, match="already attached"):
        dt.attach(store, name="other")
    with pytest.raises(AttachError, match="'ui' is already attached"):
        dt.attach(create_store(), name="ui")


def test_store_writes_are_profiled(dt: DevTools) -> None:
    count = atom(0, name="count")
    store = create_store()
    dt.attach(store, name="ui")
    for n in range(1, 11):
        store.set(count, n)
    stats = dt.profile()["store.set"]
    assert stats.count == 10
    assert 0 < stats.p50 <= stats.p99 <= stats.max


def test_entity_mutations_and_counts_come_through_the_client_channel(dt: DevTools) -> None:
    client = create_client()
    try:
        dt.attach(client, name="entities")
        todos = client.stores.Todo
        first = todos.add_one({"title": "write docs"})
        todos.add_one({"title": "ship"})
        todos.update_one(first["id"], {"done": True}, write_strategy="queue")
        labels = [e.label for e in dt.timeline.entries("entity")]
        assert labels == ["Todo.add", "Todo.add", "Todo.update"]
        # The strategy a single call chose, not only the store's configured one.
        update = dt.timeline.entries("entity")[2]
        assert update.data["strategy"] == "queue"
        # Each written entity before and after: the diff's two sides.
        assert update.before is not None
        assert "done" not in update.before[first["id"]]
        assert update.data["changes"][first["id"]]["done"] is True
        assert update.data["changes"][first["id"]]["title"] == "write docs"
        adds = dt.profile()["entities.add"]  # counted; the channel gives no start time
        assert (adds.count, adds.samples) == (2, 0)
        added = dt.timeline.entries("entity")[0]
        assert {k: added.data[k] for k in ("ids", "strategy")} == {
            "ids": [first["id"]],
            "strategy": "direct",
        }
        assert added.before == {first["id"]: None}  # it did not exist
        assert added.data["changes"][first["id"]]["title"] == "write docs"
        assert dt.state("entities") == {"Todo": 2}
        (view,) = dt.view()["entities"]
        assert view["count"] == 2
        assert view["recent"][0]["title"] == "write docs"  # most recently written first
        dt.detach(client)
        todos.add_one({"title": "unseen"})
        assert len(dt.timeline.entries("entity")) == 3
    finally:
        client.dispose()


def _report_steps(steps: int) -> int:
    job = current_job()
    for n in range(1, steps + 1):
        job.report_progress(n, steps)
    return steps


def test_job_transitions_are_on_the_timeline_and_progress_in_the_jobs_table(dt: DevTools) -> None:
    with ThreadWorkers(max_workers=1) as workers:
        dt.attach(workers, name="workers")
        job = workers.schedule(_report_steps, args=(4,), name="steps")
        assert job.result(timeout=10) == 4
        deadline = time.monotonic() + 5
        while not any(j["status"] == "succeeded" for j in dt.jobs()):
            assert time.monotonic() < deadline
            time.sleep(0.01)
    labels = [e.label for e in dt.timeline.entries("job")]
    assert labels[-1] == "steps succeeded"
    assert "steps running" in labels
    (shown,) = dt.jobs()
    assert (shown["current"], shown["total"], shown["status"]) == (4, 4, "succeeded")
    assert dt.profile()["job.steps"].count == 1


def test_export_import_round_trips_state_and_timeline(dt: DevTools) -> None:
    count = atom(0, name="count")
    store = create_store()
    bus = EventBus()
    dt.attach(store, name="ui")
    dt.attach(bus, name="bus")
    store.set(count, 1)
    bus.emit("hello", {"n": 1}, source="test")
    store.set(count, 2)
    data = json.loads(json.dumps(dt.export()))  # really JSON

    with DevTools() as fresh:
        fresh.import_(data)
        assert fresh.export() == data
        assert fresh.state("ui") == {"count": 2}
        assert [e.label for e in fresh.timeline] == [e.label for e in dt.timeline]

    # Importing into a DevTools with a store of the same name restores that store.
    other = create_store()
    other.set(count, 99)
    with DevTools() as target:
        target.attach(other, name="ui")
        target.import_(data)
        assert other.get(count) == 2
        target.undo("ui")
        assert other.get(count) == 1


def test_import_into_a_fresh_store_restores_named_atoms_and_skips_unknown_names(
    dt: DevTools, caplog: pytest.LogCaptureFixture
) -> None:
    count = atom(0, name="count")
    label = atom("", name="label")
    store = create_store()
    dt.attach(store, name="ui")
    store.set(count, 1)
    store.set(label, "hi")
    data = json.loads(json.dumps(dt.export()))

    fresh = create_store()  # neither atom was ever written here: set_state cannot find them
    with DevTools() as target:
        target.attach(fresh, name="ui", atoms=[count])
        target.import_(data)
        assert fresh.get(count) == 1  # found through attach(atoms=...)
        assert fresh.get(label) == ""  # unknown by name here: left as it is, with a warning
        assert "no atom named 'label'" in caplog.text
        target.undo("ui")
        assert fresh.get(count) == 1


def test_import_rejects_what_is_not_an_export(dt: DevTools) -> None:
    with pytest.raises(ImportDataError, match="not a DevTools export"):
        dt.import_({"hello": 1})
    with pytest.raises(ImportDataError, match="version 9"):
        dt.import_({"format": "atomiton-devtools", "version": 9})


def test_writes_from_many_threads_are_all_recorded(dt: DevTools) -> None:
    count = atom(0, name="count")
    store = create_store()
    dt.attach(store, name="ui")

    def bump() -> None:
        for _ in range(200):
            store.update(count, lambda v: v + 1)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get(count) == 800
    assert len(dt.timeline.entries("atom")) == 800
    assert dt.history("ui")[-1].state == {"count": 800}


def test_undo_and_redo_on_an_entity_client_use_its_write_history(dt: DevTools) -> None:
    client = create_client()
    try:
        dt.attach(client, name="entities")
        todos = client.stores.Todo
        todos.add_one({"title": "keep"})
        todos.add_one({"title": "oops"})
        assert dt.undo("entities") is True
        assert [t["title"] for t in todos.get_all()] == ["keep"]
        assert dt.timeline.entries("entity")[-1].label == "Todo.undo"
        assert dt.redo("entities") is True
        assert dt.state("entities") == {"Todo": 2}
        with pytest.raises(TimeTravelError, match="no atom store"):
            dt.jump_to("entities", 0)
    finally:
        client.dispose()


def test_state_shows_mounted_derived_atoms_without_being_told_about_them() -> None:
    from atomiton.devtools import DevTools
    from atomiton.store import atom, computed, create_store

    store = create_store()
    count = atom(3, name="count")
    tripled = computed(lambda get: get(count) * 3, name="tripled")
    unsubscribe = store.subscribe(tripled, lambda value: None)
    dt = DevTools()
    dt.attach(store, name="ui")
    store.set(count, 4)
    assert dt.state("ui")["tripled"] == 12
    unsubscribe()
    dt.close()


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("history_limit", 1.5, TypeError),
        ("history_limit", True, TypeError),
        ("history_limit", 1, ValueError),
        ("entry_limit", 0, ValueError),
        ("entry_limit", 10.0, TypeError),
        ("event_limit", False, TypeError),
    ],
)
def test_history_sizes_must_be_whole_numbers_in_range(
    option: str, value: object, error: type[Exception]
) -> None:
    with pytest.raises(error, match=option):
        DevTools(**{option: value})  # type: ignore[arg-type]


def test_set_value_writes_through_the_store_so_history_and_subscribers_see_it(
    dt: DevTools,
) -> None:
    store = create_store()
    count = atom(0, name="count")
    doubled = computed(lambda get: get(count) * 2, name="doubled")
    dt.attach(store, name="ui", atoms=[doubled])
    seen: list[int] = []
    store.subscribe(count, seen.append)
    store.set(count, 1)
    dt.set_value("ui", "count", 5)
    assert store.get(count) == 5
    assert seen == [1, 5]
    last = dt.timeline.entries("atom")[-1]
    assert (last.data, last.before) == ({"count": 5}, {"count": 1})
    assert dt.undo("ui")
    assert store.get(count) == 1
    with pytest.raises(EditError, match="'doubled' is derived"):
        dt.set_value("ui", "doubled", 3)
    with pytest.raises(EditError, match="no primitive atom named 'nope'"):
        dt.set_value("ui", "nope", 3)
    with pytest.raises(TimeTravelError, match="no atom store"):
        dt.set_value("other", "count", 3)


def test_pause_stops_recording_and_resume_starts_it_again(dt: DevTools) -> None:
    store = create_store()
    count = atom(0, name="count")
    bus = EventBus()
    dt.attach(store, name="ui")
    dt.attach(bus, name="events")
    assert dt.pause()
    assert not dt.pause()
    assert dt.paused
    store.set(count, 1)
    bus.emit("ignored", {}, source="test")
    assert len(dt.timeline) == 0
    assert dt.events() == []
    assert len(dt.history("ui")) == 1  # only the attach point
    assert store.get(count) == 1  # the app ran on
    assert dt.resume()
    store.set(count, 2)
    assert [e.data for e in dt.timeline.entries()] == [{"count": 2}]
    assert dt.view()["paused"] is False


def test_after_a_jump_an_atom_written_later_shows_its_initial_value(dt: DevTools) -> None:
    store = create_store()
    count = atom(0, name="count")
    title = atom("draft", name="title")
    dt.attach(store, name="ui")
    store.set(count, 1)
    store.set(title, "final")
    dt.jump_to("ui", 1)
    assert dt.state("ui") == {"count": 1, "title": "draft"}
    view = dt.view()["stores"][0]
    assert view["atoms"] == {"count": 1, "title": "draft"}
    assert view["editable"] == ["count", "title"]


def test_a_writable_atom_call_is_recorded_as_the_action_with_its_arguments(dt: DevTools) -> None:
    empty: tuple[dict[str, Any], ...] = ()
    todos = atom(empty, name="todos")

    def add(get: Any, set_: Any, title: str, done: bool = False) -> None:
        set_(todos, (*get(todos), {"title": title, "done": done}))

    add_todo = computed(lambda get: len(get(todos)), write=add, name="add_todo")
    store = create_store()
    dt.attach(store, name="ui")
    store.set(add_todo, "milk", True)
    store.set(todos, ())
    action, plain = dt.timeline.entries("atom")
    assert action.label == 'add_todo("milk", true)'
    assert action.data == {
        "action": "add_todo",
        "args": ["milk", True],
        "changes": {"todos": [{"title": "milk", "done": True}]},
    }
    assert action.before == {"todos": []}
    assert plain.label == "todos"
    assert dt.history("ui")[1].state == {"todos": [{"title": "milk", "done": True}]}
    dt.jump_to("ui", 1)
    assert store.get(todos) == ({"title": "milk", "done": True},)


def test_a_store_hub_is_shown_with_states_refs_errors_and_lifecycle_entries(dt: DevTools) -> None:
    def create(store_id: str, hub: StoreHub) -> dict[str, str]:
        if store_id == "bad":
            raise ValueError("no such board")
        return {"id": store_id}

    boards = define_store("boards", create)

    async def scenario() -> None:
        hub = StoreHub(unused_cache_time=math.inf)
        assert dt.attach(hub) == "hub"
        release = hub.retain(boards, "b1")
        await hub.load(boards, "b1")
        with pytest.raises(ValueError, match="no such board"):
            await hub.load(boards, "bad")
        assert dt.revision > 0  # reading the revision looks at the hub
        (shown,) = dt.view()["hubs"]
        assert shown["name"] == "hub"
        assert [(i["id"], i["state"], i["refs"], i["error"]) for i in shown["instances"]] == [
            ("b1", "running", 1, None),
            ("bad", "error", 0, "ValueError: no such board"),
        ]
        release()
        await hub.dispose()
        _ = dt.revision
        assert dt.view()["hubs"][0]["disposed"] is True

    asyncio.run(scenario())
    labels = [e.label for e in dt.timeline.entries("hub")]
    assert labels == [
        "boards/b1 running",
        "boards/bad error",
        "boards/b1 disposed",  # dispose() forgets every instance
        "boards/bad disposed",
    ]
    assert dt.attached == {"hub": "hub"}
