"""The atomiton error hierarchy of this package: every error it raises derives from EventsError.

::

    EventsError
"""

from __future__ import annotations


class EventsError(Exception):
    """Base class of every error raised by atomiton.events."""
