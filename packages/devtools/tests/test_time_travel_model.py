"""Time travel against a model: a list of states and a cursor, as an editor's undo stack.

The history keeps only the newest ``history_limit`` states; positions stay absolute.
"""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from atomiton.devtools import DevTools, TimeTravelError
from atomiton.store import atom, create_store

operations = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["a", "b", "both"]), st.integers(0, 4)),
        st.tuples(st.sampled_from(["undo", "redo"]), st.just(0)),
        st.tuples(st.just("jump"), st.integers(0, 40)),
    ),
    max_size=40,
)


@pytest.mark.parametrize("history_limit", [3, 1000])
@settings(max_examples=120, deadline=None)
@given(ops=operations)
@example(ops=[("a", 0), ("a", 1), ("a", 0), ("jump", 1), ("a", 1)])  # a write after dropped points
def test_undo_redo_jump_match_a_cursor_over_a_list_of_states(
    history_limit: int, ops: list[tuple[str, int]]
) -> None:
    a, b = atom(0, name="a"), atom(0, name="b")
    store = create_store()
    with store.batch():  # both atoms written once, so the attach state names them
        store.set(a, -1)
        store.set(b, -1)
    states, cursor = [(-1, -1)], 0
    first = 0  # the oldest kept position: dropped points never come back
    with DevTools(history_limit=history_limit) as dt:
        dt.attach(store, name="ui")
        for op, value in ops:
            if op in ("a", "b", "both"):
                old = states[cursor]
                new = (
                    value if op != "b" else old[0],
                    value if op != "a" else old[1],
                )
                with store.batch():
                    store.set(a, new[0])
                    store.set(b, new[1])
                if new != old:  # an unchanged write is not a history point
                    states = [*states[: cursor + 1], new]
                    cursor += 1
            elif op == "undo":
                assert dt.undo("ui") is (cursor > first)
                cursor = max(first, cursor - 1)
            elif op == "redo":
                assert dt.redo("ui") is (cursor < len(states) - 1)
                cursor = min(len(states) - 1, cursor + 1)
            elif first <= value < len(states):
                assert dt.jump_to("ui", value) is (value != cursor)
                cursor = value
            else:
                with pytest.raises(TimeTravelError, match="is not kept"):
                    dt.jump_to("ui", value)
            assert (store.get(a), store.get(b)) == states[cursor]
            first = max(first, len(states) - history_limit)
            kept = dt.history("ui")
            assert [p.position for p in kept] == list(range(first, len(states)))
            assert [(p.state["a"], p.state["b"]) for p in kept] == states[first:]
