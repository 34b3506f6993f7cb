"""``provide``: registers the default EventBus in an atomiton Container."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from atomiton.events._bus import EventBus
from atomiton.events._errors import BusConfigError
from atomiton.events._log import EventLog
from atomiton.platform import Container


def provide(container: Container, settings: Mapping[str, Any] | None = None) -> None:
    """Register one lazily built EventBus under the ``EventBus`` type and the key ``"events"``.

    Nothing is built until the first resolve; both keys give the same bus. The container calls
    ``bus.close()`` when it closes (subscriptions dropped, the log file closed).

    Args:
        container: The atomiton Container to register in.
        settings: Optional ``"events.history_limit"`` (int, default 1000), ``"events.history_age"``
            (seconds) and ``"events.log"`` (path of a JSON-lines EventLog).

    Raises:
        BusConfigError: A setting has the wrong type or an impossible value (raised here,
            before anything is built).
    """
    options = dict(settings or {})
    history = options.get("events.history_limit", 1000)
    age = options.get("events.history_age")
    log_path = options.get("events.log")
    if history is not None and (
        isinstance(history, bool) or not isinstance(history, int) or history < 0
    ):
        raise BusConfigError(
            f"settings['events.history_limit'] must be an int >= 0, got {history!r}"
        )
    if age is not None and (
        isinstance(age, bool) or not isinstance(age, (int, float)) or not age > 0
    ):
        raise BusConfigError(f"settings['events.history_age'] must be seconds > 0, got {age!r}")
    if history is None and age is None:
        raise BusConfigError("settings['events.history_limit'] is None: set events.history_age too")
    if log_path is not None and not isinstance(log_path, (str, os.PathLike)):
        raise BusConfigError(f"settings['events.log'] must be a file path, got {log_path!r}")

    def make_event_bus() -> EventBus:
        log = EventLog(log_path) if log_path else None
        return EventBus(history_limit=history, history_age=age, log=log)

    registered = EventBus  # the key, fixed now: "events" must always mean this registration

    def resolve_event_bus() -> EventBus:
        return container.resolve(registered)

    container.singleton(registered, make_event_bus)
    container.singleton("events", resolve_event_bus)
