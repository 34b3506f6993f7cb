"""Checking EventBus constructor arguments, so a wrong one fails at construction, named."""

from __future__ import annotations

from atomiton.events._errors import BusConfigError


def check_bus_settings(
    history_limit: object, on_error: object, history_age: object, log: object, clock: object
) -> None:
    """Refuse impossible constructor arguments now, naming them, rather than at the first emit."""
    if history_limit is not None and (
        isinstance(history_limit, bool) or not isinstance(history_limit, int)
    ):
        raise BusConfigError(
            f"history_limit must be an int number of events or None, got {history_limit!r}"
        )
    if history_limit is not None and history_limit < 0:
        raise BusConfigError(f"history_limit must be >= 0 events, got {history_limit}")
    if history_age is not None and (
        isinstance(history_age, bool) or not isinstance(history_age, (int, float))
    ):
        raise BusConfigError(f"history_age must be seconds (a number) or None, got {history_age!r}")
    if history_limit is None and history_age is None:
        raise BusConfigError("history_limit=None (no count limit) needs history_age to bound it")
    if history_age is not None and not history_age > 0:  # also refuses NaN
        raise BusConfigError(f"history_age must be > 0 seconds, got {history_age}")
    if on_error is not None and not callable(on_error):
        raise BusConfigError(f"on_error must be callable(error, event) or None, got {on_error!r}")
    # Duck-typed so the bus module need not import _log (and json) for an unlogged bus.
    if log is not None and not all(
        callable(getattr(log, name, None)) for name in ("encode", "write_record", "close")
    ):
        raise BusConfigError(
            f"log must be an EventLog (e.g. EventLog(path)), got {type(log).__name__}: {log!r:.60}"
        )
    if not callable(clock):
        raise BusConfigError(f"clock must be callable() -> seconds, got {clock!r}")
