"""Dot patterns: ``*`` matches exactly one segment, ``**`` any number of segments (even none).

Matching is only done when a handler list for an event type is (re)built, never per emit. The
pattern is split once (cached) and run as a set of live positions, so matching takes at most
O(len(pattern) x len(type)) steps for any pattern; the previous backtracking matcher was
exponential in the number of ``**`` segments.
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
    """Whether ``pattern[i:]`` matches ``segments[j:]``, in O(len(pattern) x len(segments)).

    A pattern without ``**`` is compared segment by segment. Otherwise the pattern is run as a
    set of positions (an NFA, like a glob matcher): after each segment, the positions still
    alive are those whose prefix matched so far; a ``**`` position stays alive on any segment
    and also lets the next position start without consuming one. No backtracking, so no
    pattern can make matching exponential (``"**.x"`` repeated against a long type used to).
    """
    size = len(pattern)
    if ANY not in pattern:
        if size - i != len(segments) - j:
            return False
        return all(p in (ONE, s) for p, s in zip(pattern[i:], segments[j:], strict=True))
    alive = _skip_any(pattern, {i})
    for segment in segments[j:]:
        following: set[int] = set()
        for position in alive:
            if position == size:
                continue
            head = pattern[position]
            if head == ANY:
                following.add(position)
            elif head in (ONE, segment):
                following.add(position + 1)
        if not following:
            return False
        alive = _skip_any(pattern, following)
    return size in alive


def _skip_any(pattern: tuple[str, ...], positions: set[int]) -> set[int]:
    """Add, for each position at a ``**``, the position after it (``**`` may match nothing)."""
    for position in sorted(positions):
        while position < len(pattern) and pattern[position] == ANY:
            position += 1
            positions.add(position)
    return positions
