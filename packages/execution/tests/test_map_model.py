"""map() against the builtin map, for any input and chunk size (a property-based model)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from atomiton.execution import ProcessWorkers, ThreadWorkers

from .execution_jobs import add


def test_map_matches_the_builtin_map_for_any_items_and_chunksize() -> None:
    with ThreadWorkers(2) as threads, ProcessWorkers(2) as processes:

        @settings(max_examples=40, deadline=None)
        @given(
            left=st.lists(st.integers(), max_size=60),
            right=st.lists(st.integers(), max_size=60),
            chunksize=st.one_of(st.none(), st.integers(min_value=1, max_value=25)),
        )
        def check(left: list[int], right: list[int], chunksize: int | None) -> None:
            expected = list(map(add, left, right))
            assert list(threads.map(add, left, right, chunksize=chunksize)) == expected
            assert list(processes.map(add, left, right, chunksize=chunksize)) == expected
            assert list(processes.map(abs, left, chunksize=chunksize)) == list(map(abs, left))

        check()
