"""Dot patterns: ``*`` is one segment, ``**`` is any number of segments including none."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atomiton.events import EventBus, PatternError, matches

TABLE = [
    # pattern, event type, matches?
    ("job.done", "job.done", True),
    ("job.done", "job.failed", False),
    ("job.done", "job.done.extra", False),
    ("job.done", "job", False),
    ("job.*", "job.done", True),
    ("job.*", "job", False),
    ("job.*", "job.a.b", False),
    ("*.done", "job.done", True),
    ("*.done", "done", False),
    ("*", "job", True),
    ("*", "job.done", False),
    ("job.**", "job", True),
    ("job.**", "job.done", True),
    ("job.**", "job.a.b", True),
    ("job.**", "jobs.done", False),
    ("job.**", "other.job", False),
    ("**", "job", True),
    ("**", "a.b.c.d", True),
    ("**.done", "done", True),
    ("**.done", "a.b.done", True),
    ("**.done", "a.b.done.not", False),
    ("a.**.z", "a.z", True),
    ("a.**.z", "a.b.c.z", True),
    ("a.**.z", "a.b.c", False),
    ("a.*.**", "a", False),
    ("a.*.**", "a.b", True),
    ("a.*.**", "a.b.c.d", True),
    ("a.**.**.b", "a.b", True),
    ("*.*", "a.b", True),
    ("*.*", "a.b.c", False),
    ("execution.job.*", "execution.job.started", True),
]


@pytest.mark.parametrize(("pattern", "event_type", "expected"), TABLE)
def test_pattern_table(pattern: str, event_type: str, expected: bool) -> None:
    assert matches(pattern, event_type) is expected


@pytest.mark.parametrize(("pattern", "event_type", "expected"), TABLE)
def test_bus_delivery_follows_the_pattern_table(
    pattern: str, event_type: str, expected: bool
) -> None:
    bus = EventBus(history_limit=0)
    seen: list[str] = []
    bus.on(pattern, lambda event: seen.append(event.type))
    bus.emit(event_type)
    assert seen == ([event_type] if expected else [])


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", "must not be empty"),
        ("job..done", "empty segment"),
        (".job", "empty segment"),
        ("job.", "empty segment"),
        ("jo*", "wildcard must be a whole segment"),
        ("job.***", "wildcard must be a whole segment"),
    ],
)
def test_malformed_pattern_is_refused_with_the_reason(pattern: str, message: str) -> None:
    bus = EventBus()
    with pytest.raises(PatternError, match=message):
        bus.on(pattern, print)


def test_non_string_pattern_is_refused() -> None:
    with pytest.raises(PatternError, match="must be a str, got int"):
        EventBus().on(7, print)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("event_type", "message"),
    [
        ("", "must not be empty"),
        ("job.*", "wildcards belong in subscriptions"),
        ("job.**", "wildcards belong in subscriptions"),
        ("job..done", "empty segment"),
    ],
)
def test_emit_refuses_a_type_that_is_not_concrete(event_type: str, message: str) -> None:
    bus = EventBus()
    with pytest.raises(PatternError, match=message):
        bus.emit(event_type)
    assert bus.history() == []


def test_pattern_error_is_also_a_value_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        EventBus().emit("")


def reference_match(pattern: str, event_type: str) -> bool:
    """An independent model: each segment becomes a regex over '.segment' chunks."""
    parts = {"*": r"\.[^.]+", "**": r"(?:\.[^.]+)*"}
    regex = "".join(parts.get(seg, r"\." + re.escape(seg)) for seg in pattern.split("."))
    return re.fullmatch(regex, "." + event_type) is not None


@given(
    pattern=st.lists(st.sampled_from(["a", "b", "*", "**"]), min_size=1, max_size=6),
    event_type=st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=6),
)
def test_matcher_agrees_with_a_regex_model(pattern: list[str], event_type: list[str]) -> None:
    pattern_text, type_text = ".".join(pattern), ".".join(event_type)
    assert matches(pattern_text, type_text) is reference_match(pattern_text, type_text)


@given(
    pattern=st.lists(st.sampled_from(["a", "b", "*", "**"]), min_size=1, max_size=14),
    event_type=st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=24),
)
def test_matcher_agrees_with_the_regex_model_on_long_patterns_and_types(
    pattern: list[str], event_type: list[str]
) -> None:
    pattern_text, type_text = ".".join(pattern), ".".join(event_type)
    assert matches(pattern_text, type_text) is reference_match(pattern_text, type_text)


@pytest.mark.timeout(30)
def test_many_double_stars_against_a_long_type_do_not_blow_up() -> None:
    # Backtracking took 42 s here: every '**' tried every split of the remaining segments.
    pattern = ".".join(["**.x"] * 11)
    miss = ".".join(["x"] * 30 + ["y"])
    assert not matches(pattern, miss)
    assert matches(pattern, ".".join(["x"] * 31))
    assert not matches(".".join(["**.a"] * 60), ".".join(["a"] * 59 + ["b"]))
    bus = EventBus(history_limit=0)
    seen: list[str] = []
    bus.on(pattern, lambda event: seen.append(event.type))
    bus.emit(miss)
    bus.emit("x.x.x.x.x.x.x.x.x.x.x")
    assert seen == ["x.x.x.x.x.x.x.x.x.x.x"]
