"""The installed version of atomiton-store, read from its metadata."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("atomiton-store")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0.0.0"
