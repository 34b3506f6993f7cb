"""The typed catalogue of system events that other atomiton packages emit.

Emitters send plain dicts (they must not import this package); subscribers turn an Event's dict
back into one of these frozen dataclasses with ``Cls.from_event(event)`` or ``system_event(event)``,
which check the keys exactly and the value types, so a malformed payload fails loudly, in one place.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import Field, dataclass, fields
from typing import Any, ClassVar, Self

from atomiton.events._errors import EventDataError
from atomiton.events._event import Event
from atomiton.events._patterns import matches
from atomiton.platform import JobEventKind, JobStatus

# JobStatus and JobEventKind are atomiton.platform's (one vocabulary with atomiton.execution),
# re-exported by the package face.
__all__ = [
    "JobEvent",
    "JobEventKind",
    "JobStatus",
    "StorageOperation",
    "StoreChanged",
    "StoreSynced",
    "SyncedEntity",
    "SystemEvent",
    "system_event",
]

_NUMBER = (int, float)


class _ListOf:
    """A spec entry: a list whose items are each parsed by a payload class."""

    __slots__ = ("item",)

    def __init__(self, item: type[_Payload]) -> None:
        self.item = item


def _check(cls_name: str, data: Any, spec: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise EventDataError(f"{cls_name} data must be a dict, got {type(data).__name__}")
    missing = sorted(set(spec) - set(data))
    extra = sorted(set(data) - set(spec))
    if missing or extra:
        raise EventDataError(
            f"{cls_name} data must have exactly the keys {sorted(spec)}; "
            f"missing {missing}, unexpected {extra}"
        )
    values: dict[str, Any] = {}
    for key, kind in spec.items():
        value = data[key]
        if kind == "str_list":
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise EventDataError(f"{cls_name}.{key} must be a list of str, got {value!r:.80}")
            value = tuple(value)
        elif kind == "number_or_none":
            if value is not None and (isinstance(value, bool) or not isinstance(value, _NUMBER)):
                raise EventDataError(f"{cls_name}.{key} must be a number or None, got {value!r}")
            value = None if value is None else float(value)
        elif kind == "str_or_none":
            if value is not None and not isinstance(value, str):
                raise EventDataError(f"{cls_name}.{key} must be a str or None, got {value!r:.80}")
        elif kind == "any":
            pass
        elif isinstance(kind, _ListOf):
            if not isinstance(value, (list, tuple)):
                raise EventDataError(
                    f"{cls_name}.{key} must be a list of {kind.item.__name__}, got {value!r:.80}"
                )
            value = tuple(kind.item.from_data(item) for item in value)
        elif isinstance(kind, type) and issubclass(kind, enum.Enum):
            try:
                value = kind(value)
            except ValueError:
                choices = [member.value for member in kind]
                raise EventDataError(
                    f"{cls_name}.{key} must be one of {choices}, got {value!r:.80}"
                ) from None
        elif kind is float:
            if isinstance(value, bool) or not isinstance(value, _NUMBER):
                raise EventDataError(f"{cls_name}.{key} must be a number, got {value!r}")
            value = float(value)
        elif isinstance(value, bool) or not isinstance(value, kind):
            raise EventDataError(f"{cls_name}.{key} must be {kind.__name__}, got {value!r:.80}")
        values[key] = value
    return values


class _Payload:
    """Shared behaviour: exact-key parsing from a dict, and back to a dict."""

    __slots__ = ()
    _SPEC: ClassVar[dict[str, Any]]
    # Declared for type checkers (every subclass is a dataclass that sets it), so ``fields(self)``
    # type-checks.
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @classmethod
    def from_data(cls, data: Any) -> Self:
        """Build from a payload dict with exactly the catalogue's keys (lists become tuples).

        Raises:
            EventDataError: Keys missing or unexpected, or a value of the wrong type.
        """
        if isinstance(data, cls):
            return data
        return cls(**_check(cls.__name__, data, cls._SPEC))

    def to_data(self) -> dict[str, Any]:
        """The payload dict that emitters send (tuples become lists, enums their strings)."""
        data: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, tuple):
                value = [item.to_data() if isinstance(item, _Payload) else item for item in value]
            elif isinstance(value, enum.Enum):
                value = value.value
            data[field.name] = value
        return data


class _SystemEvent(_Payload):
    """A catalogue entry: a payload that is also checked against its event's type."""

    __slots__ = ()
    PATTERN: ClassVar[str]

    @classmethod
    def from_event(cls, event: Event) -> Self:
        """Typed data of ``event``, checking that its type belongs to this class.

        Raises:
            EventDataError: The event's type is not this class's, or its data does not fit.
        """
        if not matches(cls.PATTERN, event.type):
            raise EventDataError(
                f"event {event.type!r} is not a {cls.__name__} event ({cls.PATTERN!r})"
            )
        result = cls.from_data(event.data)
        result._check_type(event.type)
        return result

    def _check_type(self, event_type: str) -> None:
        """Hook: refuse an event type that contradicts the data (a job's status)."""


@dataclass(frozen=True, slots=True)
class StoreChanged(_SystemEvent):
    """``store.changed``: entities of a store were created, updated or deleted."""

    PATTERN: ClassVar[str] = "store.changed"
    _SPEC: ClassVar[dict[str, Any]] = {"store": str, "operation": str, "ids": "str_list"}

    store: str
    operation: str
    ids: tuple[str, ...]

    @property
    def event_type(self) -> str:
        """The type to emit this under."""
        return "store.changed"


@dataclass(frozen=True, slots=True)
class StorageOperation(_SystemEvent):
    """``storage.operation``: one storage call finished (or failed), with its cost."""

    PATTERN: ClassVar[str] = "storage.operation"
    _SPEC: ClassVar[dict[str, Any]] = {
        "operation": str,
        "keys": "str_list",
        "duration": float,
        "bytes": int,
        "error": "str_or_none",
    }

    operation: str
    keys: tuple[str, ...]
    duration: float
    bytes: int
    error: str | None

    @property
    def event_type(self) -> str:
        """The type to emit this under."""
        return "storage.operation"


@dataclass(frozen=True, slots=True)
class JobEvent(_SystemEvent):
    """``execution.job.<kind>``: something happened to a job (see ``JobEventKind``).

    ``kind`` names the event (queued, started, progress, succeeded, failed, cancelled,
    timed_out) and ``status`` is the job's status right after it (``kind.status``: queued ->
    pending, started and progress -> running, the final kinds -> their own status). Strings
    given to the constructor become the enums.
    """

    PATTERN: ClassVar[str] = "execution.job.*"
    _SPEC: ClassVar[dict[str, Any]] = {
        "job_id": str,
        "name": str,
        "kind": JobEventKind,
        "status": JobStatus,
        "current": "number_or_none",
        "total": "number_or_none",
        "error": "str_or_none",
    }

    job_id: str
    name: str
    kind: JobEventKind
    status: JobStatus
    current: float | None
    total: float | None
    error: str | None

    def __post_init__(self) -> None:
        for key, enum_type in (("kind", JobEventKind), ("status", JobStatus)):
            value = getattr(self, key)
            if not isinstance(value, enum_type):
                try:
                    object.__setattr__(self, key, enum_type(value))
                except ValueError:
                    choices = [member.value for member in enum_type]
                    raise EventDataError(
                        f"JobEvent.{key} must be one of {choices}, got {value!r:.80}"
                    ) from None
        if self.kind.status is not self.status:
            raise EventDataError(
                f"a {self.kind.value!r} job event leaves the job "
                f"{self.kind.status.value!r}, but its status is {self.status.value!r}"
            )

    @property
    def event_type(self) -> str:
        """The type to emit this under: ``execution.job.<kind>``."""
        return self.kind.event_type

    def _check_type(self, event_type: str) -> None:
        if event_type != self.event_type:
            raise EventDataError(
                f"event {event_type!r} carries kind {self.kind.value!r}; "
                f"expected type {self.event_type!r}"
            )


@dataclass(frozen=True, slots=True)
class SyncedEntity(_Payload):
    """One entity named by a ``store.sync.entities`` event (an item of ``StoreSynced.changes``).

    ``after`` is the entity as the write left it (None for a ``"flush"`` item, which only names
    a key an outbox flush wrote); receivers re-read storage either way.
    """

    _SPEC: ClassVar[dict[str, Any]] = {"store": str, "id": str, "after": "any", "strategy": str}

    store: str
    id: str
    after: Any
    strategy: str


@dataclass(frozen=True, slots=True)
class StoreSynced(_SystemEvent):
    """``store.sync.entities``: an entity client synced over a bus committed writes.

    Published by ``create_client(sync=bus)`` after each committed write or batch (``kind``
    ``"write"``) and after an outbox flush (``"flush"``); ``writer`` is the publishing client,
    ``seq`` its per-writer sequence number (a gap tells a receiver it missed one), ``prefix``
    the storage key prefix the clients share.
    """

    PATTERN: ClassVar[str] = "store.sync.entities"
    _SPEC: ClassVar[dict[str, Any]] = {
        "writer": str,
        "seq": int,
        "prefix": str,
        "kind": str,
        "changes": _ListOf(SyncedEntity),
    }

    writer: str
    seq: int
    prefix: str
    kind: str
    changes: tuple[SyncedEntity, ...]

    @property
    def event_type(self) -> str:
        """The type to emit this under."""
        return "store.sync.entities"


SystemEvent = StoreChanged | StoreSynced | StorageOperation | JobEvent
"""Any payload in the catalogue."""

_CATALOGUE: tuple[
    type[StoreChanged] | type[StoreSynced] | type[StorageOperation] | type[JobEvent], ...
] = (
    StoreChanged,
    StoreSynced,
    StorageOperation,
    JobEvent,
)


def system_event(event: Event) -> SystemEvent:
    """The typed payload of a system event, whichever catalogue entry its type belongs to.

    Raises:
        EventDataError: The type is not in the catalogue, or the data does not fit it.
    """
    for cls in _CATALOGUE:
        if matches(cls.PATTERN, event.type):
            return cls.from_event(event)
    raise EventDataError(
        f"event {event.type!r} is not a system event; the catalogue has "
        f"{[cls.PATTERN for cls in _CATALOGUE]}"
    )
