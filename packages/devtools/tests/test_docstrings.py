"""The examples in docstrings run and print what they claim."""

import doctest

import pytest

import atomiton.devtools._devtools
import atomiton.devtools._patterns
import atomiton.devtools._safe_text


@pytest.mark.parametrize(
    "module",
    [atomiton.devtools._devtools, atomiton.devtools._patterns, atomiton.devtools._safe_text],
    ids=lambda m: m.__name__,
)
def test_docstring_examples_hold(module: object) -> None:
    result = doctest.testmod(module, raise_on_error=False, verbose=False)  # type: ignore[arg-type]
    assert result.attempted > 0
    assert result.failed == 0
