"""atomiton.devtools: timeline, time travel, profiling and a live web inspector for atomiton apps.

See the package README for the whole public API; the ``atomiton`` command lives here too.

Importing the package loads only this module: each public name comes from its private module on
first access (PEP 562 ``__getattr__``), so ``import atomiton.devtools`` stays under its 10 ms budget
and the web server (starlette, uvicorn) loads only when the inspector starts (issue 19).
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from atomiton.devtools._atom_history import HistoryPoint as HistoryPoint
    from atomiton.devtools._devtools import DevTools as DevTools
    from atomiton.devtools._errors import AttachError as AttachError
    from atomiton.devtools._errors import CommandError as CommandError
    from atomiton.devtools._errors import DevToolsError as DevToolsError
    from atomiton.devtools._errors import EditError as EditError
    from atomiton.devtools._errors import ImportDataError as ImportDataError
    from atomiton.devtools._errors import InspectorError as InspectorError
    from atomiton.devtools._errors import TimeTravelError as TimeTravelError
    from atomiton.devtools._profile import OperationStats as OperationStats
    from atomiton.devtools._server import InspectorServer as InspectorServer
    from atomiton.devtools._timeline import Timeline as Timeline
    from atomiton.devtools._timeline import TimelineEntry as TimelineEntry
    from atomiton.devtools._version import __version__ as __version__

__all__ = [
    "AttachError",
    "CommandError",
    "DevTools",
    "DevToolsError",
    "EditError",
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

# Public name -> private module that defines it.
_HOME = {
    "AttachError": "_errors",
    "CommandError": "_errors",
    "DevTools": "_devtools",
    "DevToolsError": "_errors",
    "EditError": "_errors",
    "HistoryPoint": "_atom_history",
    "ImportDataError": "_errors",
    "InspectorError": "_errors",
    "InspectorServer": "_server",
    "OperationStats": "_profile",
    "TimeTravelError": "_errors",
    "Timeline": "_timeline",
    "TimelineEntry": "_timeline",
    "__version__": "_version",
}


# Hidden from type checkers so a misspelt name is still a type error for users.
if not TYPE_CHECKING:
    from atomiton.platform import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, _HOME, __all__)
