"""Time travel against a model: a list of states and a cursor, as an editor's undo stack."""

from hypothesis import given, settings
from hypothesis import strategies as st

from atomiton.devtools import DevTools
from atomiton.store import atom, create_store

operations = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.integers(0, 5)),
        st.tuples(st.just("undo"), st.just(0)),
        st.tuples(st.just("redo"), st.just(0)),
        st.tuples(st.just("jump"), st.integers(0, 30)),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(operations)
def test_undo_redo_jump_match_a_cursor_over_a_list_of_states(ops: list[tuple[str, int]]) -> None:
    count = atom(0, name="count")
    store = create_store()
    states, cursor = [0], 0
    with DevTools() as dt:
        dt.attach(store, name="ui")
        for op, value in ops:
            if op == "set":
                store.set(count, value)
                if value != states[cursor]:  # an equal value is not a write
                    states = [*states[: cursor + 1], value]
                    cursor += 1
            elif op == "undo":
                assert dt.undo("ui") is (cursor > 0)
                cursor = max(0, cursor - 1)
            elif op == "redo":
                assert dt.redo("ui") is (cursor < len(states) - 1)
                cursor = min(len(states) - 1, cursor + 1)
            elif value < len(states):
                assert dt.jump_to("ui", value) is (value != cursor)
                cursor = value
            assert store.get(count) == states[cursor]
            assert [p.state.get("count", 0) for p in dt.history("ui")] == states
