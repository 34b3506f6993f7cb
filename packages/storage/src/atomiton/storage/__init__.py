"""atomiton.storage: see the package README for the whole public API."""

from atomiton.storage._errors import StorageError
from atomiton.storage._version import __version__

__all__ = ["StorageError", "__version__"]
