"""The atomiton error hierarchy of this package: every error it raises derives from DevToolsError.

::

    DevToolsError
"""

from __future__ import annotations


class DevToolsError(Exception):
    """Base class of every error raised by atomiton.devtools."""
