"""The descriptor-relative file operations FileStorage is built from.

Every function works on directory file descriptors and never follows a symlink below them.
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
import stat
import struct
from collections.abc import Iterator

from atomiton.storage._errors import UnsafePathError
from atomiton.storage._file_paths import components_to_key

# Each file: a version byte and the expiry time (+0.0: never) as a big-endian double, then the
# value.
HEADER = struct.Struct(">Bd")
VERSION = 1
_NO_EXPIRY = HEADER.pack(VERSION, 0.0)
_LOG = logging.getLogger("atomiton.storage")
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
#: errno values meaning "a symlink or a non-directory sits where a directory or file should be".
UNSAFE_ERRNOS = (errno.ELOOP, errno.ENOTDIR, errno.EISDIR)
_TEMP_COUNTER = itertools.count()


def pack_header(expires_at: float | None) -> bytes:
    """The header of a value file that expires at ``expires_at`` (``None``: never)."""
    if expires_at is None:
        return _NO_EXPIRY
    # +0.0 means "never" on disk, so an expiry of exactly 0.0 is stored as -0.0: it compares
    # equal to 0.0 (it expires at the same instant) but its bits differ from "never".
    return HEADER.pack(VERSION, expires_at if expires_at != 0.0 else -0.0)


class CorruptValueFile(Exception):
    """A value file whose header FileStorage did not write (internal: the key reads as absent)."""


def parse_header(header: bytes, where: object) -> float | None:
    """Return the expiry a value file's header holds: a time, or ``None`` for never.

    Raises:
        CorruptValueFile: The header is not one FileStorage writes (too short, or another
            version byte), for instance a write that an OS crash cut short with ``fsync=False``.
            Every operation treats such a key as absent; a warning names the file.
    """
    if len(header) != HEADER.size or header[0] != VERSION:
        _LOG.warning("%s has no valid FileStorage header; it reads as absent", where)
        raise CorruptValueFile(where)
    if header == _NO_EXPIRY:
        return None
    expires_at: float = HEADER.unpack(header)[1]
    return expires_at


def open_dirs(
    root_fd: int, dirs: list[str], *, create: bool, fsync: bool, where: object
) -> list[int]:
    """Open ``dirs`` one at a time below ``root_fd`` with ``O_NOFOLLOW``.

    Returns ``[root_fd, fd of dirs[0], ...]``, or ``[]`` when one is missing and ``create`` is
    false. New directories get mode 0700 (and their parent is fsynced when ``fsync``).

    Raises:
        UnsafePathError: A component is a symlink or not a directory.
    """
    fds = [root_fd]
    try:
        for name in dirs:
            try:
                fd = os.open(name, DIR_FLAGS, dir_fd=fds[-1])
            except FileNotFoundError:
                if not create:
                    close_dirs(fds)
                    return []
                try:
                    os.mkdir(name, 0o700, dir_fd=fds[-1])
                    if fsync:
                        os.fsync(fds[-1])
                except FileExistsError:
                    pass
                fd = os.open(name, DIR_FLAGS, dir_fd=fds[-1])
            fds.append(fd)
    except OSError as exc:
        close_dirs(fds)
        if exc.errno in UNSAFE_ERRNOS:
            raise UnsafePathError(
                f"{where}: {'/'.join(dirs)!r} holds a symlink or a non-directory; "
                "FileStorage never follows links out of its root"
            ) from exc
        raise
    return fds


def close_dirs(fds: list[int]) -> None:
    """Close what ``open_dirs`` opened (every descriptor but the root's)."""
    for fd in fds[1:]:
        os.close(fd)


def stage(dir_fd: int, name: str, blob: list[bytes], *, fsync: bool) -> str:
    """Write ``blob`` to a new fsynced temporary file beside ``name``; return its name."""
    while True:
        # Unique per process (pid) and per call (a counter): cheaper than random names,
        # and O_EXCL still refuses a leftover from a dead process that had the same pid.
        temp = f"{name}~{os.getpid()}-{next(_TEMP_COUNTER)}.tmp"
        try:
            fd = os.open(temp, TEMP_FLAGS, 0o600, dir_fd=dir_fd)
            break
        except FileExistsError:
            continue
    try:
        total = sum(len(part) for part in blob)
        written = os.writev(fd, blob)
        if written < total:
            rest = memoryview(b"".join(blob))[written:]
            while rest:
                rest = rest[os.write(fd, rest) :]
        if fsync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(temp, dir_fd=dir_fd)
        raise
    os.close(fd)
    return temp


def walk_dir(
    dir_fd: int, path: list[str], prefix: str
) -> Iterator[tuple[str, int, float | None, int, str]]:
    """Yield (key, value size, expiry or None, directory fd, file name) for each key file below.

    A corrupt file (see ``parse_header``) is left out, as every other operation leaves it out.
    """
    with os.scandir(dir_fd) as entries:
        names = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
    for name, is_dir in names:
        if "~" in name:
            continue  # temporary or bookkeeping file, never a key
        if is_dir:
            try:
                fd = os.open(name, DIR_FLAGS, dir_fd=dir_fd)
            except OSError:
                continue  # removed meanwhile, or not ours
            try:
                yield from walk_dir(fd, [*path, name], prefix)
            finally:
                os.close(fd)
            continue
        key = components_to_key([*path, name])
        if key is None or not key.startswith(prefix):
            continue
        try:
            fd = os.open(name, READ_FLAGS, dir_fd=dir_fd)
        except OSError:
            continue  # deleted meanwhile, or a symlink: not a key
        try:
            info = os.fstat(fd)
            header = os.read(fd, HEADER.size)
        finally:
            os.close(fd)
        if not stat.S_ISREG(info.st_mode):
            continue
        try:
            expires_at = parse_header(header, f"the file of key {key!r}")
        except CorruptValueFile:
            continue
        yield key, info.st_size - HEADER.size, expires_at, dir_fd, name


def clear_dir(dir_fd: int, *, keep: tuple[str, ...] = ()) -> None:
    """Remove everything in ``dir_fd`` (recursively, links not followed) except ``keep``."""
    with os.scandir(dir_fd) as entries:
        names = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
    for name, is_dir in names:
        if name in keep:
            continue
        if is_dir:
            fd = os.open(name, DIR_FLAGS, dir_fd=dir_fd)
            try:
                clear_dir(fd)
            finally:
                os.close(fd)
            os.rmdir(name, dir_fd=dir_fd)
        else:
            os.unlink(name, dir_fd=dir_fd)
