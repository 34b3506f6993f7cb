"""The atomiton error hierarchy of this package: every error it raises derives from StorageError.

::

    StorageError
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every error raised by atomiton.storage."""
