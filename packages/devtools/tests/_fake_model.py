"""A stand-in for DevTools behind the inspector server: it records the commands it is sent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class FakeModel:
    """What the server asks of a DevTools, recording every command it receives.

    Args:
        stores: the store names ``view()`` lists.
        redo_result: what ``redo`` answers (False: nothing to redo).
    """

    def __init__(self, stores: tuple[str, ...] = (), *, redo_result: bool = True) -> None:
        self.stores = stores
        self.redo_result = redo_result
        self.revision = 1
        self.calls: list[tuple[str, str, Any]] = []

    def view(self) -> dict[str, Any]:
        return {"revision": self.revision, "stores": [{"name": n} for n in self.stores]}

    def undo(self, name: str) -> bool:
        self.calls.append(("undo", name, None))
        return True

    def redo(self, name: str) -> bool:
        self.calls.append(("redo", name, None))
        return self.redo_result

    def jump_to(self, name: str, index: int) -> bool:
        self.calls.append(("jump", name, index))
        return True

    def set_value(self, name: str, atom: str, value: Any) -> None:
        self.calls.append(("set", name, value))

    def pause(self) -> bool:
        self.calls.append(("pause", "", None))
        return True

    def resume(self) -> bool:
        self.calls.append(("resume", "", None))
        return True

    def export(self) -> dict[str, Any]:
        return {"format": "atomiton-devtools", "stores": {}}

    def import_(self, data: Mapping[str, Any]) -> None:
        self.calls.append(("import", str(data.get("format")), None))

    def timeline_page(self, **query: Any) -> dict[str, Any]:
        self.calls.append(("timeline", repr(sorted(query.items())), None))
        return {"entries": [], "matched": 0}
