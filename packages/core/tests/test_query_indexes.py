"""Indexes answer equality, in and range queries without scanning, and never change answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atomiton.store import EntityClient, create_client
from atomiton.store._entities.query import compile_where


@pytest.fixture
def client() -> Iterator[EntityClient]:
    c = create_client(flush_interval=None)
    yield c
    c.dispose()


def seed(client: EntityClient, indexed: bool) -> None:
    if indexed:
        client.configure("Todo", indexes=["priority", "tags", "title"])
    client.stores.Todo.add_many(
        [
            {"id": f"t{i:03}", "priority": i % 5, "title": f"task {i % 7}", "tags": [f"g{i % 3}"]}
            for i in range(100)
        ]
    )


def test_explain_reports_an_index_plan_for_indexed_equality(client: EntityClient) -> None:
    seed(client, indexed=True)
    page = client.stores.Todo.find_many({"priority": 3}, explain=True)
    assert page.total == 20
    assert page.plan is not None
    assert page.plan.strategy == "index"
    assert page.plan.indexes == ("priority",)
    assert page.plan.candidates == 20
    assert page.plan.matched == 20


def test_explain_reports_a_scan_without_a_usable_index(client: EntityClient) -> None:
    seed(client, indexed=True)
    page = client.stores.Todo.find_many({"priority": {"ne": 3}}, explain=True)
    assert page.plan is not None
    assert page.plan.strategy == "scan"
    assert page.plan.candidates == 100
    assert client.stores.Todo.find_many({"priority": 3}).plan is None  # only when asked


@pytest.mark.parametrize(
    ("where", "candidates"),
    [
        ({"priority": {"in": [1, 2]}}, 40),
        ({"priority": {"gte": 3}}, 40),
        ({"priority": {"gt": 1, "lte": 2}}, 20),
        ({"title": {"starts_with": "task 1"}}, 15),
        ({"tags": {"contains": "g1"}}, 33),
        ({"$or": [{"priority": 0}, {"priority": 4}]}, 40),
        ({"priority": 1, "title": "task 1"}, 3),
    ],
)
def test_in_range_prefix_contains_and_or_use_indexes(
    client: EntityClient, where: dict[str, Any], candidates: int
) -> None:
    seed(client, indexed=True)
    page = client.stores.Todo.find_many(where, explain=True)
    assert page.plan is not None
    assert page.plan.strategy == "index"
    assert page.plan.candidates == candidates
    assert page.total == len(
        [e for e in client.stores.Todo.get_all() if compile_where(where)(e)]  # type: ignore[misc]
    )


def test_indexes_follow_updates_and_deletes_incrementally(client: EntityClient) -> None:
    seed(client, indexed=True)
    todos = client.stores.Todo
    todos.update_one("t003", {"priority": 42})
    todos.delete_one("t008", force=True)
    todos.delete_one("t013")
    assert [e["id"] for e in todos.find_many({"priority": 42}).data] == ["t003"]
    found = [e["id"] for e in todos.find_many({"priority": 3}).data]
    assert "t003" not in found
    assert "t008" not in found
    assert "t013" not in found
    assert len(found) == 17
    index = client._handles[f"{client.id}:Todo"].indexes["priority"]
    assert 42 in index.numbers
    todos.delete_one("t003", force=True)
    assert 42 not in index.numbers
    assert 42 not in index.values


def test_configuring_indexes_after_data_builds_them(client: EntityClient) -> None:
    seed(client, indexed=False)
    client.configure("Todo", indexes=["priority"])
    page = client.stores.Todo.find_many({"priority": 2}, explain=True)
    assert page.plan is not None
    assert page.plan.strategy == "index"
    assert page.total == 20


def test_index_results_keep_insertion_order(client: EntityClient) -> None:
    seed(client, indexed=True)
    found = [e["id"] for e in client.stores.Todo.find_many({"priority": 0}).data]
    assert found == sorted(found)


values = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.floats(-3, 3, allow_nan=False),
    st.sampled_from(["a", "ab", "b", "ba", ""]),
    st.lists(st.sampled_from(["a", "b", 1]), max_size=3),
    st.booleans(),
)
operands = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.floats(-3, 3, allow_nan=False),
    st.booleans(),
    st.sampled_from(["a", "b", "ab", ""]),
)
OPS = [
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "is_null",
    "in",
    "contains",
    "starts_with",
    "ends_with",
]


def _valid(op: str, operand: Any) -> bool:
    if op in ("gt", "gte", "lt", "lte"):
        return operand is not None
    if op in ("starts_with", "ends_with"):
        return isinstance(operand, str)
    return True


conditions = st.one_of(
    operands,
    st.dictionaries(st.sampled_from(OPS), operands, min_size=1, max_size=3).map(
        lambda d: (
            {
                k: ([v, 2] if k == "in" else (v is None) if k == "is_null" else v)
                for k, v in d.items()
                if _valid(k, v)
            }
            or {"eq": 1}
        )
    ),
)
clauses = st.recursive(
    st.dictionaries(st.sampled_from(["f", "g"]), conditions, min_size=1, max_size=2),
    lambda inner: st.one_of(
        st.builds(lambda cs: {"$or": cs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda cs: {"$and": cs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"$not": c}, inner),
    ),
    max_leaves=4,
)


def _oracle_test(op: str, operand: Any, value: Any) -> bool:
    """The documented meaning of one operator, written independently of ``_query.py``."""
    if op == "eq":
        return bool(value == operand)
    if op == "ne":
        return bool(value != operand)
    if op == "is_null":
        return (value is None) is operand
    if op == "in":
        return any(value == option for option in operand)
    if op in ("starts_with", "ends_with"):
        return isinstance(value, str) and (
            value.startswith(operand) if op == "starts_with" else value.endswith(operand)
        )
    if op == "contains":
        if isinstance(value, str):
            return isinstance(operand, str) and operand in value
        return isinstance(value, list) and operand in value
    if value is None:
        return False
    try:
        return bool(
            {
                "gt": lambda: value > operand,
                "gte": lambda: value >= operand,
                "lt": lambda: value < operand,
                "lte": lambda: value <= operand,
            }[op]()
        )
    except TypeError:  # values Python cannot order do not match
        return False


def oracle(where: dict[str, Any], entity: dict[str, Any]) -> bool:
    """Whether ``entity`` matches ``where``, per the README's query language."""
    for key, value in where.items():
        if key == "$and":
            ok = all(oracle(c, entity) for c in value)
        elif key == "$or":
            ok = any(oracle(c, entity) for c in value)
        elif key == "$not":
            ok = not oracle(value, entity)
        elif isinstance(value, dict):
            ok = all(_oracle_test(op, arg, entity.get(key)) for op, arg in value.items())
        else:
            ok = bool(entity.get(key) == value)
        if not ok:
            return False
    return True


def oracle_sort(rows: list[dict[str, Any]], name: str, desc: bool) -> list[dict[str, Any]]:
    """Numbers < strings < anything else (by repr), None last either way, ties stable."""

    def rank(value: Any) -> tuple[int, Any]:
        if isinstance(value, int | float):
            return (0, value)
        return (1, value) if isinstance(value, str) else (2, repr(value))

    present = sorted(
        (r for r in rows if r.get(name) is not None), key=lambda r: rank(r[name]), reverse=desc
    )
    return present + [r for r in rows if r.get(name) is None]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.fixed_dictionaries({"f": values, "g": values}), max_size=25),
    where=clauses,
    order=st.sampled_from([None, "f", ("g", "desc")]),
)
def test_indexed_query_equals_scan_equals_list_comprehension(
    rows: list[dict[str, Any]], where: dict[str, Any], order: Any
) -> None:
    plain = create_client(flush_interval=None)
    indexed = create_client(flush_interval=None)
    indexed.configure("T", indexes=["f", "g"])
    try:
        plain.stores.T.add_many(rows)
        indexed.stores.T.add_many(rows)
        expected = [e for e in plain.stores.T.get_all() if oracle(where, e)]
        if order is not None:
            name, direction = order if isinstance(order, tuple) else (order, "asc")
            expected = oracle_sort(expected, name, direction == "desc")

        def strip(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{k: e.get(k) for k in ("f", "g")} for e in entities]

        assert strip(plain.stores.T.find_many(where, order_by=order).data) == strip(expected)
        assert strip(indexed.stores.T.find_many(where, order_by=order).data) == strip(expected)
    finally:
        plain.dispose()
        indexed.dispose()
