"""atomiton.devtools: timeline, time travel, profiling and a live web inspector for atomiton apps.

See the package README for the whole public API; the ``atomiton`` command lives here too.
"""

from atomiton.devtools._atom_history import HistoryPoint
from atomiton.devtools._devtools import DevTools
from atomiton.devtools._errors import (
    AttachError,
    CommandError,
    DevToolsError,
    ImportDataError,
    InspectorError,
    TimeTravelError,
)
from atomiton.devtools._profile import OperationStats
from atomiton.devtools._server import InspectorServer
from atomiton.devtools._timeline import Timeline, TimelineEntry
from atomiton.devtools._version import __version__

__all__ = [
    "AttachError",
    "CommandError",
    "DevTools",
    "DevToolsError",
    "HistoryPoint",
    "ImportDataError",
    "InspectorError",
    "InspectorServer",
    "OperationStats",
    "TimeTravelError",
    "Timeline",
    "TimelineEntry",
    "__version__",
]
