"""open_storage: build a backend from a URL (``sqlite:///path``, ``file:///dir``, ``memory://``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote

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


def open_storage(url: str, **options: Any) -> StorageClient:
    """Open the backend a URL names.

    - ``memory://``
    - ``sqlite:///absolute/app.db`` or ``sqlite:relative/app.db``; query ``durability=normal|full``
      and ``busy_timeout=<seconds>``
    - ``file:///absolute/dir`` or ``file:relative/dir``; query ``fsync=true|false``

    Keyword ``options`` are passed to the backend and win over the query string.

    Example::

        with open_storage("sqlite:///var/lib/app/app.db?durability=full") as storage:
            storage.write("todos/1", b"{}")

    Raises:
        StorageURLError: Unknown scheme, a host part, a missing path or a bad query value.
    """
    scheme, colon, rest = url.partition(":")
    if not colon:
        raise StorageURLError(f"{url!r} is not a storage URL (sqlite:///, file:/// or memory://)")
    rest, _, query = rest.partition("?")
    params = dict(parse_qsl(query, keep_blank_values=True))
    scheme = scheme.lower()
    kwargs: dict[str, Any] = {}
    if scheme == "memory":
        if rest not in ("", "//") or params:
            raise StorageURLError(f"{url!r}: memory:// takes no path or options")
        return MemoryStorage(**options)
    if scheme == "sqlite":
        for name, value in params.items():
            if name == "durability":
                kwargs[name] = value
            elif name == "busy_timeout":
                try:
                    kwargs[name] = float(value)
                except ValueError:
                    raise StorageURLError(
                        f"{url!r}: busy_timeout={value!r} is not seconds"
                    ) from None
            else:
                raise StorageURLError(f"{url!r}: unknown sqlite option {name!r}")
        return SQLiteStorage(_path(url, rest), **{**kwargs, **options})
    if scheme == "file":
        for name, value in params.items():
            if name != "fsync":
                raise StorageURLError(f"{url!r}: unknown file option {name!r}")
            kwargs[name] = _flag(url, name, value)
        return FileStorage(_path(url, rest), **{**kwargs, **options})
    raise StorageURLError(f"{url!r}: unknown scheme {scheme!r} (use sqlite, file or memory)")
