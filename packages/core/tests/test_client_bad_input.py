"""Bad arguments to the entity client fail at once with an error naming the wrong thing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from atomiton.store import EntityClient, EntityStoreError, QueryError, create_client


@pytest.fixture
def client() -> Iterator[EntityClient]:
    c = create_client(flush_interval=None)
    yield c
    c.dispose()


@dataclass
class Todo:
    title: str


def test_storage_without_the_storage_protocol_is_rejected_naming_it() -> None:
    with pytest.raises(TypeError, match=r"storage must satisfy StorageLike.*'app\.db'"):
        create_client(storage="app.db")  # type: ignore[arg-type]


def test_events_without_emit_are_rejected_naming_them() -> None:
    with pytest.raises(TypeError, match="events must have emit"):
        create_client(events=object())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"flush_interval": 0}, "flush_interval"),
        ({"flush_interval": "1"}, "flush_interval"),
        ({"flush_interval": float("nan")}, "flush_interval"),
        ({"history_limit": -1}, "history_limit"),
        ({"history_limit": True}, "history_limit"),
        ({"history_limit": 2.5}, "history_limit"),
        ({"hydrate": "now"}, "hydrate"),
    ],
)
def test_bad_client_options_name_the_option(options: dict[str, Any], named: str) -> None:
    with pytest.raises(EntityStoreError, match=named):
        create_client(**options)


def test_a_bare_string_of_indexes_is_an_error_not_one_index_per_character(
    client: EntityClient,
) -> None:
    with pytest.raises(EntityStoreError, match="indexes takes a list of field names"):
        client.configure("Todo", indexes="priority")  # type: ignore[arg-type]


def test_a_bad_index_name_fails_at_configure_not_at_first_use(client: EntityClient) -> None:
    with pytest.raises(EntityStoreError, match="index names are field names, got 3"):
        client.configure("Todo", indexes=["priority", 3])  # type: ignore[list-item]
    assert client.stores.Todo.add_one({"priority": 1})["priority"] == 1


@pytest.mark.parametrize("schema", [5, Todo("an instance, not the class")])
def test_a_schema_that_is_not_a_class_is_rejected_at_configure(
    client: EntityClient, schema: Any
) -> None:
    with pytest.raises(TypeError, match="schema must be a class"):
        client.configure("Todo", schema=schema)


def test_order_by_that_is_not_a_field_or_list_is_a_query_error(client: EntityClient) -> None:
    with pytest.raises(QueryError, match=r"order_by is 'field'.*got 5"):
        client.stores.Todo.find_many(order_by=5)  # type: ignore[arg-type]
