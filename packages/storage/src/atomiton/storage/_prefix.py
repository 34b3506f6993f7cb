"""The key range of a prefix, for backends that list with an ordered index (PostgreSQL, Redis)."""

from __future__ import annotations

from atomiton.storage._keys import _FORBIDDEN_CHAR

_MAX_CHAR = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)


def prefix_range(prefix: str) -> tuple[str, str | None] | None:
    """Return ``(low, high)``: the keys starting with ``prefix`` are exactly ``low <= k < high``.

    In code-point order (UTF-8 byte order, PostgreSQL's ``"C"`` collation, Redis's lex order).
    ``high`` is ``None`` when no upper bound exists (a prefix of U+10FFFF characters); ``low`` is
    ``""`` for the empty prefix. ``None`` when no valid key can start with ``prefix`` (it holds a
    control character or a lone surrogate), so a backend can answer ``[]`` without asking.

    Raises:
        TypeError: ``prefix`` is not a str.
    """
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
    if _FORBIDDEN_CHAR.search(prefix) is not None:
        return None
    stem = prefix.rstrip(chr(_MAX_CHAR))
    if not stem:
        return prefix, None
    following = ord(stem[-1]) + 1
    if following in _SURROGATES:
        following = _SURROGATES.stop
    return prefix, stem[:-1] + chr(following)
