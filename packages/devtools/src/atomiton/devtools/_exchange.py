"""Export and import of a DevTools recording as plain JSON-safe data (no pickle, ever)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from atomiton.devtools._atom_history import HistoryPoint, StoreHistory
from atomiton.devtools._errors import ImportDataError
from atomiton.devtools._recorder import Recorder
from atomiton.devtools._timeline import TimelineEntry
from atomiton.devtools._track_atoms import AtomStoreAttachment
from atomiton.devtools._track_entities import EntityClientAttachment

if TYPE_CHECKING:
    from atomiton.devtools._devtools import Attachment, DevTools


def export_data(
    devtools: DevTools, attached: Mapping[str, Attachment], imported: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    """Build the export of ``devtools`` (see ``DevTools.export``)."""
    from atomiton.devtools._devtools import EXPORT_FORMAT, EXPORT_VERSION

    stores: dict[str, Any] = {}
    clients: dict[str, Any] = {}
    for name, attachment in attached.items():
        if isinstance(attachment, AtomStoreAttachment):
            stores[name] = _history_data(attachment.history)
        elif isinstance(attachment, EntityClientAttachment):
            clients[name] = attachment.state()
    for name, record in imported.items():
        if record["kind"] == "store":
            stores[name] = _history_data(record["history"])
        else:
            clients[name] = dict(record["state"])
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "stores": stores,
        "entities": clients,
        "timeline": [entry.to_dict() for entry in devtools.timeline.entries()],
        "events": devtools.events(),
        "jobs": devtools.jobs(),
    }


def _history_data(history: StoreHistory) -> dict[str, Any]:
    return {"position": history.position, "history": [p.to_dict() for p in history.points()]}


def _history(name: str, data: Any, max_points: int) -> StoreHistory:
    try:
        points = [
            HistoryPoint(
                int(p["position"]), str(p["label"]), float(p["timestamp"]), dict(p["state"])
            )
            for p in data["history"]
        ]
        position = int(data["position"])
    except (KeyError, TypeError, ValueError) as error:
        raise ImportDataError(f"the history of store {name!r} is malformed: {error}") from error
    if points and not points[0].position <= position <= points[-1].position:
        raise ImportDataError(f"store {name!r}: position {position} is outside its history")
    history = StoreHistory(max(max_points, len(points), 2))
    history.load(points, position)
    return history


def import_data(
    data: Mapping[str, Any],
    recorder: Recorder,
    attached: Mapping[str, Attachment],
    imported: dict[str, dict[str, Any]],
) -> None:
    """Load an export into ``recorder``, restoring attached stores of the same name."""
    timeline = data.get("timeline", [])
    if not isinstance(timeline, list):
        raise ImportDataError("the export's 'timeline' must be a list of entries")
    try:
        entries = [TimelineEntry.from_dict(item) for item in timeline]
    except (KeyError, TypeError, ValueError) as error:
        raise ImportDataError(f"a timeline entry of the export is malformed: {error}") from error
    stores = data.get("stores", {})
    clients = data.get("entities", {})
    if not isinstance(stores, Mapping) or not isinstance(clients, Mapping):
        raise ImportDataError("the export's 'stores' and 'entities' must be objects")
    histories = {name: _history(name, value, 1000) for name, value in stores.items()}

    recorder.timeline.load(entries)
    for event in data.get("events", []):
        recorder.add_event(dict(event))
    for job in data.get("jobs", []):
        recorder.update_job(dict(job))
    for name, history in histories.items():
        attachment = attached.get(name)
        if isinstance(attachment, AtomStoreAttachment):
            points = history.points()
            attachment.history.load(points, history.position)
            if points:
                attachment.restore_point(history.point(history.position))
        else:
            imported[name] = {"kind": "store", "history": history}
    for name, state in clients.items():
        if name not in attached:
            imported[name] = {"kind": "client", "state": dict(state)}
    recorder.touch()
