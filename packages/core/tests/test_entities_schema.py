"""Optional schemas (dataclass, msgspec Struct, pydantic model) validate writes by field."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import msgspec
import pydantic
import pytest

from atomiton.store import EntityClient, SchemaValidationError, create_client


@dataclass
class TodoDC:
    title: str
    priority: int = 0
    tags: list[str] = field(default_factory=list)
    note: str | None = None


class TodoStruct(msgspec.Struct, forbid_unknown_fields=True):
    title: str
    priority: int = 0


class TodoModel(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    title: str
    priority: int = 0


@pytest.fixture
def client() -> Iterator[EntityClient]:
    c = create_client(flush_interval=None)
    yield c
    c.dispose()


@pytest.mark.parametrize("schema", [TodoDC, TodoStruct, TodoModel])
def test_valid_writes_pass_and_stay_plain_dicts(client: EntityClient, schema: type) -> None:
    client.configure("Todo", schema=schema)
    todo = client.stores.Todo.add_one({"title": "a", "priority": 2})
    assert type(todo) is dict
    assert todo["title"] == "a"
    assert todo["priority"] == 2
    assert client.stores.Todo.update_one(todo["id"], {"priority": 3})["version"] == 2


@pytest.mark.parametrize("schema", [TodoDC, TodoStruct, TodoModel])
def test_wrong_type_names_the_failing_field(client: EntityClient, schema: type) -> None:
    client.configure("Todo", schema=schema)
    with pytest.raises(SchemaValidationError, match="priority") as info:
        client.stores.Todo.add_one({"title": "a", "priority": "high"})
    assert info.value.field == "priority"
    assert info.value.store == "Todo"
    assert client.stores.Todo.count() == 0


@pytest.mark.parametrize("schema", [TodoDC, TodoStruct, TodoModel])
def test_missing_required_field_is_named(client: EntityClient, schema: type) -> None:
    client.configure("Todo", schema=schema)
    with pytest.raises(SchemaValidationError) as info:
        client.stores.Todo.add_one({"priority": 1})
    assert info.value.field == "title"


@pytest.mark.parametrize("schema", [TodoDC, TodoStruct, TodoModel])
def test_unknown_field_is_named(client: EntityClient, schema: type) -> None:
    client.configure("Todo", schema=schema)
    with pytest.raises(SchemaValidationError) as info:
        client.stores.Todo.add_one({"title": "a", "colour": "red"})
    assert info.value.field == "colour"


def test_update_validates_the_merged_entity(client: EntityClient) -> None:
    client.configure("Todo", schema=TodoDC)
    todo = client.stores.Todo.add_one({"title": "a"})
    with pytest.raises(SchemaValidationError, match="'title'"):
        client.stores.Todo.update_one(todo["id"], {"title": 5})
    stored = client.stores.Todo.get_one(todo["id"])
    assert stored is not None
    assert stored["title"] == "a"


def test_dataclass_checks_optional_and_list_annotations(client: EntityClient) -> None:
    client.configure("Todo", schema=TodoDC)
    client.stores.Todo.add_one({"title": "a", "note": None, "tags": ["x"]})
    with pytest.raises(SchemaValidationError) as info:
        client.stores.Todo.add_one({"title": "a", "tags": "x"})
    assert info.value.field == "tags"


def test_a_non_schema_type_is_rejected_at_configure_time(client: EntityClient) -> None:
    with pytest.raises(TypeError, match="dataclass, a msgspec Struct or a pydantic model"):
        client.configure("Todo", schema=int)


def test_msgspec_and_pydantic_are_not_imported_unless_used() -> None:
    probe = (
        "import sys; from dataclasses import dataclass\n"
        "from atomiton.store import create_client\n"
        "@dataclass\nclass T:\n    title: str\n"
        "c = create_client(flush_interval=None); c.configure('T', schema=T)\n"
        "c.stores.T.add_one({'title': 'a'})\n"
        "print('msgspec' in sys.modules, 'pydantic' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.split() == ["False", "False"]
