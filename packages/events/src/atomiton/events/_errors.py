"""The atomiton error hierarchy of this package: every error it raises derives from EventsError.

::

    EventsError
    ├── PatternError          an event type or subscription pattern is malformed (also ValueError)
    ├── BusConfigError        a bus, stream or log was given an impossible setting (also ValueError)
    ├── SubscriptionError     a handler is not callable or a priority is not an int (also TypeError)
    ├── EventEncodingError    a logged bus was given data that JSON cannot encode (also TypeError)
    ├── EventLogError         a log line cannot be read back while replaying
    ├── EventDataError        an event's data does not fit the typed system event asked for
    ├── StreamOverflowError   a stream with overflow="raise" fell behind its bounded buffer
    ├── NoEventLoopError      an async handler was emitted to with no event loop to run it on
    └── BridgeError           the bridge between processes (connect_bus) has a problem
        ├── TransportError        a transport cannot reach or use its server (retried, reported)
        ├── BridgeOverflowError   the bridge's bounded outbox was full: events were not sent
        └── BridgeEncodingError   event data cannot be encoded for the wire (also TypeError)
"""

from __future__ import annotations


class EventsError(Exception):
    """Base class of every error raised by atomiton.events."""


class PatternError(EventsError, ValueError):
    """An event type or a subscription pattern is malformed; the message names it and why."""


class BusConfigError(EventsError, ValueError):
    """A bus, stream or log was configured with an impossible value; the message names it."""


class SubscriptionError(EventsError, TypeError):
    """A subscription was given a handler that is not callable or a priority that is not an int."""


class EventEncodingError(EventsError, TypeError):
    """Raised by ``emit`` on a logged bus when the event's data cannot be written as JSON."""


class EventLogError(EventsError):
    """A record in an event log cannot be decoded; the message names the line."""


class EventDataError(EventsError, ValueError):
    """An event's data does not have the fields of the typed system event it was read as."""


class StreamOverflowError(EventsError):
    """A stream created with ``overflow="raise"`` received more events than its buffer holds."""


class NoEventLoopError(EventsError):
    """An async handler was due to run but it is bound to no loop and none is running."""


class BridgeError(EventsError):
    """A problem of the bridge between processes; reported through the bus's ``on_error``."""


class TransportError(BridgeError):
    """A transport cannot reach or use its server; the message names it and what happens next."""


class BridgeOverflowError(BridgeError):
    """The bridge's bounded outbox was full, so events were dropped instead of sent."""


class BridgeEncodingError(BridgeError, TypeError):
    """Event data cannot be encoded for the wire; delivered locally, not sent. Names the type."""
