"""Reading a NATS transport's stored events: one short-lived consumer per ``history`` call.

The consumer delivers to a private inbox the events matching ``subject`` that exist when it is
made (its ``num_pending``), from a sequence or a time on, and is deleted after; nothing else of
the transport is involved, so a history read never disturbs live delivery.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from atomiton.events._envelope import decode_body
from atomiton.events._nats_connection import TIME_SKEW, utc
from atomiton.events._transport import WireEvent

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js.client import JetStreamContext

__all__ = ["read_stored"]


async def read_stored(
    nc: Client,
    js: JetStreamContext,
    stream: str,
    subject: str,
    *,
    since_seq: int | None,
    since_time: float | None,
    timeout: float,
) -> list[WireEvent]:
    """The stored events of ``stream`` under ``subject``, oldest first, from a seq or time on.

    Events that do not decode are skipped here (the live consumer reports them).
    """
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    config = ConsumerConfig(
        ack_policy=AckPolicy.NONE,
        filter_subject=subject,
        mem_storage=True,
        inactive_threshold=max(timeout, 5.0),
        deliver_policy=DeliverPolicy.ALL,
    )
    if since_seq is not None:
        config.deliver_policy = DeliverPolicy.BY_START_SEQUENCE
        config.opt_start_seq = max(since_seq, 1)
    elif since_time is not None:
        config.deliver_policy = DeliverPolicy.BY_START_TIME
        config.opt_start_time = utc(since_time - TIME_SKEW)
    inbox = nc.new_inbox()
    config.deliver_subject = inbox
    subscription = await nc.subscribe(inbox, pending_msgs_limit=-1, pending_bytes_limit=-1)
    events: list[WireEvent] = []
    try:
        info = await js._jsm.add_consumer(stream, config=config)
        try:
            for _ in range(info.num_pending or 0):
                msg = await subscription.next_msg(timeout=timeout)
                seq = msg.metadata.sequence.stream
                try:
                    events.append(decode_body(msg.data, seq))
                except (ValueError, TypeError):  # not an event (reported when delivered)
                    continue
        finally:
            with contextlib.suppress(Exception):
                await js.delete_consumer(stream, info.name)
    finally:
        await subscription.unsubscribe()
    if since_time is not None:
        first = next((i for i, e in enumerate(events) if e.timestamp >= since_time), None)
        events = [] if first is None else events[first:]
    return events
