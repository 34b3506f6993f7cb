"""LockFile: one descriptor per thread of a lock file, so flock excludes threads too.

``flock`` locks belong to an open file description: two threads sharing one descriptor would
share the lock. Each thread therefore opens the file itself; descriptors of finished threads are
closed when the next thread opens one.
"""

from __future__ import annotations

import os
import threading
import weakref


class LockFile:
    """Hand each thread its own descriptor of ``name`` inside ``dir_fd``."""

    def __init__(self, dir_fd: int, name: str) -> None:
        self._dir_fd = dir_fd
        self._name = name
        self._local = threading.local()
        self._lock = threading.Lock()
        self._fds: list[tuple[weakref.ref[threading.Thread], int]] = []

    def fd(self) -> int:
        """Return this thread's descriptor, opening the file (mode 0600) on first use."""
        fd: int | None = getattr(self._local, "fd", None)
        if fd is not None:
            return fd
        fd = os.open(
            self._name,
            os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW,
            0o600,
            dir_fd=self._dir_fd,
        )
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
