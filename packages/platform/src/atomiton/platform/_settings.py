"""Typed settings from environment variables: ``env(name, type, default)``.

Empty values count as unset, so ``FOO= cmd`` falls back to the default like an absent ``FOO``.
A present but malformed value is never silently replaced by the default: it raises SettingsError
naming the variable, the value and the accepted form.
"""

from __future__ import annotations

import enum
import math
import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, overload

from atomiton.platform._errors import SettingsError

if TYPE_CHECKING:
    from collections.abc import Mapping

T = TypeVar("T")
D = TypeVar("D")


class _Missing(enum.Enum):
    MISSING = "MISSING"


MISSING = _Missing.MISSING

_TRUE = frozenset({"1", "true", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "no", "n", "off"})
_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
DURATION_FORM = 'a duration such as "250ms", "2s", "1.5m", "1h30m" or plain seconds "0.25"'


def parse_duration(text: str) -> float:
    """Parse a duration into seconds.

    Accepts plain seconds (``"0.25"``) or number-unit pairs with units ns, us/µs, ms, s, m/min,
    h and d, optionally chained (``"1h30m"``, ``"2s 500ms"``).

    Raises:
        ValueError: ``text`` is not such a duration.
    """
    import re

    stripped = text.strip()
    try:
        seconds = float(stripped)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"not a duration: {text!r} (negative, infinite or NaN)")
        return seconds
    pieces = re.findall(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(ns|us|µs|ms|sec|min|s|m|h|d)", stripped)
    if not pieces or "".join(re.findall(r"\S+", stripped)) != "".join(
        number + unit for number, unit in pieces
    ):
        raise ValueError(f"not a duration: {text!r}; expected {DURATION_FORM}")
    return sum(float(number) * _UNITS[unit] for number, unit in pieces)


def _convert(name: str, raw: str, kind: Any) -> Any:
    """Turn ``raw`` into ``kind`` or raise SettingsError naming the variable."""
    text = raw.strip()
    if kind is str:
        return raw
    if kind is bool:
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise SettingsError(name, raw, "a boolean: one of 1/0, true/false, yes/no, on/off")
    if kind is int:
        try:
            return int(text, 0) if text.lower().startswith(("0x", "0o", "0b")) else int(text)
        except ValueError:
            raise SettingsError(name, raw, "an integer such as 8") from None
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise SettingsError(name, raw, "a number such as 0.5") from None
    if kind is timedelta:
        try:
            return timedelta(seconds=parse_duration(text))
        except (ValueError, OverflowError):  # "1e20" parses but exceeds timedelta's range
            raise SettingsError(name, raw, DURATION_FORM) from None
    if isinstance(kind, type) and issubclass(kind, Path):
        return kind(text).expanduser()
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        members: Mapping[str, enum.Enum] = kind.__members__
        for member_name, member in members.items():
            if member_name.lower() == text.lower() or str(member.value) == text:
                return member
        choices = ", ".join(members)
        raise SettingsError(name, raw, f"one of {choices} (a {kind.__name__} member)")
    _check_supported(name, kind)
    return raw


@overload
def env(
    name: str,
    type: None = None,
    default: str | _Missing = MISSING,
    *,
    environ: Mapping[str, str] | None = None,
) -> str: ...
@overload
def env(
    name: str,
    type: type[T],
    default: _Missing = MISSING,
    *,
    environ: Mapping[str, str] | None = None,
) -> T: ...
@overload
def env(
    name: str, type: type[T], default: D, *, environ: Mapping[str, str] | None = None
) -> T | D: ...


def env(
    name: str,
    type: type[Any] | None = None,
    default: Any = MISSING,
    *,
    environ: Mapping[str, str] | None = None,
) -> Any:
    """Read environment variable ``name`` as ``type``.

    Example::

        workers = env("ATOMITON_WORKERS", int, default=4)
        timeout = env("ATOMITON_TIMEOUT", timedelta, default=timedelta(seconds=2))  # "250ms"
        debug = env("ATOMITON_DEBUG", bool, default=False)

    Args:
        name: The variable's name.
        type: ``str`` (the default), ``int``, ``float``, ``bool``, ``pathlib.Path``,
            ``datetime.timedelta`` (read from durations like ``"250ms"``) or an Enum subclass
            (matched by member name, case-insensitive, or by value).
        default: Returned when the variable is unset or empty; without one, unset is an error.
        environ: Variables to read instead of ``os.environ`` (for tests).

    Returns:
        The converted value, or ``default``.

    Raises:
        SettingsError: The value has the wrong form, or it is unset and there is no default.
        TypeError: ``type`` is not one of the supported types.
    """
    kind = str if type is None else type
    source = os.environ if environ is None else environ
    raw = source.get(name)
    _check_supported(name, kind)
    if raw is None or raw.strip() == "":
        if default is MISSING:
            raise SettingsError(name, None, f"a value ({getattr(kind, '__name__', kind)})")
        return default
    return _convert(name, raw, kind)


def _check_supported(name: str, kind: Any) -> None:
    """Reject an unsupported ``type`` even when the variable is unset (a typo fails early)."""
    if kind in (str, bool, int, float, timedelta):
        return
    if isinstance(kind, type) and issubclass(kind, (Path, enum.Enum)):
        return
    raise TypeError(
        f"env({name!r}, ...) cannot read type {kind!r}; use str, int, float, bool, Path, "
        "datetime.timedelta (durations) or an Enum subclass"
    )
