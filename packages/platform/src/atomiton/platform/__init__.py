"""atomiton.platform: see the package README for the whole public API."""

from atomiton.platform._errors import PlatformError
from atomiton.platform._version import __version__

__all__ = ["PlatformError", "__version__"]
