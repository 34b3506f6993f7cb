"""The atomiton error hierarchy of this package: every error it raises derives from PlatformError.

::

    PlatformError
"""

from __future__ import annotations


class PlatformError(Exception):
    """Base class of every error raised by atomiton.platform."""
