"""One WireEvent as one byte string, for servers that store a message body (NATS, Redis).

The body is a one-line JSON envelope ``[id, type, source, timestamp, origin, encoding]``, a
newline, then the encoded data as is. JSON escapes every newline inside the strings, so the first
newline always ends the envelope; the data is never re-encoded or escaped. One body per entry
also keeps a Redis reply to one bulk string per event (the driver parses each one in Python).
"""

from __future__ import annotations

import json

from atomiton.events._transport import WireEvent

__all__ = ["decode_body", "encode_body"]

_encoder = json.JSONEncoder(separators=(",", ":"))


def encode_body(event: WireEvent) -> bytes:
    """The body of ``event``: a JSON envelope line, then the data bytes (``seq`` is not kept)."""
    head = _encoder.encode(
        [event.id, event.type, event.source, event.timestamp, event.origin, event.encoding]
    )
    return head.encode() + b"\n" + event.data


def decode_body(body: bytes, seq: int) -> WireEvent:
    """The WireEvent back from :func:`encode_body`'s bytes, with its stream ``seq``.

    Raises:
        ValueError: ``body`` is not such an envelope (also for bad JSON or UTF-8).
    """
    head, newline, data = body.partition(b"\n")
    if not newline:
        raise ValueError("no envelope line")
    fields = json.loads(head)
    if not isinstance(fields, list) or len(fields) != 6:
        raise ValueError("the envelope is not a list of 6 fields")
    id_, type_, source, timestamp, origin, encoding = fields
    return WireEvent(id_, type_, data, source, float(timestamp), origin, encoding, seq)
