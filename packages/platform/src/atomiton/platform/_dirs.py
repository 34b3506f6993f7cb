r"""Where atomiton keeps data, caches and configuration, per OS, each overridable.

Precedence, first match wins:

1. ``ATOMITON_DATA_DIR`` / ``ATOMITON_CACHE_DIR`` / ``ATOMITON_CONFIG_DIR``;
2. the XDG variables on Linux and other Unixes (``XDG_DATA_HOME``, ``XDG_CACHE_HOME``,
   ``XDG_CONFIG_HOME``);
3. the platform's convention (``~/.local/share/atomiton``, ``~/Library/Application Support/
   atomiton``, ``%LOCALAPPDATA%\atomiton``, ...).

Every directory created here, missing parents included, gets mode 0700 (what the XDG spec asks
for, and what FileStorage gives its own directories): the data directory holds the default
SQLite database, and nobody else on the machine should read it. A directory that already exists
keeps its mode.

Hand-written instead of depending on platformdirs: the issue keeps this package stdlib-only, and
the three conventions fit in the table below (platformdirs' own layout is followed).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

APP = "atomiton"


def _home(environ: Mapping[str, str]) -> Path:
    home = environ.get("HOME") or environ.get("USERPROFILE")
    return Path(home) if home else Path.home()


def _resolve(kind: str, environ: Mapping[str, str] | None, create: bool) -> Path:
    env = os.environ if environ is None else environ
    override = env.get(f"ATOMITON_{kind.upper()}_DIR")
    if override:
        path = Path(override).expanduser()
    elif sys.platform == "win32":
        local = env.get("LOCALAPPDATA") or str(_home(env) / "AppData" / "Local")
        roaming = env.get("APPDATA") or str(_home(env) / "AppData" / "Roaming")
        base = {"data": Path(local), "cache": Path(local), "config": Path(roaming)}[kind]
        path = base / APP / "Cache" if kind == "cache" else base / APP
    elif sys.platform == "darwin":
        library = _home(env) / "Library"
        sub = {"data": "Application Support", "cache": "Caches", "config": "Application Support"}
        path = library / sub[kind] / APP
    else:
        xdg, default = {
            "data": ("XDG_DATA_HOME", ".local/share"),
            "cache": ("XDG_CACHE_HOME", ".cache"),
            "config": ("XDG_CONFIG_HOME", ".config"),
        }[kind]
        base_text = env.get(xdg)
        # The XDG spec says relative values are invalid and must be ignored.
        base = Path(base_text) if base_text and os.path.isabs(base_text) else _home(env) / default
        path = base / APP
    if create:
        _make_private_dirs(path)
    return path


def _make_private_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents with mode 0700 (``mkdir -p`` would use 0777).

    ``Path.mkdir(mode=..., parents=True)`` applies the mode to the last directory only.
    """
    missing: list[Path] = []
    for directory in (path, *path.parents):
        if directory.is_dir():
            break
        missing.append(directory)
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            if not directory.is_dir():
                raise


def data_dir(*, create: bool = True, environ: Mapping[str, str] | None = None) -> Path:
    """The directory for atomiton's persistent data (e.g. the default SQLite database).

    Args:
        create: Create the directory (and parents) if missing.
        environ: Variables to read instead of ``os.environ`` (for tests).

    Returns:
        ``$ATOMITON_DATA_DIR`` if set, else the platform's user data directory + ``atomiton``.
    """
    return _resolve("data", environ, create)


def cache_dir(*, create: bool = True, environ: Mapping[str, str] | None = None) -> Path:
    """The directory for disposable caches (``$ATOMITON_CACHE_DIR`` overrides).

    Args:
        create: Create the directory (and parents) if missing.
        environ: Variables to read instead of ``os.environ`` (for tests).
    """
    return _resolve("cache", environ, create)


def config_dir(*, create: bool = True, environ: Mapping[str, str] | None = None) -> Path:
    """The directory for user configuration (``$ATOMITON_CONFIG_DIR`` overrides).

    Args:
        create: Create the directory (and parents) if missing.
        environ: Variables to read instead of ``os.environ`` (for tests).
    """
    return _resolve("config", environ, create)
