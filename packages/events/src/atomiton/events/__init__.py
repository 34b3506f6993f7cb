"""atomiton.events: an event bus with dot patterns, async delivery, history, replay and logs.

See the package README for the whole public API, with examples.
"""

from atomiton.events._bus import EventBus, Unsubscribe
from atomiton.events._dispatch import ErrorHandler, Handler
from atomiton.events._domain import EventDomain
from atomiton.events._errors import (
    BusConfigError,
    EventDataError,
    EventEncodingError,
    EventLogError,
    EventsError,
    NoEventLoopError,
    PatternError,
    StreamOverflowError,
    SubscriptionError,
)
from atomiton.events._event import Event
from atomiton.events._log import EventLog, EventSink, JsonLinesFile
from atomiton.events._patterns import matches
from atomiton.events._provider import provide
from atomiton.events._stream import EventStream
from atomiton.events._system import (
    JOB_STATUSES,
    JobEvent,
    JobStatus,
    StorageOperation,
    StoreChanged,
    SystemEvent,
    system_event,
)
from atomiton.events._version import __version__

__all__ = [
    "JOB_STATUSES",
    "BusConfigError",
    "ErrorHandler",
    "Event",
    "EventBus",
    "EventDataError",
    "EventDomain",
    "EventEncodingError",
    "EventLog",
    "EventLogError",
    "EventSink",
    "EventStream",
    "EventsError",
    "Handler",
    "JobEvent",
    "JobStatus",
    "JsonLinesFile",
    "NoEventLoopError",
    "PatternError",
    "StorageOperation",
    "StoreChanged",
    "StreamOverflowError",
    "SubscriptionError",
    "SystemEvent",
    "Unsubscribe",
    "__version__",
    "matches",
    "provide",
    "system_event",
]
