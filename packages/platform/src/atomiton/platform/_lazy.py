"""Lazy package faces (PEP 562): a package re-exports its names but imports each on first use.

atomiton packages keep ``import atomiton.<x>`` cheap (platform's budget is 10 ms, and a worker
process's start-up pays for every import) while still re-exporting the whole public API from
``__init__``. Each face maps public names to the private module that defines them and installs
the pair of hooks this module builds.
"""

import sys

# Neither typing nor __future__ at run time: this module is part of every lazy face's import.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping


def lazy_exports(
    package: str, homes: "Mapping[str, str]", names: "Iterable[str]"
) -> "tuple[Callable[[str], object], Callable[[], list[str]]]":
    """Build a package's module-level ``__getattr__`` and ``__dir__`` for lazy re-exports.

    Args:
        package: The package's ``__name__`` (it must be importing or imported).
        homes: Public name -> the private submodule (``"_bus"``) that defines it.
        names: The package's ``__all__``, listed by ``dir()`` before first use.

    Returns:
        ``(__getattr__, __dir__)`` to assign in the package's ``__init__``. A name is looked
        up once; afterwards it lives in the module's globals and the hook is not called.

    Example:
        >>> # in atomiton/events/__init__.py, hidden from type checkers:
        >>> # __getattr__, __dir__ = lazy_exports(__name__, _HOME, __all__)
    """
    namespace = sys.modules[package].__dict__
    listed = frozenset(names)

    def __getattr__(name: str) -> object:
        module_name = homes.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        from importlib import import_module  # only on first use: importing the face stays free

        value = getattr(import_module(f"{package}.{module_name}"), name)
        namespace[name] = value  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | listed)

    return __getattr__, __dir__
