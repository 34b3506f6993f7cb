"""This package's provider: what ``Container.from_installed()`` registers for atomiton.platform."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from atomiton.platform._capabilities import Capabilities, capabilities
from atomiton.platform._detect import PlatformInfo, detect

if TYPE_CHECKING:
    from collections.abc import Mapping

    from atomiton.platform._container import Container


def provide(container: Container, settings: Mapping[str, Any] | None = None) -> None:
    """Register atomiton.platform's services (lazily: nothing is measured until resolved).

    Registers ``PlatformInfo`` (from ``detect()``) and ``Capabilities`` (from
    ``capabilities()``) as singletons, unless the container already has them.

    Args:
        container: The container to register into.
        settings: Unused by this package; accepted for the common provider signature.
    """
    if not container.has(PlatformInfo):
        container.singleton(PlatformInfo, detect)
    if not container.has(Capabilities):
        container.singleton(Capabilities, capabilities)
