"""atomiton.events: an event bus with dot patterns, async delivery, history, replay and logs.

Importing the package loads only this module: each public name comes from its private module on
first access (PEP 562 ``__getattr__``), so ``import atomiton.events`` stays cheap. See the package
README for the whole public API, with examples.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from atomiton.events._bridge import Bridge as Bridge
    from atomiton.events._bridge import BridgeStats as BridgeStats
    from atomiton.events._bus import EventBus as EventBus
    from atomiton.events._bus import Unsubscribe as Unsubscribe
    from atomiton.events._connect import connect_bus as connect_bus
    from atomiton.events._dispatch import ErrorHandler as ErrorHandler
    from atomiton.events._dispatch import Handler as Handler
    from atomiton.events._domain import EventDomain as EventDomain
    from atomiton.events._errors import BridgeEncodingError as BridgeEncodingError
    from atomiton.events._errors import BridgeError as BridgeError
    from atomiton.events._errors import BridgeOverflowError as BridgeOverflowError
    from atomiton.events._errors import BusConfigError as BusConfigError
    from atomiton.events._errors import EventDataError as EventDataError
    from atomiton.events._errors import EventEncodingError as EventEncodingError
    from atomiton.events._errors import EventLogError as EventLogError
    from atomiton.events._errors import EventsError as EventsError
    from atomiton.events._errors import NoEventLoopError as NoEventLoopError
    from atomiton.events._errors import PatternError as PatternError
    from atomiton.events._errors import StreamOverflowError as StreamOverflowError
    from atomiton.events._errors import SubscriptionError as SubscriptionError
    from atomiton.events._errors import TransportError as TransportError
    from atomiton.events._event import Event as Event
    from atomiton.events._log import EventLog as EventLog
    from atomiton.events._log import JsonLinesFile as JsonLinesFile
    from atomiton.events._log import LogSink as LogSink
    from atomiton.events._patterns import matches as matches
    from atomiton.events._provider import provide as provide
    from atomiton.events._stream import EventStream as EventStream
    from atomiton.events._system import JobEvent as JobEvent
    from atomiton.events._system import JobEventKind as JobEventKind
    from atomiton.events._system import JobStatus as JobStatus
    from atomiton.events._system import StorageOperation as StorageOperation
    from atomiton.events._system import StoreChanged as StoreChanged
    from atomiton.events._system import StoreSynced as StoreSynced
    from atomiton.events._system import SyncedEntity as SyncedEntity
    from atomiton.events._system import SystemEvent as SystemEvent
    from atomiton.events._system import system_event as system_event
    from atomiton.events._transport import ReplayFrom as ReplayFrom
    from atomiton.events._transport import Transport as Transport
    from atomiton.events._transport import TransportFactory as TransportFactory
    from atomiton.events._transport import WireEvent as WireEvent
    from atomiton.events._version import __version__ as __version__

__all__ = [
    "Bridge",
    "BridgeEncodingError",
    "BridgeError",
    "BridgeOverflowError",
    "BridgeStats",
    "BusConfigError",
    "ErrorHandler",
    "Event",
    "EventBus",
    "EventDataError",
    "EventDomain",
    "EventEncodingError",
    "EventLog",
    "EventLogError",
    "EventStream",
    "EventsError",
    "Handler",
    "JobEvent",
    "JobEventKind",
    "JobStatus",
    "JsonLinesFile",
    "LogSink",
    "NoEventLoopError",
    "PatternError",
    "ReplayFrom",
    "StorageOperation",
    "StoreChanged",
    "StoreSynced",
    "StreamOverflowError",
    "SubscriptionError",
    "SyncedEntity",
    "SystemEvent",
    "Transport",
    "TransportError",
    "TransportFactory",
    "Unsubscribe",
    "WireEvent",
    "__version__",
    "connect_bus",
    "matches",
    "provide",
    "system_event",
]

# Public name -> private module that defines it.
_HOME = {
    "Bridge": "_bridge",
    "BridgeEncodingError": "_errors",
    "BridgeError": "_errors",
    "BridgeOverflowError": "_errors",
    "BridgeStats": "_bridge",
    "BusConfigError": "_errors",
    "ErrorHandler": "_dispatch",
    "Event": "_event",
    "EventBus": "_bus",
    "EventDataError": "_errors",
    "EventDomain": "_domain",
    "EventEncodingError": "_errors",
    "EventLog": "_log",
    "EventLogError": "_errors",
    "LogSink": "_log",
    "EventStream": "_stream",
    "EventsError": "_errors",
    "Handler": "_dispatch",
    "JobEvent": "_system",
    "JobEventKind": "_system",
    "JobStatus": "_system",
    "JsonLinesFile": "_log",
    "NoEventLoopError": "_errors",
    "PatternError": "_errors",
    "ReplayFrom": "_transport",
    "StorageOperation": "_system",
    "StoreChanged": "_system",
    "StoreSynced": "_system",
    "StreamOverflowError": "_errors",
    "SubscriptionError": "_errors",
    "SyncedEntity": "_system",
    "SystemEvent": "_system",
    "Transport": "_transport",
    "TransportError": "_errors",
    "TransportFactory": "_transport",
    "Unsubscribe": "_bus",
    "WireEvent": "_transport",
    "__version__": "_version",
    "connect_bus": "_connect",
    "matches": "_patterns",
    "provide": "_provider",
    "system_event": "_system",
}


# Hidden from type checkers so a misspelt name is still a type error for users.
if not TYPE_CHECKING:
    from atomiton.platform import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, _HOME, __all__)
