"""What an import loads, seen from a fresh interpreter: for the per-package import-cost tests.

Every package face is lazy (PEP 562), so ``import atomiton.<x>`` must load none of the modules in
``HEAVY_AT_IMPORT``: each costs milliseconds at start-up or pulls in a server driver (issue 19).
"""

from __future__ import annotations

import subprocess
import sys

HEAVY_AT_IMPORT = (
    "asyncio",
    "inspect",
    "typing",
    "importlib.metadata",
    "json",
    "re",
    "logging",
    "concurrent",
    "multiprocessing",
    "sqlite3",
    "psycopg",
    "psycopg_pool",
    "redis",
    "nats",
    "distributed",
    "dask",
    "msgpack",
    "starlette",
    "uvicorn",
    "rich",
    "httpx",
)
"""Modules a package face must not load; they load when the name that needs them is used."""


def modules_loaded_by(statement: str) -> set[str]:
    """Run ``statement`` in a fresh interpreter and return the modules it added to sys.modules."""
    # Only sys in the probe itself, so every module on the list (json too) is seen.
    probe = (
        f"import sys; before = set(sys.modules); {statement}; "
        "print(chr(10).join(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return set(out.split())
