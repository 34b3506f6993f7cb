"""The installed version of atomiton-platform, read from its metadata (imported lazily)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("atomiton-platform")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0.0.0"
