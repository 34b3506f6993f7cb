"""Event types as server subjects: the encoding is reversible and the filters never miss a match."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atomiton.events import matches
from atomiton.events._subjects import (
    decode_subject,
    encode_segment,
    encode_subject,
    subject_filters,
)

segment_text = st.text(
    alphabet=st.characters(exclude_characters=".*", exclude_categories=["Cs"]), min_size=1
)
event_types = st.lists(segment_text, min_size=1, max_size=5).map(".".join)
patterns = st.lists(
    st.one_of(st.just("*"), st.just("**"), st.sampled_from(["a", "b", "a b", "%", ">"])),
    min_size=1,
    max_size=5,
).map(".".join)
small_types = st.lists(st.sampled_from(["a", "b", "a b", "%", ">"]), min_size=1, max_size=6).map(
    ".".join
)


def nats_matches(subject_filter: str, subject: str) -> bool:
    """NATS semantics: ``*`` one token, ``>`` (last) one or more tokens."""
    wanted, tokens = subject_filter.split("."), subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > index
        if index >= len(tokens) or token not in ("*", tokens[index]):
            return False
    return len(tokens) == len(wanted)


@given(event_types)
def test_encoding_is_reversible_and_server_safe(event_type: str) -> None:
    subject = encode_subject("atomiton", event_type)
    assert decode_subject("atomiton", subject) == event_type
    assert subject.count(".") == event_type.count(".") + 1  # dots stay the separators
    assert subject.isascii()
    assert not set(subject) & set(" \t\r\n*>")


@given(patterns, small_types)
def test_filters_cover_every_type_the_pattern_matches(pattern: str, event_type: str) -> None:
    subject = encode_subject("s", event_type)
    covered = any(nats_matches(f, subject) for f in subject_filters("s", pattern))
    if matches(pattern, event_type):
        assert covered


@pytest.mark.parametrize(
    ("pattern", "filters"),
    [
        ("order.created", ["s.order.created"]),
        ("order.*", ["s.order.*"]),
        ("order.**", ["s.order", "s.order.>"]),
        ("**", ["s.>"]),
        ("a.**.b", ["s.a.>"]),
        ("x y.*", ["s.x%20y.*"]),
    ],
)
def test_filters_are_as_narrow_as_the_server_allows(pattern: str, filters: list[str]) -> None:
    assert subject_filters("s", pattern) == filters


def test_a_percent_sign_cannot_be_confused_with_an_escape() -> None:
    assert encode_segment("%41") != encode_segment("A")
    assert decode_subject("s", encode_subject("s", "%41.A")) == "%41.A"
    with pytest.raises(ValueError, match="not under"):
        decode_subject("other", "s.a")
