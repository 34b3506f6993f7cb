"""LockFile: one descriptor per thread of a lock file, so flock excludes threads too; InUse.

``flock`` locks belong to an open file description: two threads sharing one descriptor would
share the lock. Each thread therefore opens the file itself; descriptors of finished threads are
closed when the next thread opens one.

``InUse`` counts calls in flight so that ``close()`` releases the root descriptor only after they
end: a descriptor closed under a running call would make it fail with EBADF, or, once the number
is reused by another ``open``, resolve its paths inside some other directory.
"""

from __future__ import annotations

import os
import stat
import threading
import weakref
from collections.abc import Callable

from atomiton.storage._errors import UnsafePathError
from atomiton.storage._file_io import UNSAFE_ERRNOS


class LockFile:
    """Hand each thread its own descriptor of ``name`` inside ``dir_fd``.

    With ``create=False`` (read-only storage) the file is opened read-only and never created:
    ``fd()`` returns ``None`` while it does not exist (``flock`` works on read-only descriptors).
    """

    def __init__(self, dir_fd: int, name: str, *, where: object, create: bool = True) -> None:
        self._dir_fd = dir_fd
        self._name = name
        self._where = where
        self._create = create
        self._local = threading.local()
        self._lock = threading.Lock()
        self._fds: list[tuple[weakref.ref[threading.Thread], int]] = []

    def fd(self) -> int | None:
        """Return this thread's descriptor, opening the file (mode 0600) on first use.

        Raises:
            UnsafePathError: The lock file is a symlink or not a regular file.
        """
        fd: int | None = getattr(self._local, "fd", None)
        if fd is not None:
            return fd
        flags = os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
        flags |= os.O_RDWR | os.O_CREAT if self._create else os.O_RDONLY
        try:
            fd = os.open(self._name, flags, 0o600, dir_fd=self._dir_fd)
        except FileNotFoundError:
            if self._create:
                raise
            return None
        except OSError as exc:
            if exc.errno in UNSAFE_ERRNOS:
                raise UnsafePathError(
                    f"{self._where}: {self._name} is a symlink or not a file; FileStorage never "
                    "follows links out of its root (remove it to continue)"
                ) from exc
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise UnsafePathError(f"{self._where}: {self._name} is not a regular file")
        with self._lock:
            kept = []
            for owner, other in self._fds:
                thread = owner()
                if thread is not None and thread.is_alive():
                    kept.append((owner, other))
                else:
                    os.close(other)
            kept.append((weakref.ref(threading.current_thread()), fd))
            self._fds = kept
        self._local.fd = fd
        return fd

    def close(self) -> None:
        """Close every thread's descriptor (their locks go with them)."""
        with self._lock:
            fds, self._fds = self._fds, []
        for _, fd in fds:
            os.close(fd)


class InUse:
    """A context manager around each call; ``close()`` refuses new calls and waits for the rest."""

    def __init__(self, closed_error: Callable[[], BaseException]) -> None:
        self._condition = threading.Condition()
        self._users = 0
        self._is_closed = False
        self._closed_error = closed_error

    def __enter__(self) -> None:
        with self._condition:
            if self._is_closed:
                raise self._closed_error()
            self._users += 1

    def __exit__(self, *exc_info: object) -> None:
        with self._condition:
            self._users -= 1
            if not self._users:
                self._condition.notify_all()

    def close(self) -> bool:
        """Refuse new calls, wait for the calls in flight; ``False`` if already closed."""
        with self._condition:
            if self._is_closed:
                return False
            self._is_closed = True
            self._condition.wait_for(lambda: not self._users)
        return True
