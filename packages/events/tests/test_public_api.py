"""The package face: the names in __all__ are the public contract."""

from __future__ import annotations

import atomiton.events


def test_public_names_are_pinned() -> None:
    assert set(atomiton.events.__all__) >= {
        "Event",
        "EventBus",
        "EventDomain",
        "EventLog",
        "EventStream",
        "EventsError",
        "JobEvent",
        "StorageOperation",
        "StoreChanged",
        "provide",
        "system_event",
    }
    for name in atomiton.events.__all__:
        assert hasattr(atomiton.events, name), name


def test_every_error_derives_from_the_package_base() -> None:
    errors = [
        getattr(atomiton.events, name) for name in atomiton.events.__all__ if name.endswith("Error")
    ]
    assert len(errors) >= 9
    assert all(issubclass(error, atomiton.events.EventsError) for error in errors)
