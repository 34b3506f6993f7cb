r"""Data shown on a terminal is data: no markup, no control sequences.

``printable`` escapes what a terminal would act on instead of showing: the C0 and C1 control
characters (ESC starts colour, cursor and title sequences; ``\x9b`` is a one-byte CSI), DEL, the
zero-width and bidirectional formatting characters (which can make text read differently from what
it is) and lone surrogates. ``plain`` wraps the result in a rich ``Text``, which rich never parses
as markup, so an event type like ``[/]`` is shown as it is instead of raising ``MarkupError``.
"""

from __future__ import annotations

import re

from rich.text import Text

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ud800-\udfff]"
)


_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    r"""Return ``text`` with every character a terminal would act on written as an escape.

    >>> printable("ok\x1b[2Jgone\n")
    'ok\\x1b[2Jgone\\n'
    """
    return _UNSAFE.sub(_escape, text)


def plain(text: str) -> Text:
    """Return ``text`` escaped by ``printable``, as rich ``Text`` (never parsed as markup)."""
    return Text(printable(text))
