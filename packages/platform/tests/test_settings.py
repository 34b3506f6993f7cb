from __future__ import annotations

import enum
from datetime import timedelta
from pathlib import Path

import pytest

from atomiton.platform import SettingsError, env, parse_duration


class Mode(enum.Enum):
    FAST = "fast"
    SAFE = "safe"


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        (str, " spaced ", " spaced "),
        (int, "42", 42),
        (int, "0x10", 16),
        (float, "0.25", 0.25),
        (bool, "yes", True),
        (bool, "OFF", False),
        (bool, "1", True),
        (Path, "/tmp/x", Path("/tmp/x")),
        (Mode, "fast", Mode.FAST),
        (Mode, "SAFE", Mode.SAFE),
        (timedelta, "250ms", timedelta(milliseconds=250)),
        (timedelta, "2s", timedelta(seconds=2)),
        (timedelta, "1h30m", timedelta(minutes=90)),
        (timedelta, "1.5", timedelta(seconds=1.5)),
    ],
)
def test_reads_typed_values(kind: type, raw: str, expected: object) -> None:
    assert env("ATOMITON_X", kind, environ={"ATOMITON_X": raw}) == expected


@pytest.mark.parametrize(
    ("kind", "raw", "form"),
    [
        (int, "eight", "an integer"),
        (float, "fast", "a number"),
        (bool, "maybe", "a boolean"),
        (Mode, "slow", "one of FAST, SAFE"),
        (timedelta, "2 parsecs", "a duration"),
        (timedelta, "1e20", "a duration"),
        (timedelta, "99999999999d", "a duration"),
        (timedelta, "inf", "a duration"),
    ],
)
def test_bad_value_names_variable_value_and_expected_form(kind: type, raw: str, form: str) -> None:
    with pytest.raises(SettingsError) as info:
        env("ATOMITON_X", kind, environ={"ATOMITON_X": raw})
    message = str(info.value)
    assert "ATOMITON_X" in message
    assert repr(raw) in message
    assert form in message
    assert (info.value.variable, info.value.value) == ("ATOMITON_X", raw)


def test_unset_or_empty_returns_the_default() -> None:
    assert env("ATOMITON_X", int, default=7, environ={}) == 7
    assert env("ATOMITON_X", int, default=None, environ={"ATOMITON_X": " "}) is None


def test_unset_without_default_is_an_error_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="ATOMITON_X is not set"):
        env("ATOMITON_X", int, environ={})


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATOMITON_WORKERS", "3")
    assert env("ATOMITON_WORKERS", int) == 3
    assert env("ATOMITON_WORKERS") == "3"


def test_unsupported_type_is_a_type_error_even_when_unset() -> None:
    with pytest.raises(TypeError, match="cannot read type"):
        env("ATOMITON_X", list, default=[], environ={})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("2s", 2.0),
        ("1m", 60.0),
        ("1h30m", 5400.0),
        ("2s 500ms", 2.5),
        ("10us", 1e-5),
        ("0.5", 0.5),
        ("1d", 86400.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "ms", "2x", "-1", "2s and more", "nan", "inf", "1e400"])
def test_parse_duration_rejects_malformed_text(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)
