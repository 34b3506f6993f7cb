"""Event types as server subjects: reversible encoding and superset filters for wildcards.

An event type may hold any character except ``*`` (and no empty segment), but servers reserve
some: a NATS subject token cannot contain whitespace, ``.``, ``*`` or ``>``. Each segment is
therefore percent-encoded to ``[A-Za-z0-9_-]`` plus ``%XX`` (UTF-8 bytes), which is reversible
and keeps the dots as the separators, so ``*`` still means one segment on the server too.

The local wildcards do not all exist on servers (NATS ``>`` needs at least one token, and has no
``**`` in the middle), so :func:`subject_filters` returns server filters that match a *superset*
of the pattern; the bridge checks every received event with ``matches()`` anyway.
"""

from __future__ import annotations

from atomiton.events._patterns import ANY, ONE, compile_pattern

__all__ = ["decode_subject", "encode_segment", "encode_subject", "subject_filters"]

_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def encode_segment(segment: str) -> str:
    """One type segment as a server-safe token: ``"a b"`` -> ``"a%20b"``, ``"%"`` -> ``"%25"``."""
    if segment.isascii() and all(ord(char) in _SAFE for char in segment):
        return segment  # the common case: nothing to escape
    return "".join(
        chr(byte) if byte in _SAFE else f"%{byte:02X}" for byte in segment.encode("utf-8")
    )


def encode_subject(prefix: str, event_type: str) -> str:
    """The server subject of ``event_type`` under ``prefix``, each segment encoded.

    ``encode_subject("atomiton", "order.new")`` is ``"atomiton.order.new"``.
    """
    return ".".join([prefix, *(encode_segment(segment) for segment in event_type.split("."))])


def decode_subject(prefix: str, subject: str) -> str:
    """The event type back from a subject made by :func:`encode_subject` with ``prefix``.

    Raises:
        ValueError: ``subject`` does not start with ``prefix + "."``.
    """
    head = prefix + "."
    if not subject.startswith(head):
        raise ValueError(f"subject {subject!r} is not under {head!r}")
    return _unquote(subject[len(head) :])


def subject_filters(prefix: str, pattern: str) -> list[str]:
    """NATS-style filters (``*`` one token, ``>`` one or more) covering every match of ``pattern``.

    >>> subject_filters("s", "order.*")
    ['s.order.*']
    >>> subject_filters("s", "order.**")
    ['s.order', 's.order.>']
    >>> subject_filters("s", "a.**.b")
    ['s.a.>']

    Raises:
        PatternError: ``pattern`` is malformed.
    """
    segments = compile_pattern(pattern)
    tokens: list[str] = [prefix]
    for index, segment in enumerate(segments):
        if segment == ANY:
            # ``**`` last may match zero segments (``x.**`` matches ``x``); in the middle it is
            # followed by at least one more segment, so ``>`` (one or more) is a superset.
            if index == len(segments) - 1 and len(tokens) > 1:
                return [".".join(tokens), ".".join([*tokens, ">"])]
            return [".".join([*tokens, ">"])]
        tokens.append(ONE if segment == ONE else encode_segment(segment))
    return [".".join(tokens)]


def _unquote(text: str) -> str:
    if "%" not in text:
        return text
    out = bytearray()
    index = 0
    while index < len(text):
        char = text[index]
        if char == "%":
            out += bytes.fromhex(text[index + 1 : index + 3])
            index += 3
        else:
            out += char.encode("utf-8")
            index += 1
    return out.decode("utf-8")
