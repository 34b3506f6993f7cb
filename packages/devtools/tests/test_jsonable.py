"""Values shown in the inspector and exports become JSON-safe without ever raising."""

import dataclasses
import enum
import json
import math

from atomiton.devtools._jsonable import jsonable


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int


def test_plain_json_values_pass_through() -> None:
    value = {"a": [1, 2.5, "s", None, True]}
    assert jsonable(value) == value


def test_structures_enums_and_dataclasses_are_converted() -> None:
    value = {"p": Point(1, 2), "c": Colour.RED, "t": (1, 2), "s": {3, 1}, 4: b"\x00"}
    assert jsonable(value) == {
        "p": {"x": 1, "y": 2},
        "c": "red",
        "t": [1, 2],
        "s": [1, 3],
        "4": "b'\\x00'",
    }


def test_unknown_objects_and_non_finite_floats_become_text() -> None:
    result = jsonable([object(), math.inf])
    assert result[0].startswith("<object object")
    assert result[1] == "inf"
    json.dumps(result)


def test_deeply_nested_values_are_cut_instead_of_recursing() -> None:
    value: list[object] = []
    for _ in range(50):
        value = [value]
    json.dumps(jsonable(value))
