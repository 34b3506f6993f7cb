"""EventSink: the one shape of "something events can be sent to", shared by every package.

Packages that report events (execution's workers, storage's monitoring, the store's entity
client) must not import ``atomiton.events``; they accept any object with this ``emit``, and
``atomiton.events.EventBus`` (or a ``DomainBus``) is one. Declared here, the lowest package, so
the name means one thing across the project.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["EventSink"]


@runtime_checkable
class EventSink(Protocol):
    """Anything with ``emit(type, data, *, source=...)``: an event bus as seen by an emitter.

    ``type`` is the dot-separated event type (``"execution.job.started"``), ``data`` the
    payload (a dict with the fixed keys of the typed catalogue in ``atomiton.events``) and
    ``source`` the emitting package's name. The return value is ignored.
    """

    def emit(self, type: str, data: Any, /, *, source: str) -> object:
        """Deliver an event of ``type`` carrying ``data``, sent by ``source``."""
        ...
