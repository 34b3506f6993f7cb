"""``import atomiton.devtools`` stays cheap: it must not load a heavy module (issue 19).

The budget is < 10 ms over a bare interpreter; the timing itself is in
benchmarks/test_startup.py. This test pins the cause instead: the face is lazy (PEP 562), so
importing it loads none of the modules in ``HEAVY_AT_IMPORT``
(atomiton.platform.testing), each of which costs milliseconds or pulls in a
server driver. The inspector's web server (starlette, uvicorn) and rich load only when a
command or the inspector starts; every package imported together is checked here too.
"""

from __future__ import annotations

from importlib.metadata import version

import atomiton.devtools
from atomiton.platform.testing import HEAVY_AT_IMPORT, modules_loaded_by


def test_importing_the_package_loads_no_heavy_module() -> None:
    loaded = modules_loaded_by("import atomiton.devtools")
    assert "atomiton.devtools" in loaded
    heavy = sorted(
        name
        for name in loaded
        if name in HEAVY_AT_IMPORT or name.partition(".")[0] in HEAVY_AT_IMPORT
    )
    assert heavy == [], f"import atomiton.devtools loads {heavy}"


def test_importing_all_six_packages_loads_no_heavy_module() -> None:
    statement = "import " + ", ".join(
        f"atomiton.{name}"
        for name in ("platform", "events", "execution", "store", "storage", "devtools")
    )
    loaded = modules_loaded_by(statement)
    heavy = sorted(
        name
        for name in loaded
        if name in HEAVY_AT_IMPORT or name.partition(".")[0] in HEAVY_AT_IMPORT
    )
    assert heavy == [], f"importing all six packages loads {heavy}"


def test_the_version_literal_matches_the_installed_distribution() -> None:
    assert atomiton.devtools.__version__ == version("atomiton-devtools")
