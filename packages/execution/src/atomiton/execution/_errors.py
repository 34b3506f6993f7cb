"""The atomiton error hierarchy of this package: every error it raises derives from ExecutionError.

::

    ExecutionError
"""

from __future__ import annotations


class ExecutionError(Exception):
    """Base class of every error raised by atomiton.execution."""
