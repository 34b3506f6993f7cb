"""One timeline across processes: DevTools entries travel over a bridged event bus.

``DevTools.share(bus)`` does two things on a bus joined to others with
``atomiton.events.connect_bus``:

- every entry this process records (atom writes, entity operations, job transitions, hub
  changes) is emitted as a ``devtools.entry`` event, which the bridge carries to every other
  process. Events themselves are not re-sent: the bridge already delivers them, and the attached
  bus records them with the sender's ``origin``;
- every ``devtools.entry`` event that arrived from elsewhere (``event.origin`` set) is recorded on
  this timeline with that origin, so the inspector shows each process's changes marked with it and
  can filter by it.

An entry from another process cannot be jumped to here (its history point lives there).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from atomiton.devtools._recorder import Recorder
from atomiton.devtools._timeline import KINDS, TimelineEntry

SHARE_TYPE = "devtools.entry"
SHARED_PREFIX = "devtools."


class TimelineShare:
    """Publishes local entries on ``bus`` and records the entries other processes publish."""

    def __init__(self, bus: Any, recorder: Recorder) -> None:
        self.bus = bus
        self._recorder = recorder
        self._remove_listener: Callable[[], None] | None = recorder.timeline.add_listener(
            self._publish
        )
        self._unsubscribe: Callable[[], None] | None = bus.on(SHARE_TYPE, self._receive)

    def _publish(self, entry: TimelineEntry) -> None:
        if entry.origin or entry.kind == "event":
            return  # another process's entry, or an event (the bridge carries events itself)
        data = entry.to_dict()
        del data["seq"], data["origin"]
        self.bus.emit(SHARE_TYPE, data, source="devtools")

    def _receive(self, event: Any) -> None:
        origin = getattr(event, "origin", None)
        data = event.data
        if not origin or not isinstance(data, Mapping):
            return  # our own entry coming back locally, or not an entry
        kind = data.get("kind")
        if kind not in KINDS or kind == "event":
            return
        timestamp = data.get("timestamp")
        position = data.get("position")
        before = data.get("before")
        body = data.get("data")
        if kind == "job" and isinstance(body, Mapping):
            self._remote_job(str(origin), str(data.get("label", "")), body)
        self._recorder.record(
            kind,
            str(data.get("source", "?")),
            str(data.get("label", "")),
            dict(body) if isinstance(body, Mapping) else {},
            position=position
            if isinstance(position, int) and not isinstance(position, bool)
            else None,
            origin=str(origin),
            timestamp=float(timestamp) if isinstance(timestamp, int | float) else None,
            before=dict(before) if isinstance(before, Mapping) else None,
        )

    def _remote_job(self, origin: str, label: str, body: Mapping[str, Any]) -> None:
        # Another process's job joins the jobs table too, keyed by origin so ids never clash.
        status = str(body.get("status", ""))
        name = label[: -len(status) - 1] if status and label.endswith(" " + status) else label
        current, total = body.get("current"), body.get("total")
        percentage = None
        if isinstance(current, int | float) and isinstance(total, int | float) and total:
            percentage = 100.0 * current / total
        self._recorder.update_job(
            {
                "id": f"{origin}/{body.get('id')}",
                "name": name,
                "status": status,
                "current": current,
                "total": total,
                "percentage": percentage,
                "error": body.get("error"),
                "origin": origin,
            }
        )

    def close(self) -> None:
        """Stop publishing and receiving; idempotent."""
        remove, self._remove_listener = self._remove_listener, None
        if remove is not None:
            remove()
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()
