"""The query language of find_many: operators, combinators, ordering, paging, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from atomiton.store import EntityClient, EntityStore, QueryError, create_client


@pytest.fixture
def client() -> Iterator[EntityClient]:
    c = create_client(flush_interval=None)
    yield c
    c.dispose()


@pytest.fixture
def todos(client: EntityClient) -> EntityStore:
    store = client.stores.Todo
    store.add_many(
        [
            {"id": "a", "title": "alpha", "priority": 1, "done": False, "tags": ["x", "y"]},
            {"id": "b", "title": "beta", "priority": 3, "done": True, "tags": ["y"]},
            {"id": "c", "title": "gamma", "priority": 2, "done": False, "tags": []},
            {"id": "d", "title": "delta", "priority": None, "done": False},
            {"id": "e", "title": "epsilon", "priority": 3, "done": False, "note": "has x"},
        ]
    )
    return store


def ids(store: EntityStore, where: Any = None, **kwargs: Any) -> list[str]:
    return [e["id"] for e in store.find_many(where, **kwargs).data]


def test_no_where_returns_everything_in_insertion_order(todos: EntityStore) -> None:
    page = todos.find_many()
    assert [e["id"] for e in page.data] == ["a", "b", "c", "d", "e"]
    assert page.total == 5


def test_top_level_keys_and_together_and_bare_values_mean_equality(todos: EntityStore) -> None:
    assert ids(todos, {"done": False, "priority": 3}) == ["e"]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"eq": 3}, ["b", "e"]),
        ({"ne": 3}, ["a", "c", "d"]),
        ({"in": [1, 2]}, ["a", "c"]),
        ({"gt": 1}, ["b", "c", "e"]),
        ({"gte": 2}, ["b", "c", "e"]),
        ({"lt": 3}, ["a", "c"]),
        ({"lte": 1}, ["a"]),
        ({"is_null": True}, ["d"]),
        ({"is_null": False}, ["a", "b", "c", "e"]),
        ({"eq": None}, ["d"]),
    ],
)
def test_each_operator_on_a_number_field(
    todos: EntityStore, condition: dict[str, Any], expected: list[str]
) -> None:
    assert ids(todos, {"priority": condition}) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"title": {"starts_with": "e"}}, ["e"]),
        ({"title": {"ends_with": "ta"}}, ["b", "d"]),
        ({"title": {"contains": "lph"}}, ["a"]),
        ({"tags": {"contains": "y"}}, ["a", "b"]),
        ({"note": {"contains": "x"}}, ["e"]),
        ({"note": {"is_null": True}}, ["a", "b", "c", "d"]),
    ],
)
def test_string_and_list_operators(
    todos: EntityStore, where: dict[str, Any], expected: list[str]
) -> None:
    assert ids(todos, where) == expected


def test_operators_on_one_field_combine_instead_of_eq_winning(todos: EntityStore) -> None:
    # Atoma's eq silently ignored the other operators; here every operator must hold.
    assert ids(todos, {"priority": {"eq": 3, "ne": 3}}) == []
    assert ids(todos, {"priority": {"gte": 2, "lt": 3}}) == ["c"]
    assert ids(todos, {"priority": {"eq": 3, "in": [3, 4], "gt": 2}}) == ["b", "e"]


def test_and_or_not_combine_clauses(todos: EntityStore) -> None:
    assert ids(todos, {"$or": [{"priority": 1}, {"title": "delta"}]}) == ["a", "d"]
    assert ids(todos, {"$and": [{"done": False}, {"priority": {"gte": 2}}]}) == ["c", "e"]
    assert ids(todos, {"$not": {"done": False}}) == ["b"]
    nested = {
        "$or": [
            {"$and": [{"done": False}, {"priority": 3}]},
            {"$not": {"title": {"contains": "a"}}},
        ]
    }
    assert ids(todos, nested) == ["e"]
    assert ids(todos, {"done": False, "$or": [{"priority": 1}, {"priority": 2}]}) == ["a", "c"]


def test_empty_combinators_are_defined_and_an_ambiguous_or_is_refused(
    client: EntityClient, todos: EntityStore
) -> None:
    everything = ids(todos, None)
    assert ids(todos, {"$or": []}) == []  # an empty disjunction: nothing
    assert ids(todos, {"$or": [{}]}) == everything  # one clause that matches everything
    assert ids(todos, {"$and": []}) == everything  # an empty conjunction: everything
    assert ids(todos, {"$and": {}}) == everything
    with pytest.raises(QueryError, match=r"\$or: \{\} is ambiguous"):
        todos.find_many({"$or": {}})
    client.configure("Todo", indexes=["priority"])  # the indexed planner agrees
    assert ids(todos, {"$or": []}) == []
    with pytest.raises(QueryError, match=r"\$or: \{\} is ambiguous"):
        todos.find_many({"priority": 1, "$or": {}})


@pytest.mark.parametrize(
    ("paging", "named"),
    [
        ({"limit": True}, "limit"),
        ({"limit": False}, "limit"),
        ({"limit": 1.5}, "limit"),
        ({"offset": True}, "offset"),
        ({"offset": 0.5}, "offset"),
    ],
)
def test_paging_refuses_bools_and_non_integers(
    todos: EntityStore, paging: dict[str, Any], named: str
) -> None:
    with pytest.raises(QueryError, match=f"{named} must be a non-negative int"):
        todos.find_many(**paging)


def test_comparisons_across_types_do_not_match_rather_than_raise(todos: EntityStore) -> None:
    assert ids(todos, {"title": {"gt": 1}}) == []
    assert ids(todos, {"priority": {"starts_with": "a"}}) == []


def test_order_by_puts_none_last_in_both_directions(todos: EntityStore) -> None:
    assert ids(todos, order_by=[("priority", "asc"), ("title", "asc")]) == ["a", "c", "b", "e", "d"]
    assert ids(todos, order_by=[("priority", "desc"), ("title", "asc")]) == [
        "b",
        "e",
        "c",
        "a",
        "d",
    ]
    assert ids(todos, order_by="title") == ["a", "b", "d", "e", "c"]
    assert ids(todos, order_by=("title", "desc")) == ["c", "e", "d", "b", "a"]


def test_limit_and_offset_page_while_total_counts_all_matches(todos: EntityStore) -> None:
    page = todos.find_many({"done": False}, order_by="title", limit=2, offset=1)
    assert [e["id"] for e in page.data] == ["d", "e"]
    assert page.total == 4
    assert (page.offset, page.limit) == (1, 2)


def test_soft_deleted_entities_are_excluded_unless_asked(todos: EntityStore) -> None:
    todos.delete_one("a")
    assert "a" not in ids(todos)
    assert ids(todos, {"priority": 1}, include_deleted=True) == ["a"]
    assert ids(todos, {"deleted": True}, include_deleted=True) == ["a"]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"priority": {"greater": 1}}, "unknown operator 'greater' on field 'priority'"),
        ({"$xor": []}, "unknown combinator '\\$xor'"),
        ({"priority": {}}, "empty operator dict"),
        ({"priority": {"in": 3}}, "needs a list"),
        ({"title": {"starts_with": 1}}, "needs a str"),
        ({"priority": {"is_null": "yes"}}, "needs True or False"),
        ({"$or": "x"}, "\\$or needs"),
        ({"$not": [1]}, "\\$not needs"),
    ],
)
def test_malformed_queries_raise_a_clear_error(
    todos: EntityStore, where: dict[str, Any], message: str
) -> None:
    with pytest.raises(QueryError, match=message):
        todos.find_many(where)


def test_bad_order_by_and_paging_are_clear_errors(todos: EntityStore) -> None:
    with pytest.raises(QueryError, match="order_by"):
        todos.find_many(order_by=[("title", "up")])
    with pytest.raises(ValueError, match="limit"):
        todos.find_many(limit=-1)
