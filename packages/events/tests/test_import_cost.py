"""``import atomiton.events`` stays cheap: it must not load a heavy module (issue 19).

The budget is < 10 ms over a bare interpreter; the timing itself is in
benchmarks/test_startup.py. This test pins the cause instead: the face is lazy (PEP 562), so
importing it loads none of the modules in ``HEAVY_AT_IMPORT``
(atomiton.platform.testing), each of which costs milliseconds or pulls in a
server driver.
"""

from __future__ import annotations

from importlib.metadata import version

import atomiton.events
from atomiton.platform.testing import HEAVY_AT_IMPORT, modules_loaded_by


def test_importing_the_package_loads_no_heavy_module() -> None:
    loaded = modules_loaded_by("import atomiton.events")
    assert "atomiton.events" in loaded
    heavy = sorted(
        name
        for name in loaded
        if name in HEAVY_AT_IMPORT or name.partition(".")[0] in HEAVY_AT_IMPORT
    )
    assert heavy == [], f"import atomiton.events loads {heavy}"


def test_the_version_literal_matches_the_installed_distribution() -> None:
    assert atomiton.events.__version__ == version("atomiton-events")
