"""Removing the temporary files that writers killed mid-write left in a FileStorage root.

Every temporary file is created and renamed (or removed) while its writer holds the root's
``~lock``: a single write holds it shared, a ``write_many`` exclusively from its first staged
file to its last rename. So whoever holds the lock *exclusively*, after rolling a committed
journal forward, knows that no live writer has a temporary file in flight: every one left in the
tree belongs to a writer that died holding the lock (SIGKILL, OOM, power loss). This rule needs
no process ids, so it holds across PID namespaces, containers and hosts sharing the root, exactly
as far as the lock itself does (and the lock is what makes batches atomic in the first place).

Walking the whole tree on every open would cost as much as ``list()``, so opening only walks it
when some writer has died. Each ``FileStorage`` that writes holds an exclusive ``flock`` on its
own marker file ``~writers/<pid>-<random>`` for as long as it is open; ``close()`` removes the
marker. A marker whose lock can be taken belongs to a writer that ended without ``close()``:
its files may be left behind, so the opener walks the tree, then removes the dead markers.
``purge_expired()`` walks the tree anyway and always removes leftovers (those of older versions,
which made no markers, included).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import stat
import threading
import weakref

from atomiton.storage._errors import UnsafePathError
from atomiton.storage._file_io import DIR_FLAGS, READ_FLAGS, UNSAFE_ERRNOS

WRITERS_DIR = "~writers"
# What stage() names a temporary file: "<name>~<pid>-<counter>.tmp".
_TEMP_NAME = re.compile(r".+~[0-9]+-[0-9]+\.tmp")
_MARKER_NAME = re.compile(r"[0-9]+-[0-9a-f]{16}")
_LOG = logging.getLogger("atomiton.storage")


def _open_writers_dir(root_fd: int, where: object) -> int:
    """Open ``~writers`` without following a link planted in its place.

    Raises:
        FileNotFoundError: It does not exist.
        UnsafePathError: It is a symlink or not a directory.
    """
    try:
        return os.open(WRITERS_DIR, DIR_FLAGS, dir_fd=root_fd)
    except OSError as exc:
        if exc.errno in UNSAFE_ERRNOS:
            raise UnsafePathError(
                f"{where}: {WRITERS_DIR} is a symlink or not a directory; FileStorage never "
                "follows links out of its root (remove it to continue)"
            ) from exc
        raise


class WriterMarker:
    """This client's ``~writers/<pid>-<random>`` file, locked while the client is open.

    Made on the first write (with the root's lock held, so no sweep sees it half made); a forked
    child that writes makes its own, because its parent may close while it still writes.
    """

    __slots__ = ("__weakref__", "_fd", "_lock", "_name", "_pid", "_root_fd", "_where")

    def __init__(self, root_fd: int, where: object) -> None:
        self._root_fd = root_fd
        self._where = where
        # Threads of one client write at the same time (under the shared ~lock): one makes it.
        self._lock = threading.Lock()
        self._pid = -1
        self._fd = -1
        self._name = ""
        # A fork while another thread held the lock would leave it held forever in the child.
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _new_lock(ref))

    def ensure(self, *, fsync: bool) -> None:
        """Create and lock this process's marker unless it exists (call with ``~lock`` held)."""
        pid = os.getpid()
        if pid == self._pid:
            return
        with self._lock:
            if pid != self._pid:
                self._make(pid, fsync=fsync)

    def _make(self, pid: int, *, fsync: bool) -> None:
        with contextlib.suppress(FileExistsError):
            os.mkdir(WRITERS_DIR, 0o700, dir_fd=self._root_fd)
        writers_fd = _open_writers_dir(self._root_fd, self._where)
        try:
            name = f"{pid}-{os.urandom(8).hex()}"
            fd = os.open(
                name,
                os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o600,
                dir_fd=writers_fd,
            )
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if fsync:  # so that after an OS crash the marker is there to trigger the sweep
                    os.fsync(writers_fd)
            except BaseException:
                os.close(fd)
                os.unlink(name, dir_fd=writers_fd)
                raise
        finally:
            os.close(writers_fd)
        if self._fd != -1:
            os.close(self._fd)  # the parent's marker, inherited across fork(): not ours to hold
        self._pid, self._fd, self._name = pid, fd, name

    def remove(self) -> None:
        """Remove the marker (on ``close()``): this client leaves nothing in flight behind."""
        with self._lock:
            self._remove()

    def _remove(self) -> None:
        if self._pid == os.getpid():
            try:
                writers_fd = _open_writers_dir(self._root_fd, self._where)
            except (OSError, UnsafePathError):
                pass  # clear() or a person removed it: nothing to remove
            else:
                try:
                    os.unlink(self._name, dir_fd=writers_fd)
                except FileNotFoundError:
                    pass
                finally:
                    os.close(writers_fd)
        if self._fd != -1:
            os.close(self._fd)  # a parent's marker inherited by a fork: only the descriptor
        self._pid, self._fd = -1, -1


def _new_lock(ref: weakref.ref[WriterMarker]) -> None:
    marker = ref()
    if marker is not None:
        marker._lock = threading.Lock()


def dead_markers(root_fd: int, where: object) -> list[str]:
    """Return the markers whose writer has ended without ``close()`` (their lock is free).

    Raises:
        UnsafePathError: ``~writers`` is a symlink or not a directory.
    """
    try:
        writers_fd = _open_writers_dir(root_fd, where)
    except FileNotFoundError:
        return []
    dead = []
    try:
        for name in os.listdir(writers_fd):
            if not _MARKER_NAME.fullmatch(name):
                continue
            try:
                fd = os.open(name, READ_FLAGS, dir_fd=writers_fd)
            except OSError:
                continue  # removed meanwhile, or a planted link: not a marker
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    continue
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its writer is alive
            finally:
                os.close(fd)
            dead.append(name)
    finally:
        os.close(writers_fd)
    return dead


def remove_dead_markers(root_fd: int, names: list[str]) -> None:
    """Unlink the markers ``dead_markers`` found, once their writers' files are gone."""
    writers_fd = os.open(WRITERS_DIR, DIR_FLAGS, dir_fd=root_fd)
    try:
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=writers_fd)
    finally:
        os.close(writers_fd)


def remove_temp_files(dir_fd: int, *, where: object, is_root: bool = True) -> int:
    """Remove every temporary file below ``dir_fd`` (links not followed); return how many.

    Call only with ``~lock`` held exclusively and the journal applied (see the module docstring).
    """
    with os.scandir(dir_fd) as entries:
        names = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
    removed = 0
    for name, is_dir in names:
        if is_dir:
            if is_root and name == WRITERS_DIR:
                continue
            try:
                fd = os.open(name, DIR_FLAGS, dir_fd=dir_fd)
            except OSError:
                continue  # removed meanwhile, or not ours
            try:
                removed += remove_temp_files(fd, where=where, is_root=False)
            finally:
                os.close(fd)
        elif _TEMP_NAME.fullmatch(name):
            try:
                os.unlink(name, dir_fd=dir_fd)
                removed += 1
            except FileNotFoundError:
                pass
    if removed and is_root:
        _LOG.info("%s: removed %d temporary files left by killed writers", where, removed)
    return removed
