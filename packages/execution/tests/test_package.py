"""The package face: version, typing marker, no namespace __init__."""

from importlib.metadata import version
from pathlib import Path

import atomiton.execution


def test_version_matches_installed_metadata() -> None:
    assert atomiton.execution.__version__ == version("atomiton-execution")


def test_package_is_typed() -> None:
    assert (Path(atomiton.execution.__file__).parent / "py.typed").is_file()


def test_atomiton_stays_a_namespace_package() -> None:
    import atomiton

    assert getattr(atomiton, "__file__", None) is None


def test_public_api_is_pinned() -> None:
    assert atomiton.execution.__all__ == [
        "DaskWorkers",
        "EventSink",
        "ExecutionError",
        "Job",
        "JobContext",
        "JobEventKind",
        "JobStatus",
        "JobTimeoutError",
        "NotImportableError",
        "NotInJobError",
        "ProcessError",
        "ProcessHandle",
        "ProcessResult",
        "ProcessTimeoutError",
        "ProcessWorkers",
        "Progress",
        "SerializationError",
        "ThreadWorkers",
        "WorkerCrashedError",
        "WorkerStats",
        "Workers",
        "WorkersShutdownError",
        "WorkersStats",
        "__version__",
        "current_job",
        "provide",
        "spawn",
    ]
    assert sorted(atomiton.execution.__all__) == atomiton.execution.__all__


def test_every_error_derives_from_execution_error() -> None:
    from atomiton.execution import ExecutionError

    errors = [
        getattr(atomiton.execution, name)
        for name in atomiton.execution.__all__
        if name.endswith("Error") and name != "ExecutionError"
    ]
    assert errors
    assert all(issubclass(error, ExecutionError) for error in errors)


def test_an_unknown_name_is_an_attribute_error() -> None:
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'ThreadPool'"):
        atomiton.execution.ThreadPool  # type: ignore[attr-defined]  # noqa: B018
    assert "ThreadWorkers" in dir(atomiton.execution)
