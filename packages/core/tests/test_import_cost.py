"""``import atomiton.store`` stays cheap: it must not load a heavy module (issue 19).

The budget is < 10 ms over a bare interpreter; the timing itself is in
benchmarks/test_startup.py. This test pins the cause instead: the face is lazy (PEP 562), so
importing it loads none of the modules in ``HEAVY_AT_IMPORT``
(atomiton.platform.testing), each of which costs milliseconds or pulls in a
server driver.
"""

from __future__ import annotations

from importlib.metadata import version

import atomiton.store
from atomiton.platform.testing import HEAVY_AT_IMPORT, modules_loaded_by


def test_importing_the_package_loads_no_heavy_module() -> None:
    loaded = modules_loaded_by("import atomiton.store")
    assert "atomiton.store" in loaded
    heavy = sorted(
        name
        for name in loaded
        if name in HEAVY_AT_IMPORT or name.partition(".")[0] in HEAVY_AT_IMPORT
    )
    assert heavy == [], f"import atomiton.store loads {heavy}"


def test_the_version_literal_matches_the_installed_distribution() -> None:
    assert atomiton.store.__version__ == version("atomiton-store")


def test_atoms_and_a_store_work_without_asyncio_or_logging() -> None:
    loaded = modules_loaded_by(
        "from atomiton.store import atom, computed, create_store; "
        "s = create_store(); a = atom(1); assert s.get(computed(lambda get: get(a) + 1)) == 2"
    )
    assert not {"asyncio", "logging"} & loaded


def test_async_read_functions_are_recognised_as_inspect_does() -> None:
    import functools
    import inspect

    from atomiton.store._atoms.factories import _is_async

    async def read(get: object) -> int:
        return 1

    class Reader:
        async def method(self, get: object) -> int:
            return 1

        def __call__(self, get: object) -> int:
            return 1

    candidates: list[object] = [
        read,
        lambda get: 1,
        functools.partial(read),
        Reader().method,
        Reader(),
        len,
    ]
    for candidate in candidates:
        assert _is_async(candidate) == inspect.iscoroutinefunction(candidate), candidate  # type: ignore[arg-type]
