"""Derived atoms are shown with their current values beside the primitives, never restored."""

import gc
import json
from collections.abc import Iterator

import pytest

from atomiton.devtools import AttachError, DevTools
from atomiton.events import EventBus
from atomiton.store import Getter, atom, computed, create_store


@pytest.fixture
def dt() -> Iterator[DevTools]:
    with DevTools() as devtools:
        yield devtools


def test_derived_atoms_registered_to_the_store_are_shown_and_marked_derived(
    dt: DevTools,
) -> None:
    count = atom(1, name="count")
    doubled = computed(lambda get: get(count) * 2, name="doubled")
    store = create_store()
    assert store.registry is not None
    store.registry.register(doubled, store)
    dt.attach(store, name="ui")
    store.set(count, 5)
    assert dt.state("ui") == {"count": 5, "doubled": 10}
    view = dt.view()["stores"][0]
    assert view["atoms"] == {"count": 5, "doubled": 10}
    assert view["derived"] == ["doubled"]


def test_derived_atoms_passed_to_attach_are_shown_with_current_values(dt: DevTools) -> None:
    count = atom(0, name="count")
    doubled = computed(lambda get: get(count) * 2, name="doubled")
    untouched = atom("initial", name="untouched")  # never written: shown with its initial value
    store = create_store()
    dt.attach(store, name="ui", atoms=[doubled, untouched])
    assert dt.state("ui") == {"untouched": "initial", "doubled": 0}
    store.set(count, 4)
    assert dt.state("ui") == {"count": 4, "untouched": "initial", "doubled": 8}
    dt.undo("ui")  # a restore recomputes the derived atom; devtools shows the new value
    assert dt.state("ui")["doubled"] == 0
    assert dt.view()["stores"][0]["derived"] == ["doubled"]


def test_history_keeps_primitives_only_so_export_import_restores_by_name(dt: DevTools) -> None:
    count = atom(1, name="count")
    doubled = computed(lambda get: get(count) * 2, name="doubled")
    store = create_store()
    assert store.registry is not None
    store.registry.register(doubled, store)
    store.set(count, 2)
    dt.attach(store, name="ui")
    store.set(count, 3)
    assert [p.state for p in dt.history("ui")] == [{"count": 2}, {"count": 3}]
    data = json.loads(json.dumps(dt.export()))
    dt.import_(data)  # restores by name with set_state, which refuses derived names
    dt.jump_to("ui", 0)
    assert store.get(count) == 2
    assert dt.state("ui") == {"count": 2, "doubled": 4}
    with DevTools() as elsewhere:  # no store attached: the export is shown read-only
        elsewhere.import_(data)
        (view,) = elsewhere.view()["stores"]
        assert (view["atoms"], view["derived"]) == ({"count": 3}, [])


def test_a_derived_read_that_fails_is_shown_not_raised(dt: DevTools) -> None:
    divisor = atom(0, name="divisor")
    ratio = computed(lambda get: 10 // get(divisor), name="ratio")

    async def load(get: Getter) -> int:
        return get(divisor)

    loaded = computed(load, name="loaded")
    store = create_store()
    assert store.registry is not None
    store.registry.register(loaded, store)  # makes store.get_state() itself raise
    dt.attach(store, name="ui", atoms=[ratio])
    state = dt.state("ui")
    assert state["ratio"] == "<ZeroDivisionError: integer division or modulo by zero>"
    assert str(state["loaded"]).startswith("<async")
    store.set(divisor, 5)
    assert dt.state("ui")["ratio"] == 2
    assert dt.history("ui")[-1].state == {"divisor": 5}


def test_atoms_passed_to_attach_are_held_weakly(dt: DevTools) -> None:
    count = atom(0, name="count")
    store = create_store()
    dt.attach(store, name="ui", atoms=[computed(lambda get: get(count) + 1, name="gone")])
    gc.collect()
    assert "gone" not in dt.state("ui")


def test_attach_atoms_rejects_non_atoms_and_non_stores(dt: DevTools) -> None:
    store = create_store()
    with pytest.raises(AttachError, match="atoms= takes atoms, got a str"):
        dt.attach(store, atoms=["count"])  # type: ignore[list-item]
    with pytest.raises(AttachError, match="atoms= is only for atom stores; EventBus is not one"):
        dt.attach(EventBus(), atoms=[atom(0)])
    assert dt.attached == {}
