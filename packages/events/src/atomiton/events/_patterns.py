"""Dot patterns: ``*`` matches exactly one segment, ``**`` any number of segments (even none).

Matching is only done when a handler list for an event type is (re)built, never per emit, so
clarity wins over speed here: the pattern is split once and matched segment by segment.
"""

from __future__ import annotations

from functools import lru_cache

from atomiton.events._errors import PatternError

ONE = "*"
ANY = "**"


def check_event_type(event_type: object) -> str:
    """Return ``event_type`` if it is a valid concrete type (no wildcards), else raise.

    Raises:
        PatternError: Not a string, empty, has an empty segment, or contains ``*``.
    """
    if not isinstance(event_type, str):
        raise PatternError(f"event type must be a str, got {type(event_type).__name__}")
    if not event_type:
        raise PatternError("event type must not be empty")
    if "*" in event_type:
        raise PatternError(
            f"event type {event_type!r} contains '*': wildcards belong in subscriptions, "
            "emit a concrete type such as 'job.done'"
        )
    if "" in event_type.split("."):
        raise PatternError(f"event type {event_type!r} has an empty segment (check the dots)")
    return event_type


def compile_pattern(pattern: object) -> tuple[str, ...]:
    """Split and validate a subscription pattern; consecutive ``**`` collapse into one.

    Raises:
        PatternError: Not a string, empty, an empty segment, or ``*`` inside a word (``jo*``).
    """
    if not isinstance(pattern, str):
        raise PatternError(f"pattern must be a str, got {type(pattern).__name__}")
    return _split(pattern)


@lru_cache(maxsize=1024)
def _split(pattern: str) -> tuple[str, ...]:
    if not pattern:
        raise PatternError("pattern must not be empty (use '**' to match every event)")
    segments: list[str] = []
    for segment in pattern.split("."):
        if not segment:
            raise PatternError(f"pattern {pattern!r} has an empty segment (check the dots)")
        if "*" in segment and segment not in (ONE, ANY):
            raise PatternError(
                f"pattern {pattern!r}: segment {segment!r} mixes '*' with text; "
                "a wildcard must be a whole segment, '*' or '**'"
            )
        if segment == ANY and segments and segments[-1] == ANY:
            continue
        segments.append(segment)
    return tuple(segments)


def is_exact(pattern: str) -> bool:
    """Whether ``pattern`` has no wildcard, i.e. matches exactly one event type."""
    return "*" not in pattern


def matches(pattern: str, event_type: str) -> bool:
    """Whether the subscription ``pattern`` matches the concrete ``event_type``.

    >>> matches("job.**", "job")
    True
    >>> matches("job.*", "job.a.b")
    False
    """
    return _match(compile_pattern(pattern), 0, tuple(event_type.split(".")), 0)


def _match(pattern: tuple[str, ...], i: int, segments: tuple[str, ...], j: int) -> bool:
    while i < len(pattern):
        head = pattern[i]
        if head == ANY:
            if i == len(pattern) - 1:
                return True
            return any(_match(pattern, i + 1, segments, k) for k in range(j, len(segments) + 1))
        if j == len(segments) or (head != ONE and head != segments[j]):
            return False
        i += 1
        j += 1
    return j == len(segments)
