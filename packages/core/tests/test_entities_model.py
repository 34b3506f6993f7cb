"""A store against a dict model: random writes, strategies and batches, then a fresh hydration."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atomiton.storage import MemoryStorage
from atomiton.store import create_client

ids = st.sampled_from(["a", "b", "c", "d"])
strategies = st.sampled_from(["direct", "queue"])
operations = st.one_of(
    st.tuples(st.just("add"), ids, st.integers(0, 9), strategies),
    st.tuples(st.just("update"), ids, st.integers(0, 9), strategies),
    st.tuples(st.just("upsert"), ids, st.integers(0, 9), strategies),
    st.tuples(st.just("delete"), ids, st.booleans(), strategies),
    st.tuples(st.just("flush"), st.just(""), st.just(0), st.just("")),
    st.tuples(st.just("undo"), st.just(""), st.just(0), st.just("")),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.lists(operations, min_size=1, max_size=3), max_size=12))
def test_store_matches_a_dict_model_and_a_new_client_sees_the_same(
    steps: list[list[tuple[str, str, Any, str]]],
) -> None:
    storage = MemoryStorage()
    client = create_client(storage, flush_interval=None)
    todos = client.stores.Todo
    # model: id -> (n, deleted)
    model: dict[str, tuple[int, bool]] = {}
    history: list[dict[str, tuple[int, bool]]] = []
    for group in steps:
        before = dict(model)
        grouped = len(group) > 1
        changed = False
        touched: set[str] = set()

        def apply(
            op: str, entity_id: str, value: Any, strategy: str, touched: set[str] = touched
        ) -> None:
            nonlocal changed
            was_changed, changed = changed, False
            live = entity_id in model and not model[entity_id][1]
            if op == "add" and entity_id not in model:
                todos.add_one({"id": entity_id, "n": value}, write_strategy=strategy)
                model[entity_id] = (value, False)
                changed = True
            elif op == "update" and live:
                todos.update_one(entity_id, {"n": value}, write_strategy=strategy)
                model[entity_id] = (value, False)
                changed = True
            elif op == "upsert":
                todos.upsert_one({"id": entity_id, "n": value}, write_strategy=strategy)
                model[entity_id] = (value, False)
                changed = True
            elif op == "delete" and entity_id in model:
                if value:
                    assert todos.delete_one(entity_id, force=True, write_strategy=strategy)
                    del model[entity_id]
                    changed = True
                elif live:
                    assert todos.delete_one(entity_id, write_strategy=strategy)
                    model[entity_id] = (model[entity_id][0], True)
                    changed = True
            elif op == "flush":
                client.flush()
            if changed:
                touched.add(entity_id)
            changed = changed or was_changed

        if grouped and not any(op == "undo" for op, *_ in group):
            with client.batch():
                for step in group:
                    apply(*step)
        else:
            for op, entity_id, value, strategy in group:
                if op == "undo":
                    if history:
                        assert client.history.undo()
                        model.clear()
                        model.update(history.pop())
                    continue
                before_step = dict(model)
                changed = False
                apply(op, entity_id, value, strategy)
                if changed:
                    history.append(before_step)
            continue
        # A batch is one undo step, unless its net effect is nothing (entities it added and
        # removed again): then nothing is recorded.
        if changed and any(i in before or i in model for i in touched):
            history.append(before)

    def snapshot(entities: list[dict[str, Any]]) -> dict[str, tuple[int, bool]]:
        return {e["id"]: (e["n"], e["deleted"]) for e in entities}

    assert snapshot(todos.get_all(include_deleted=True)) == model
    fresh = create_client(storage, flush_interval=None)
    assert snapshot(fresh.stores.Todo.get_all(include_deleted=True)) == model
    fresh.dispose()
    client.dispose()
    assert storage.list("atomiton/store/outbox/") == []
    final = create_client(storage, flush_interval=None)
    assert snapshot(final.stores.Todo.get_all(include_deleted=True)) == model
    final.dispose()
