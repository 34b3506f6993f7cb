"""Attaching a ``StoreHub``: its instances (state, ref-counts, errors) and their lifecycle changes.

A hub has no listener hook: it lives on one event loop and changes only when that loop runs. The
inspector asks ``DevTools.revision`` ten times a second, and each time this attachment compares
``hub.instances()`` with what it saw last; a changed state becomes a ``"hub"`` timeline entry
(``issues/7 running``). Nothing is added to the hub, so detaching has nothing to remove.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from atomiton.devtools._recorder import Recorder

_TRIES = 3


class HubLike(Protocol):
    """The part of ``atomiton.store.StoreHub`` devtools uses."""

    def instances(self) -> list[Any]:
        """Every tracked instance: store, id, state, refs, error, disposal_pending."""
        ...


def _state(value: Any) -> str:
    return str(getattr(value, "value", value))


class HubAttachment:
    """Shows one hub's instances and records their lifecycle changes on the timeline."""

    kind = "hub"

    def __init__(self, name: str, hub: HubLike, recorder: Recorder) -> None:
        self.name = name
        self.target = hub
        self._recorder = recorder
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], tuple[str, int, str | None]] = {}
        self.poll()

    def _read(self) -> list[dict[str, Any]]:
        for _ in range(_TRIES):
            try:
                found = self.target.instances()
                break
            except RuntimeError:  # the hub's loop changed a table while another thread read it
                continue
        else:
            return []
        return [
            {
                "store": str(i.store),
                "id": str(i.id),
                "state": _state(i.state),
                "refs": int(i.refs),
                "error": i.error,
                "disposal_pending": bool(getattr(i, "disposal_pending", False)),
            }
            for i in found
        ]

    def poll(self) -> None:
        """Record what changed since the last look (new, changed and gone instances)."""
        rows = self._read()
        now = {(r["store"], r["id"]): (r["state"], r["refs"], r["error"]) for r in rows}
        with self._lock:
            before, self._seen = self._seen, now
        if now == before:
            return
        for key, (state, refs, error) in now.items():
            old = before.get(key)
            if old is None or old[0] != state or old[2] != error:
                data = {"store": key[0], "id": key[1], "state": state, "refs": refs}
                if error:
                    data["error"] = error
                self._recorder.record("hub", self.name, f"{key[0]}/{key[1]} {state}", data)
        for key in sorted(before.keys() - now.keys()):
            data = {"store": key[0], "id": key[1], "state": "disposed", "refs": 0}
            self._recorder.record("hub", self.name, f"{key[0]}/{key[1]} disposed", data)
        self._recorder.touch()

    def view(self) -> dict[str, Any]:
        """What the inspector's hub panel shows."""
        return {
            "name": self.name,
            "disposed": bool(getattr(self.target, "is_disposed", False)),
            "instances": self._read(),
        }

    def detach(self) -> None:
        """Nothing was added to the hub; kept for the attachment interface."""
