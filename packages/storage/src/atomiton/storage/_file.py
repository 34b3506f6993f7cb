"""FileStorage: one file per key under a root directory, written as safely as SQLite writes.

Every write goes to a fresh temporary file in the key's directory, is fsynced, renamed over the
key's file and the directory is fsynced, so a reader or a crash sees the old value or the new
one, never a mix. ``write_many`` stages every value as a temporary file, then commits by
atomically writing a small journal naming the renames; a crash after the commit is rolled
forward by the next writer or opener, a crash before it leaves nothing visible.

Every path is opened relative to a directory file descriptor with ``O_NOFOLLOW``, one component
at a time, so nothing ever resolves outside the root, symlinks planted inside it included.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from atomiton.storage._client import (
    Entry,
    Items,
    KeyList,
    StorageClient,
    check_ttl,
    check_value,
    checked_batch,
    closed_error,
    read_only_error,
)
from atomiton.storage._errors import StorageError, UnsafePathError
from atomiton.storage._file_io import (
    HEADER,
    READ_FLAGS,
    UNSAFE_ERRNOS,
    CorruptValueFile,
    clear_dir,
    close_dirs,
    open_dirs,
    pack_header,
    parse_header,
    stage,
    walk_dir,
)
from atomiton.storage._file_lock import InUse, LockFile
from atomiton.storage._file_paths import is_own_rename, key_to_components, segment_components
from atomiton.storage._file_sweep import (
    WRITERS_DIR,
    WriterMarker,
    dead_markers,
    remove_dead_markers,
    remove_temp_files,
)
from atomiton.storage._keys import is_valid_key, validate_key, validate_keys

_LOCK_NAME = "~lock"
_JOURNAL_NAME = "~journal"
# [directory components..., file name, staged temporary name] per key of a batch.
_Renames = list[list[str]]
_LOG = logging.getLogger("atomiton.storage")


class FileStorage(StorageClient):
    """Store each key as one file under ``root``, written atomically, never escaping ``root``.

    Args:
        root: The directory holding the data (created private, mode 0700, when missing).
        fsync: ``True`` fsyncs every file and directory so a returned write survives power loss;
            ``False`` keeps writes atomic against process crashes only (much faster).
        clock: Seconds since the epoch for TTLs.
        readonly: Open an existing root without ever writing to it: no ``~lock`` is created, a
            pending batch is not rolled forward, nothing is removed; every write raises
            ``ReadOnlyStorageError``.

    Raises:
        UnsafePathError: Only when a key's path meets a symlink or a foreign entry planted in the
            root; it is refused, never followed.
        StorageError: ``readonly`` and ``root`` is not an existing directory.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        fsync: bool = True,
        clock: Callable[[], float] = time.time,
        readonly: bool = False,
    ) -> None:
        if not hasattr(os, "O_NOFOLLOW") or os.open not in os.supports_dir_fd:
            raise StorageError("FileStorage needs a POSIX system (openat and O_NOFOLLOW)")
        self.root = Path(root).absolute()
        self.fsync = fsync
        self.readonly = readonly
        self._clock = clock
        if not readonly:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        # The root itself may be a symlink: that is the caller's choice. Nothing below it may.
        try:
            self._root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise StorageError(
                f"{str(self.root)!r} is not a directory (a read-only FileStorage never creates one)"
            ) from exc
        self._lock_file = LockFile(self._root_fd, _LOCK_NAME, where=self.root, create=not readonly)
        self._marker = WriterMarker(self._root_fd, self.root)
        self._is_closed = False
        self._in_use = InUse(lambda: closed_error(self))
        try:
            if readonly:
                self._warn_if_batch_pending()
            else:
                with self._exclusive():
                    self._recover()
                    self._sweep_if_a_writer_died()
        except BaseException:
            self.close()  # a client that failed to open keeps no descriptors
            raise

    # -- locking and recovery ----------------------------------------------------------------------
    def _shared(self) -> _Flock:
        return _Flock(self, fcntl.LOCK_SH)

    def _exclusive(self) -> _Flock:
        return _Flock(self, fcntl.LOCK_EX)

    def _recover(self) -> None:
        """Roll a committed ``write_many`` forward (call with the exclusive lock held)."""
        try:
            fd = os.open(_JOURNAL_NAME, READ_FLAGS, dir_fd=self._root_fd)
        except FileNotFoundError:
            return
        with os.fdopen(fd, "rb") as journal:
            renames = json.loads(journal.read())["renames"]
        # Untrusted input like any file in the root: a planted journal must not move files
        # outside it (".." or "/" in a name), so nothing is applied unless every entry is ours.
        if not isinstance(renames, list) or not all(map(is_own_rename, renames)):
            raise UnsafePathError(
                f"{self.root}: {_JOURNAL_NAME} names paths FileStorage never writes; "
                "refusing to apply it (inspect and remove it to continue)"
            )
        self._apply(renames)
        os.unlink(_JOURNAL_NAME, dir_fd=self._root_fd)
        self._sync(self._root_fd)

    def _sweep_if_a_writer_died(self) -> None:
        """Remove the temporary files of writers that died (exclusive lock held, journal applied).

        See ``_file_sweep``: with the lock held exclusively no live writer has a temporary file,
        and the tree is walked only when a writer's marker shows it ended without ``close()``.
        """
        dead = dead_markers(self._root_fd, self.root)
        if dead:
            remove_temp_files(self._root_fd, where=self.root)
            remove_dead_markers(self._root_fd, dead)

    def _warn_if_batch_pending(self) -> None:
        try:
            os.stat(_JOURNAL_NAME, dir_fd=self._root_fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        _LOG.warning(
            "%s: a write_many was committed but not applied (a writer crashed); this read-only "
            "FileStorage shows the keys as the crash left them until a writer opens the root",
            self.root,
        )

    def _refuse_if_read_only(self, operation: str) -> None:
        if self.readonly:
            raise read_only_error(self, operation)

    def _apply(self, renames: _Renames) -> None:
        for path in renames:
            *dirs, name, temp = path
            fds = self._open_dirs(dirs, create=True)
            try:
                try:
                    os.replace(temp, name, src_dir_fd=fds[-1], dst_dir_fd=fds[-1])
                except FileNotFoundError:
                    continue  # renamed before the crash
                self._sync(fds[-1])
            finally:
                self._close_dirs(fds)

    def _sync(self, fd: int) -> None:
        if self.fsync:
            os.fsync(fd)

    # -- paths --------------------------------------------------------------------------------
    def _open_dirs(self, dirs: list[str], *, create: bool) -> list[int]:
        """Open ``dirs`` one by one from the root without following links; [] if one is missing."""
        if self._is_closed:
            raise closed_error(self)
        return open_dirs(self._root_fd, dirs, create=create, fsync=self.fsync, where=self.root)

    def _close_dirs(self, fds: list[int]) -> None:
        close_dirs(fds)

    def _open_value(self, key: str) -> tuple[int, float | None] | None:
        """Open ``key``'s file; return (fd after the header, expiry or None), or ``None``.

        A corrupt file (no valid header) is ``None`` like a missing one: every operation agrees
        that such a key is absent, and ``delete`` removes it.
        """
        *dirs, name = key_to_components(validate_key(key))
        fds = self._open_dirs(dirs, create=False)
        if not fds:
            return None
        try:
            fd = os.open(name, READ_FLAGS, dir_fd=fds[-1])
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno in UNSAFE_ERRNOS:
                raise UnsafePathError(f"{self.root}: the file of key {key!r} is a symlink") from exc
            raise
        finally:
            self._close_dirs(fds)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UnsafePathError(f"{self.root}: the file of key {key!r} is not a regular file")
            expires = parse_header(os.read(fd, HEADER.size), f"{self.root}: the file of {key!r}")
        except CorruptValueFile:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return fd, expires

    # -- operations ---------------------------------------------------------------------------
    def write(self, key: str, data: bytes, *, ttl: float | None = None) -> None:
        """Store ``data`` at ``key`` atomically (see ``StorageClient.write``)."""
        *dirs, name = key_to_components(validate_key(key))
        if data.__class__ is not bytes:
            data = check_value(data)
        header = pack_header(None if ttl is None else self._clock() + check_ttl(ttl))
        self._refuse_if_read_only("write")
        with self._shared():
            self._marker.ensure(fsync=self.fsync)
            for _attempt in range(16):
                fds = self._open_dirs(dirs, create=True)
                try:
                    temp = stage(fds[-1], name, [header, data], fsync=self.fsync)
                    try:
                        os.replace(temp, name, src_dir_fd=fds[-1], dst_dir_fd=fds[-1])
                    except BaseException:
                        os.unlink(temp, dir_fd=fds[-1])
                        raise
                    self._sync(fds[-1])
                    return
                except FileNotFoundError:
                    continue  # a delete removed the (empty) directory meanwhile: walk again
                finally:
                    self._close_dirs(fds)
            raise StorageError(
                f"{self.root}: could not write {key!r}: its directory kept vanishing"
            )

    def read_entry(self, key: str) -> Entry | None:
        """Return ``(value, expires_at)`` or ``None`` (see ``StorageClient.read_entry``)."""
        with self._in_use:
            return self._read_entry(key)

    def _read_entry(self, key: str) -> Entry | None:
        opened = self._open_value(key)
        if opened is None:
            return None
        fd, expires = opened
        try:
            if expires is not None and expires <= self._clock():
                return None
            parts = []
            while chunk := os.read(fd, 1 << 20):
                parts.append(chunk)
        finally:
            os.close(fd)
        return b"".join(parts), expires

    def read(self, key: str) -> bytes | None:
        """Return the value at ``key`` or ``None``."""
        entry = self.read_entry(key)
        return None if entry is None else entry[0]

    def _live_size(self, key: str) -> int | None:
        with self._in_use:
            opened = self._open_value(key)
            if opened is None:
                return None
            fd, expires = opened
            try:
                if expires is not None and expires <= self._clock():
                    return None
                return os.fstat(fd).st_size - HEADER.size
            finally:
                os.close(fd)

    def size(self, key: str) -> int | None:
        """Return the value's length in bytes, or ``None`` when absent."""
        return self._live_size(key)

    def exists(self, key: str) -> bool:
        """Return whether ``key`` holds a live value."""
        return self._live_size(key) is not None

    def delete(self, key: str) -> bool:
        """Remove ``key``; return whether it was live (a corrupt file is removed too)."""
        self._refuse_if_read_only("delete")
        with self._shared():
            return self._delete(key)

    def _delete(self, key: str) -> bool:
        was_live = self._live_size(key) is not None
        *dirs, name = key_to_components(key)
        fds = self._open_dirs(dirs, create=False)
        if not fds:
            return False
        try:
            try:
                os.unlink(name, dir_fd=fds[-1])
            except FileNotFoundError:
                return False
            self._sync(fds[-1])
            # Drop directories the delete left empty, deepest first; a non-empty one stops it.
            for depth in range(len(dirs), 0, -1):
                try:
                    os.rmdir(dirs[depth - 1], dir_fd=fds[depth - 1])
                except OSError:
                    break
            return was_live
        finally:
            self._close_dirs(fds)

    def _walk(self, prefix: str) -> Iterator[tuple[str, int]]:
        """Yield (key, value size) for every live key under ``prefix``, unsorted."""
        now = self._clock()
        for key, size, expires, _dir_fd, _name in self._walk_all(prefix):
            if expires is None or expires > now:
                yield key, size

    def _walk_all(self, prefix: str) -> Iterator[tuple[str, int, float | None, int, str]]:
        """Yield (key, size, expiry, directory fd, file name) for every key under ``prefix``."""
        *complete, _partial = prefix.split("/")
        if not all(is_valid_key(segment) for segment in complete):
            return
        start: list[str] = []
        for segment in complete:
            start.extend(segment_components(segment, is_last=False))
        with self._in_use:
            fds = self._open_dirs(start, create=False)
            if not fds:
                return
            try:
                yield from walk_dir(fds[-1], start, prefix)
            finally:
                self._close_dirs(fds)

    def list(self, prefix: str = "") -> KeyList:
        """Return the live keys starting with ``prefix``, sorted."""
        return sorted(key for key, _ in self._walk(prefix))

    def __len__(self) -> int:
        return sum(1 for _ in self._walk(""))

    def total_size(self) -> int:
        """Return the summed length of every live value."""
        return sum(size for _, size in self._walk(""))

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """Return the present keys among ``keys``, read while no ``write_many`` is applying."""
        wanted = list(dict.fromkeys(validate_keys(list(keys))))
        found: dict[str, bytes] = {}
        with self._shared():
            for key in wanted:
                value = self.read(key)
                if value is not None:
                    found[key] = value
        return found

    def write_many(self, items: Items, *, ttl: float | None = None) -> None:
        """Store every pair atomically, also across a crash (staged files plus a journal)."""
        header = pack_header(None if ttl is None else self._clock() + check_ttl(ttl))
        checked = checked_batch(items)
        self._refuse_if_read_only("write_many")
        if self._is_closed:
            raise closed_error(self)
        if not checked:
            return
        renames: _Renames = []
        with self._exclusive():
            self._marker.ensure(fsync=self.fsync)
            try:
                for key, value in checked.items():
                    *dirs, name = key_to_components(key)
                    fds = self._open_dirs(dirs, create=True)
                    try:
                        renames.append(
                            [*dirs, name, stage(fds[-1], name, [header, value], fsync=self.fsync)]
                        )
                    finally:
                        self._close_dirs(fds)
                # The commit point: once the journal's rename lands, the batch will be applied.
                journal = json.dumps({"renames": renames}).encode()
                temp = stage(self._root_fd, _JOURNAL_NAME, [journal], fsync=self.fsync)
                os.replace(temp, _JOURNAL_NAME, src_dir_fd=self._root_fd, dst_dir_fd=self._root_fd)
                self._sync(self._root_fd)
            except BaseException:
                self._discard(renames)
                raise
            self._recover()

    def _discard(self, renames: _Renames) -> None:
        for *dirs, _name, temp in renames:
            fds = self._open_dirs(dirs, create=False)
            try:
                if fds:
                    os.unlink(temp, dir_fd=fds[-1])
            except OSError:
                pass  # best effort: a stray temporary file is ignored by every reader
            finally:
                self._close_dirs(fds)

    def delete_many(self, keys: Iterable[str]) -> int:
        """Remove every key in ``keys`` (one by one, while no other batch runs)."""
        wanted = list(dict.fromkeys(validate_keys(list(keys))))
        self._refuse_if_read_only("delete_many")
        with self._exclusive():
            return sum(1 for key in wanted if self._delete(key))

    def purge_expired(self) -> int:
        """Delete the files of expired keys; return how many.

        Runs under the exclusive lock, so no write can land between the check and the unlink.
        Also removes every temporary file a killed writer left (not counted in the result).
        """
        self._refuse_if_read_only("purge_expired")
        with self._exclusive():
            now = self._clock()
            purged = 0
            # The walk lists each directory before yielding from it, so unlinking is safe here.
            for _key, _size, expires, dir_fd, name in self._walk_all(""):
                if expires is not None and expires <= now:
                    os.unlink(name, dir_fd=dir_fd)
                    self._sync(dir_fd)
                    purged += 1
            remove_temp_files(self._root_fd, where=self.root)
            return purged

    def clear(self) -> None:
        """Remove every key (and any stray temporary file)."""
        self._refuse_if_read_only("clear")
        with self._exclusive():
            clear_dir(self._root_fd, keep=(_LOCK_NAME, _JOURNAL_NAME, WRITERS_DIR))
            self._sync(self._root_fd)

    def close(self) -> None:
        """Release the root and lock descriptors; later calls raise ``StorageClosedError``.

        Calls in flight on other threads finish first.
        """
        if not self._in_use.close():
            return
        self._is_closed = True
        self._marker.remove()
        self._lock_file.close()
        os.close(self._root_fd)

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._is_closed

    def __repr__(self) -> str:
        state = (" read-only" if self.readonly else "") + (" closed" if self._is_closed else "")
        return f"<FileStorage {str(self.root)!r} fsync={self.fsync}{state}>"


class _Flock:
    """Hold the root's lock file shared (single writes) or exclusive (batches, recovery)."""

    __slots__ = ("_fd", "_mode", "_storage")

    def __init__(self, storage: FileStorage, mode: int) -> None:
        self._storage = storage
        self._mode = mode
        self._fd = -1

    def __enter__(self) -> None:
        storage = self._storage
        storage._in_use.__enter__()
        try:
            fd = storage._lock_file.fd()
            if fd is not None:  # None: read-only and no writer ever made the lock file
                fcntl.flock(fd, self._mode)
        except BaseException:
            storage._in_use.__exit__()
            raise
        self._fd = -1 if fd is None else fd
        if self._mode == fcntl.LOCK_SH and not storage.readonly:
            try:
                os.stat(_JOURNAL_NAME, dir_fd=storage._root_fd)
            except FileNotFoundError:
                return
            try:
                # A batch crashed after its commit: apply it before anything can overwrite its
                # keys.
                fcntl.flock(self._fd, fcntl.LOCK_EX)
                storage._recover()
                fcntl.flock(self._fd, fcntl.LOCK_SH)
            except BaseException:
                self.__exit__()  # a refused journal must not leave the lock or the call held
                raise

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._fd != -1:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._storage._in_use.__exit__()
