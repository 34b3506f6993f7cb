"""The package face: version, typing marker, no namespace __init__."""

from importlib.metadata import version
from pathlib import Path

import atomiton.events


def test_version_matches_installed_metadata() -> None:
    assert atomiton.events.__version__ == version("atomiton-events")


def test_package_is_typed() -> None:
    assert (Path(atomiton.events.__file__).parent / "py.typed").is_file()


def test_atomiton_stays_a_namespace_package() -> None:
    import atomiton

    assert getattr(atomiton, "__file__", None) is None
