"""Pool defaults from ``atomiton.platform.capabilities()`` (imported lazily: it measures once)."""

from __future__ import annotations

import sys

__all__ = ["cpu_count", "default_start_method"]


def cpu_count() -> int:
    """The CPUs this process may really use (affinity and cgroup quota applied)."""
    from atomiton.platform import capabilities

    return capabilities().cpu_count


def default_start_method() -> str:
    """The start method for worker processes when none is given.

    The platform's default, except that on CPython 3.12+ "fork" becomes "forkserver" where that
    exists: a pool always has its own threads, and from 3.12 forking a multi-threaded process is
    deprecated (it warns, and can deadlock the child on a lock another thread held).
    """
    from atomiton.platform import capabilities

    caps = capabilities()
    method = caps.default_start_method
    if method == "fork" and sys.version_info >= (3, 12) and "forkserver" in caps.start_methods:
        return "forkserver"
    return method
