"""Export and import of a DevTools recording as plain JSON-safe data (no pickle, ever)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from atomiton.devtools import _import_checks as checks
from atomiton.devtools._atom_history import HistoryPoint, StoreHistory
from atomiton.devtools._recorder import Recorder
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


def _history(points: list[HistoryPoint], position: int, max_points: int) -> StoreHistory:
    history = StoreHistory(max(max_points, len(points), 2))
    history.load(points, position)
    return history


def import_data(
    data: Mapping[str, Any],
    recorder: Recorder,
    attached: Mapping[str, Attachment],
    imported: dict[str, dict[str, Any]],
) -> None:
    """Load an export into ``recorder``, restoring attached stores of the same name.

    The whole export is read and checked first (``_import_checks``): a malformed one raises
    ``ImportDataError`` naming the part that is wrong and changes nothing.
    """
    entries = checks.timeline(data.get("timeline", []))
    stores = checks.mapping(data.get("stores", {}), "the export's 'stores'")
    clients = checks.mapping(data.get("entities", {}), "the export's 'entities'")
    histories = {
        name: _history(*checks.history(name, value), 1000) for name, value in stores.items()
    }
    counts = {name: checks.entity_counts(name, value) for name, value in clients.items()}
    events = checks.records(data.get("events", []), "the export's 'events'")
    jobs = checks.jobs(data.get("jobs", []))

    recorder.timeline.load(entries)
    for event in events:
        recorder.add_event(event)
    for job in jobs:
        recorder.update_job(job)
    for name, history in histories.items():
        attachment = attached.get(name)
        if isinstance(attachment, AtomStoreAttachment):
            points = history.points()
            attachment.history.load(points, history.position)
            if points:
                attachment.restore_point(history.point(history.position))
        else:
            imported[name] = {"kind": "store", "history": history}
    for name, state in counts.items():
        if name not in attached:
            imported[name] = {"kind": "client", "state": state}
    recorder.touch()
