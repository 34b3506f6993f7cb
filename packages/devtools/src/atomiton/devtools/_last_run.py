"""Where ``atomiton demo`` keeps its last run for ``atomiton devtools serve --last``."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from atomiton.platform import data_dir

LAST_DEMO = "last-demo.json"


def last_export_path() -> Path:
    """The file the demo saves its DevTools export to (in the atomiton data folder)."""
    return data_dir() / "devtools" / LAST_DEMO


def save_export(export: dict[str, Any], path: Path | None = None) -> Path:
    """Write ``export`` as JSON, atomically (a reader never sees half a file); return the path."""
    target = path or last_export_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".last-demo-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(export, file, ensure_ascii=False)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
