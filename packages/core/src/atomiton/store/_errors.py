"""The atomiton error hierarchy of this package: every error it raises derives from StoreError.

::

    StoreError
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error raised by atomiton.store."""
