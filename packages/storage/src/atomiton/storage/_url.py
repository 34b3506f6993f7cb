"""open_storage: build a backend from a URL (``sqlite:///path``, ``file:///dir``, ``memory://``)."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qsl, unquote

from atomiton.storage._backends import open_registered
from atomiton.storage._client import StorageClient
from atomiton.storage._errors import StorageURLError
from atomiton.storage._file import FileStorage
from atomiton.storage._memory import MemoryStorage
from atomiton.storage._sqlite import SQLiteStorage

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _path(url: str, rest: str) -> str:
    """The path of ``scheme:rest``: ``///abs`` is absolute, ``relative`` (no slashes) relative."""
    if rest.startswith("//"):
        host, slash, path = rest[2:].partition("/")
        if host not in ("", "localhost"):
            raise StorageURLError(f"{url!r}: only local paths are supported, not host {host!r}")
        path = slash + path
    else:
        path = rest
    if not path:
        raise StorageURLError(f"{url!r} names no path")
    return unquote(path)


def _flag(url: str, name: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise StorageURLError(f"{url!r}: {name}={value!r} is not a boolean (use true or false)")


def _query(url: str, query: str) -> dict[str, str]:
    """The query's options; one given twice is refused (which one was meant is unknowable)."""
    params: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in params:
            raise StorageURLError(f"{url!r}: option {name!r} is given more than once")
        params[name] = value
    return params


def _read_only(url: str, value: str) -> bool:
    """``mode=ro`` (read-only) or ``mode=rw`` (the default), as SQLite's own URIs spell it."""
    if value not in ("ro", "rw"):
        raise StorageURLError(f"{url!r}: mode={value!r} is not a mode (use ro or rw)")
    return value == "ro"


def _seconds(url: str, name: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (seconds >= 0 and math.isfinite(seconds)):
        raise StorageURLError(f"{url!r}: {name}={value!r} is not a finite number of seconds >= 0")
    return seconds


def open_storage(url: str, **options: Any) -> StorageClient:
    """Open the backend a URL names.

    - ``memory://``
    - ``sqlite:///absolute/app.db`` or ``sqlite:relative/app.db``; query ``durability=normal|full``,
      ``busy_timeout=<seconds>`` and ``mode=ro|rw``
    - ``file:///absolute/dir`` or ``file:relative/dir``; query ``fsync=true|false`` and
      ``mode=ro|rw``
    - ``postgresql://user:password@host:port/db`` (or ``postgres://``) for ``PostgresStorage`` and
      ``redis://user:password@host:port/0`` (or ``rediss://``) for ``RedisStorage``; their query
      options are listed in the README. These and any other scheme are found through the
      ``atomiton.storage.backends`` entry points, so another package can add one.

    Keyword ``options`` are passed to the backend and win over the query string. ``mode=ro`` is
    the same as ``readonly=True``: the storage never writes (see the backends' ``readonly``).

    Example::

        with open_storage("sqlite:///var/lib/app/app.db?durability=full") as storage:
            storage.write("todos/1", b"{}")

    Raises:
        StorageURLError: Unknown scheme, a host part, a missing path, a bad or repeated query
            option, or ``readonly`` for ``memory://``.
    """
    scheme, colon, rest = url.partition(":")
    if not colon:
        raise StorageURLError(f"{url!r} is not a storage URL (sqlite:///, file:/// or memory://)")
    if scheme.lower() not in ("memory", "sqlite", "file"):
        # postgres://, redis://... and any scheme another package registers (entry points).
        return open_registered(url, scheme.lower(), options)
    rest, _, query = rest.partition("?")
    params = _query(url, query)
    scheme = scheme.lower()
    kwargs: dict[str, Any] = {}
    if scheme == "memory":
        if rest not in ("", "//") or params:
            raise StorageURLError(f"{url!r}: memory:// takes no path or options")
        if options.pop("readonly", False):
            raise StorageURLError(
                f"{url!r} cannot be opened read-only: it starts empty and nothing else can fill it"
            )
        return MemoryStorage(**options)
    if scheme == "sqlite":
        for name, value in params.items():
            if name == "durability":
                kwargs[name] = value
            elif name == "busy_timeout":
                kwargs[name] = _seconds(url, name, value)
            elif name == "mode":
                kwargs["readonly"] = _read_only(url, value)
            else:
                raise StorageURLError(f"{url!r}: unknown sqlite option {name!r}")
        return SQLiteStorage(_path(url, rest), **{**kwargs, **options})
    if scheme == "file":
        for name, value in params.items():
            if name == "mode":
                kwargs["readonly"] = _read_only(url, value)
            elif name == "fsync":
                kwargs[name] = _flag(url, name, value)
            else:
                raise StorageURLError(f"{url!r}: unknown file option {name!r}")
        return FileStorage(_path(url, rest), **{**kwargs, **options})
    raise StorageURLError(f"{url!r}: unknown scheme {scheme!r} (use sqlite, file or memory)")
