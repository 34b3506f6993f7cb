"""The atomiton error hierarchy of this package: every error it raises derives from PlatformError.

::

    PlatformError
    ├── CapabilityError          require() found a capability missing on this machine
    ├── SettingsError            an environment variable's value has the wrong form (ValueError)
    ├── CircuitOpenError         a CircuitBreaker is open and refuses calls until retry_at
    └── ContainerError           anything the dependency-injection Container refuses
        ├── ResolutionError      nothing registered for a key, or a parameter unresolvable
        ├── CircularDependencyError   the dependency graph has a cycle: ``A -> B -> A``
        └── ScopeError           a scoped service outside a scope, or held by a singleton

Errors that are plain bad arguments to a constructor (a negative delay, an unknown jitter mode)
raise the built-in ``ValueError`` / ``TypeError`` naming the argument.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


class PlatformError(Exception):
    """Base class of every error raised by atomiton.platform."""


class CapabilityError(PlatformError):
    """A required capability is missing on this machine.

    Attributes:
        capability: The name of the missing capability (e.g. ``"sqlite_fts5"``).
        needed_by: What needed it, as given to ``Capabilities.require``, or None.
    """

    def __init__(self, capability: str, needed_by: str | None, detail: str) -> None:
        self.capability = capability
        self.needed_by = needed_by
        who = f"{needed_by} needs" if needed_by else "this code needs"
        super().__init__(f"{who} the capability {capability!r}, which is missing: {detail}")


class SettingsError(PlatformError, ValueError):
    """An environment variable holds a value that cannot be read as the expected type.

    Attributes:
        variable: The environment variable's name.
        value: The raw text that was found, or None when the variable is not set.
        expected: A human description of the accepted form.
    """

    def __init__(self, variable: str, value: str | None, expected: str) -> None:
        self.variable = variable
        self.value = value
        self.expected = expected
        if value is None:
            message = f"environment variable {variable} is not set: expected {expected}"
        else:
            message = f"environment variable {variable}={value!r} is invalid: expected {expected}"
        super().__init__(message)


class CircuitOpenError(PlatformError):
    """A circuit breaker is open: the call was refused without running.

    Attributes:
        name: The breaker's name.
        retry_at: The breaker clock's value at which a trial call will be let through.
        retry_in: Seconds from the moment of refusal until ``retry_at`` (never negative).
    """

    def __init__(self, name: str, retry_at: float, retry_in: float, failures: int) -> None:
        self.name = name
        self.retry_at = retry_at
        self.retry_in = retry_in
        super().__init__(
            f"circuit {name!r} is open after {failures} consecutive failure(s); "
            f"it will let a trial call through in {retry_in:.3g} s"
        )


class ContainerError(PlatformError):
    """Base class of the dependency-injection container's errors."""


class ResolutionError(ContainerError, LookupError):
    """A key has no registration, or a parameter of its factory cannot be resolved.

    Attributes:
        key: The key that could not be resolved.
        chain: The keys being resolved when it happened, outermost first.
    """

    def __init__(self, message: str, key: object = None, chain: Sequence[object] = ()) -> None:
        self.key = key
        self.chain = tuple(chain)
        super().__init__(message)


class CircularDependencyError(ContainerError):
    """The dependency graph has a cycle.

    Attributes:
        cycle: The keys along the cycle, the first repeated at the end.
    """

    def __init__(self, message: str, cycle: Sequence[object] = ()) -> None:
        self.cycle = tuple(cycle)
        super().__init__(message)


class ScopeError(ContainerError):
    """A scoped service was resolved outside a scope, or a singleton depends on a scoped one."""
