"""atomiton.devtools: see the package README for the whole public API."""

from atomiton.devtools._errors import DevToolsError
from atomiton.devtools._version import __version__

__all__ = ["DevToolsError", "__version__"]
