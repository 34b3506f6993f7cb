"""Dot-separated event-type patterns, the same language as the event bus: ``*`` and ``**``."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=256)
def _segments(pattern: str) -> tuple[str, ...]:
    return tuple(pattern.split(".")) if pattern else ()


def matches(pattern: str, event_type: str) -> bool:
    """Tell whether ``event_type`` matches ``pattern``.

    ``*`` matches exactly one segment, ``**`` any number of segments (none included); an empty
    pattern matches everything, like ``**``.

    >>> matches("job.**", "job"), matches("job.*", "job.done"), matches("job.*", "job.a.b")
    (True, True, False)
    """
    if not pattern or pattern == "**":
        return True
    want = _segments(pattern)
    have = event_type.split(".")
    # Iterative glob match with backtracking over the last "**" (no recursion, linear-ish).
    w = h = 0
    star_w = star_h = -1
    while h < len(have):
        if w < len(want) and want[w] == "**":
            star_w, star_h = w, h
            w += 1
        elif w < len(want) and want[w] in ("*", have[h]):
            w += 1
            h += 1
        elif star_w >= 0:
            star_h += 1
            h = star_h
            w = star_w + 1
        else:
            return False
    while w < len(want) and want[w] == "**":
        w += 1
    return w == len(want)
