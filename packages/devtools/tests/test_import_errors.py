"""``DevTools.import_`` of a malformed export: ``ImportDataError`` naming the part, no change."""

from typing import Any

import pytest

from atomiton.devtools import DevTools, ImportDataError
from atomiton.store import atom, create_store


def _point(position: Any = 0, **changes: Any) -> dict[str, Any]:
    return {"position": position, "label": "n", "timestamp": 1.0, "state": {"n": 1}, **changes}


def _entry(**changes: Any) -> dict[str, Any]:
    entry = {"seq": 0, "kind": "atom", "source": "ui", "label": "n", "data": {}, "timestamp": 1.0}
    return {**entry, "position": None, **changes}


CASES: list[tuple[str, dict[str, Any], str]] = [
    ("stores a list", {"stores": []}, "the export's 'stores' must be an object, got list"),
    ("store a string", {"stores": {"ui": "x"}}, "store 'ui' must be an object, got str"),
    (
        "history not a list",
        {"stores": {"ui": {"position": 0, "history": 5}}},
        "store 'ui': 'history' must be a list, got int",
    ),
    (
        "state a list",
        {"stores": {"ui": {"position": 0, "history": [_point(state=[1])]}}},
        "store 'ui': history[0].state must be an object, got list",
    ),
    (
        "position infinite",
        {"stores": {"ui": {"position": float("inf"), "history": [_point()]}}},
        "store 'ui': 'position' must be an integer, got float inf",
    ),
    (
        "position true",
        {"stores": {"ui": {"position": 0, "history": [_point(True)]}}},
        "history[0].position must be an integer, got bool True",
    ),
    (
        "position a string",
        {"stores": {"ui": {"position": 0, "history": [_point("0")]}}},
        "history[0].position must be an integer, got str '0'",
    ),
    (
        "timestamp NaN",
        {"stores": {"ui": {"position": 0, "history": [_point(timestamp=float("nan"))]}}},
        "history[0].timestamp must be a finite number, got nan",
    ),
    (
        "positions out of order",
        {"stores": {"ui": {"position": 1, "history": [_point(2), _point(1)]}}},
        "history[1].position 1 does not follow 2",
    ),
    (
        "position outside",
        {"stores": {"ui": {"position": 7, "history": [_point(0), _point(1)]}}},
        "store 'ui': position 7 is outside its history (0..1)",
    ),
    ("store name", {"stores": {1: {}}}, "'stores' has a key that is not a string: 1"),
    ("events an int", {"events": 5}, "the export's 'events' must be a list, got int"),
    ("event a list", {"events": [[1, 2]]}, "the export's 'events'[0] must be an object, got list"),
    ("jobs an object", {"jobs": {"a": 1}}, "the export's 'jobs' must be a list, got dict"),
    ("job without id", {"jobs": [{"name": "x"}]}, "jobs[0].id must be a string or an integer"),
    ("entities a string", {"entities": {"c": "xy"}}, "entities 'c' must be an object, got str"),
    (
        "entity count true",
        {"entities": {"c": {"Task": True}}},
        "entities 'c': the count of 'Task' must be an integer",
    ),
    ("timeline an int", {"timeline": 3}, "the export's 'timeline' must be a list, got int"),
    ("timeline entry", {"timeline": [5]}, "timeline[0] must be an object, got int"),
    ("entry kind", {"timeline": [_entry(kind="bogus")]}, "timeline[0].kind 'bogus' is not one of"),
    ("entry seq", {"timeline": [_entry(seq="a")]}, "timeline[0].seq must be an integer"),
    ("entry data", {"timeline": [_entry(data=[1])]}, "timeline[0].data must be an object"),
    (
        "entry seq order",
        {"timeline": [_entry(seq=3), _entry(seq=3)]},
        "timeline[1].seq 3 must be >= 0 and follow the previous entry's",
    ),
    ("version true", {"version": True}, "DevTools export version True is not supported"),
]


@pytest.mark.parametrize(("case", "extra", "message"), CASES, ids=[c[0] for c in CASES])
def test_a_malformed_export_names_what_is_wrong_and_changes_nothing(
    case: str, extra: dict[str, Any], message: str
) -> None:
    n = atom(0, name="n")
    store = create_store()
    with DevTools() as dt:
        dt.attach(store, name="ui")
        store.set(n, 5)
        before = dt.export()
        # A valid timeline and events come first: a late error must not leave them half-loaded.
        good = {"timeline": [_entry(seq=100)], "events": [{"type": "x"}]}
        export = {"format": "atomiton-devtools", "version": 1, **good, **extra}
        with pytest.raises(ImportDataError) as caught:
            dt.import_(export)
        assert message in str(caught.value)
        assert dt.export() == before
        assert store.get(n) == 5
