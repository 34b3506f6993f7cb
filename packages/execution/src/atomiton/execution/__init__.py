"""atomiton.execution: see the package README for the whole public API."""

from atomiton.execution._errors import ExecutionError
from atomiton.execution._version import __version__

__all__ = ["ExecutionError", "__version__"]
