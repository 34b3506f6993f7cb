"""URL schemes of other backends, found through the ``atomiton.storage.backends`` entry points.

A package adds a scheme without touching this one by declaring, in its ``pyproject.toml``::

    [project.entry-points."atomiton.storage.backends"]
    s3 = "my_package._s3:open_s3"

The object named is called as ``opener(url, **options)`` and returns a ``StorageClient``. This
package registers ``postgres``, ``postgresql``, ``redis`` and ``rediss`` the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from atomiton.storage._client import StorageClient
from atomiton.storage._errors import StorageError, StorageURLError
from atomiton.storage._server_url import redact_url

#: The entry-point group that maps a URL scheme to a function opening that URL.
GROUP = "atomiton.storage.backends"

Opener = Callable[..., StorageClient]


def entry_points(**selection: str) -> Any:
    """``importlib.metadata.entry_points``, imported on first call.

    importlib.metadata costs ~17 ms to import (issue 19), and the built-in schemes (memory,
    sqlite, file) never need it: only a scheme looked up here does.
    """
    from importlib.metadata import entry_points as read

    return read(**selection)


#: Longest TTL the server backends store as given (about 31.7 million years); a longer one is
#: stored as this, so that "now + ttl" never overflows the server's number types.
MAX_SERVER_TTL = 1e15


def find_opener(scheme: str, shown_url: str) -> Opener | None:
    """Return the opener registered for ``scheme``, or ``None`` when no package registers it.

    Raises:
        StorageURLError: Two installed distributions register the same scheme differently, or
            the registered object cannot be loaded.
    """
    found = {point.value: point for point in entry_points(group=GROUP, name=scheme)}
    if not found:
        return None
    if len(found) > 1:
        raise StorageURLError(
            f"{shown_url!r}: scheme {scheme!r} is registered by several backends "
            f"({', '.join(sorted(found))}); uninstall all but one"
        )
    (point,) = found.values()
    try:
        opener: Opener = point.load()
    except Exception as exc:
        raise StorageURLError(
            f"{shown_url!r}: the backend for {scheme!r} ({point.value}) cannot be loaded: {exc}"
        ) from exc
    return opener


def registered_schemes() -> list[str]:
    """Return every scheme an installed package registers, sorted."""
    return sorted({point.name for point in entry_points(group=GROUP)})


def import_driver(module: str, extra: str, owner: str) -> ModuleType:
    """Import a server driver that an optional extra installs.

    Raises:
        StorageError: The driver is missing; the message names the extra that installs it.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise StorageError(
            f"{owner} needs the {module!r} driver, which is not installed: "
            f"pip install 'atomiton-storage[{extra}]'"
        ) from exc


def open_registered(url: str, scheme: str, options: dict[str, Any]) -> StorageClient:
    """Open ``url`` with the backend registered for ``scheme`` (``open_storage``'s fallback).

    Raises:
        StorageURLError: No installed package registers ``scheme`` (the message lists the
            schemes that are; the URL is quoted without its password).
    """
    shown = redact_url(url)
    opener = find_opener(scheme, shown)
    if opener is None:
        known = ", ".join(["file", "memory", "sqlite", *registered_schemes()])
        raise StorageURLError(f"{shown!r}: unknown scheme {scheme!r} (use {known})")
    return opener(url, **options)
