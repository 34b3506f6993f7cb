"""atomiton.store: see the package README for the whole public API."""

from atomiton.store._errors import StoreError
from atomiton.store._version import __version__

__all__ = ["StoreError", "__version__"]
