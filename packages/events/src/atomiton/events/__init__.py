"""atomiton.events: see the package README for the whole public API."""

from atomiton.events._errors import EventsError
from atomiton.events._version import __version__

__all__ = ["EventsError", "__version__"]
