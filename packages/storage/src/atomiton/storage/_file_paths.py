"""The reversible key-to-path mapping FileStorage uses.

Every valid key maps to one relative path and back, exactly (the old Atomiton mapping turned
``/`` into ``_`` and so corrupted every key holding a ``_``). Each segment is escaped into a
portable lowercase file name:

- ``a``-``z``, ``0``-``9``, ``-``, ``_`` and ``.`` are kept;
- an uppercase letter becomes ``^`` + its lowercase form (so ``Todo`` and ``todo`` never collide
  on case-insensitive file systems);
- every other UTF-8 byte becomes ``%`` + two lowercase hex digits (``/`` can never appear).

A segment that is not the last becomes a directory whose name ends in ``@``; the last segment
is the file. An escaped segment longer than ``CHUNK`` characters is split into directories whose
names end in ``+`` (continuations), so no name exceeds the file system's 255-byte limit. A
component that would be exactly ``.`` or ``..`` has its dots escaped. ``~`` never appears in an
escaped name, so FileStorage's own temporary and bookkeeping files (which contain ``~``) can
never collide with a key.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from atomiton.storage._keys import is_valid_key

CHUNK = 200
_SAFE = "abcdefghijklmnopqrstuvwxyz0123456789-_."
_BYTE_ESCAPE = [chr(b) if chr(b) in _SAFE else f"%{b:02x}" for b in range(256)]
for _upper in range(ord("A"), ord("Z") + 1):
    _BYTE_ESCAPE[_upper] = "^" + chr(_upper).lower()
_ASCII_TABLE = {code: _BYTE_ESCAPE[code] for code in range(128)}
_CARET = re.compile(r"\^([a-z])")
_CANONICAL = re.compile(r"(?:[a-z0-9\-_.]|\^[a-z]|%[0-9a-f]{2})+")


def _escape_tokens(segment: str) -> list[str]:
    if segment.isascii():
        return [_ASCII_TABLE[ord(char)] for char in segment]
    return [_BYTE_ESCAPE[byte] for byte in segment.encode("utf-8")]


def _guard_dots(name: str) -> str:
    return name.replace(".", "%2e") if name in (".", "..") else name


def segment_components(segment: str, *, is_last: bool) -> list[str]:
    """Return the path components one key segment maps to."""
    if segment.isascii() and len(segment) <= CHUNK // 2:
        escaped = segment.translate(_ASCII_TABLE)
        if len(escaped) <= CHUNK:
            return [escaped if is_last else escaped + "@"]
    tokens = _escape_tokens(segment)
    chunks: list[str] = []
    current: list[str] = []
    length = 0
    for token in tokens:
        if length + len(token) > CHUNK:
            chunks.append("".join(current))
            current, length = [], 0
        current.append(token)
        length += len(token)
    chunks.append("".join(current))
    components = [_guard_dots(chunk) + "+" for chunk in chunks[:-1]]
    components.append(_guard_dots(chunks[-1]) if is_last else chunks[-1] + "@")
    return components


def key_to_components(key: str) -> list[str]:
    """Map a valid key to its relative path components (directories, then the file name)."""
    segments = key.split("/")
    last = len(segments) - 1
    components: list[str] = []
    for index, segment in enumerate(segments):
        components.extend(segment_components(segment, is_last=index == last))
    return components


def _unescape(name: str) -> bytes:
    return unquote_to_bytes(_CARET.sub(lambda match: match.group(1).upper(), name))


def components_to_key(components: list[str]) -> str | None:
    """Map path components back to the key, or ``None`` if they are not FileStorage's own."""
    segments: list[str] = []
    pending = b""
    for index, component in enumerate(components):
        is_last = index == len(components) - 1
        if component.endswith("+") and not is_last:
            body, kind = component[:-1], "+"
        elif component.endswith("@") and not is_last:
            body, kind = component[:-1], "@"
        elif is_last:
            body, kind = component, ""
        else:
            return None
        if not _CANONICAL.fullmatch(body):
            return None
        pending += _unescape(body)
        if kind != "+":
            try:
                segments.append(pending.decode("utf-8"))
            except UnicodeDecodeError:
                return None
            pending = b""
    if pending:
        return None
    key = "/".join(segments)
    # Only names this module would have produced count (foreign files are ignored).
    return key if key_to_components_safe(key) == components else None


def key_to_components_safe(key: str) -> list[str] | None:
    """Like ``key_to_components`` but ``None`` for a string that is not a valid key."""
    return key_to_components(key) if is_valid_key(key) else None


_TEMP_SUFFIX = re.compile(r"~[0-9]+-[0-9]+\.tmp")


def is_own_rename(entry: object) -> bool:
    """Tell whether a ``write_many`` journal entry is one FileStorage itself could have written.

    An entry is ``[directory components..., file name, staged temporary name]``. The journal is
    read back from disk, so it is checked like any untrusted input: the components must be
    exactly the mapping of a valid key and the temporary name exactly what ``stage`` makes for
    that file, so no ``..``, ``/`` or foreign name can lead a roll-forward out of the root.
    """
    if not isinstance(entry, list) or len(entry) < 2:
        return False
    if not all(isinstance(part, str) for part in entry):
        return False
    *components, temp = entry
    if components_to_key(components) is None:
        return False
    name = components[-1]
    return temp.startswith(name) and bool(_TEMP_SUFFIX.fullmatch(temp, len(name)))
