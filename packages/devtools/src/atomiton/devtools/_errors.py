"""The atomiton error hierarchy of this package: every error it raises derives from DevToolsError.

::

    DevToolsError
    ├── AttachError          the object cannot be attached (unknown kind, name taken, not attached)
    ├── TimeTravelError      undo / redo / jump_to asked for a position that does not exist
    ├── ImportDataError      import_() was given data that is not an export of this package
    ├── EditError            set_value named no writable primitive atom, or the store refused it
    ├── InspectorError       the web inspector cannot start (unsafe host without a token, port)
    └── CommandError         a command of the ``atomiton`` CLI failed for a reason the user can fix
"""

from __future__ import annotations


class DevToolsError(Exception):
    """Base class of every error raised by atomiton.devtools."""


class AttachError(DevToolsError):
    """An object could not be attached to (or detached from) a DevTools instance."""


class TimeTravelError(DevToolsError):
    """A time-travel request named a store or a position that does not exist."""


class ImportDataError(DevToolsError):
    """``DevTools.import_`` was given data that is not a DevTools export."""


class EditError(DevToolsError):
    """``DevTools.set_value`` named no primitive atom it can write, or the write failed."""


class InspectorError(DevToolsError):
    """The web inspector could not be started as asked."""


class CommandError(DevToolsError):
    """A CLI command failed for a reason the user can fix; the message says how."""
