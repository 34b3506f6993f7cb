"""The files of a SQLiteStorage: created private, or opened read-only without creating any.

SQLite creates a database file with mode 0644 (less the umask), readable by every user on the
machine, and its ``-wal`` and ``-shm`` files with the database file's mode. Creating the
database file first with mode 0600 therefore makes all three private.

A read-only storage must not write anything, beside the database included. In WAL mode even a
``mode=ro`` connection creates the ``-wal`` and ``-shm`` files when they are missing (and leaves
them behind), so ``read_only_uri`` picks ``immutable=1`` when they are missing.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from atomiton.storage._errors import StorageError


def prepare_path(path: Path, *, readonly: bool) -> None:
    """Make ``path`` ready to connect to: create it private, or check it exists (read-only).

    Raises:
        StorageError: ``path`` is a directory, or (read-only) does not exist.
    """
    if path.is_dir():
        raise StorageError(f"{str(path)!r} is a directory, not a SQLite database file")
    if readonly:
        if not path.is_file():
            raise StorageError(
                f"{str(path)!r}: no such SQLite database (a read-only storage never creates one)"
            )
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return  # an existing file keeps the mode its owner gave it
    os.close(fd)


def read_only_uri(path: Path) -> str:
    """The URI a read-only connection opens: ``mode=ro``, or ``immutable=1`` (no new files).

    The ``-wal`` and ``-shm`` files exist while any writer has the database open (or after a
    writer crashed): then ``mode=ro`` creates nothing, takes part in SQLite's locking and sees
    every commit, the ones still in the WAL included. When they are missing nobody has the
    database open and every committed write is in the main file, which ``immutable=1`` reads
    without creating or locking anything (on a read-only file system too). Decided per
    connection, so a thread connecting later follows what the files are then.
    """
    # POSIX lets abspath keep a leading "//" (sqlite:////tmp/x.db names "//tmp/x.db"), which a
    # file: URI would read as an authority ("tmp"): one slash names the same file.
    target = quote("/" + os.path.abspath(path).lstrip("/"))
    if Path(f"{path}-wal").exists() and Path(f"{path}-shm").exists():
        return f"file:{target}?mode=ro"
    return f"file:{target}?mode=ro&immutable=1"
