"""atomiton.platform: detection, settings, resilience, the DI container and the shared vocabulary.

Importing this package loads nothing but this module (the import budget is 10 ms): each public
name is imported from its private module on first access (PEP 562 ``__getattr__``). See the
package README for the whole public API.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from atomiton.platform._breaker import CircuitBreaker as CircuitBreaker
    from atomiton.platform._capabilities import Capabilities as Capabilities
    from atomiton.platform._capabilities import capabilities as capabilities
    from atomiton.platform._cgroup import CgroupLimits as CgroupLimits
    from atomiton.platform._cgroup import read_cgroup_limits as read_cgroup_limits
    from atomiton.platform._container import Container as Container
    from atomiton.platform._detect import PlatformInfo as PlatformInfo
    from atomiton.platform._detect import detect as detect
    from atomiton.platform._dirs import cache_dir as cache_dir
    from atomiton.platform._dirs import config_dir as config_dir
    from atomiton.platform._dirs import data_dir as data_dir
    from atomiton.platform._errors import CapabilityError as CapabilityError
    from atomiton.platform._errors import CircuitOpenError as CircuitOpenError
    from atomiton.platform._errors import CircularDependencyError as CircularDependencyError
    from atomiton.platform._errors import ContainerError as ContainerError
    from atomiton.platform._errors import PlatformError as PlatformError
    from atomiton.platform._errors import ResolutionError as ResolutionError
    from atomiton.platform._errors import ScopeError as ScopeError
    from atomiton.platform._errors import SettingsError as SettingsError
    from atomiton.platform._jobs import JobEventKind as JobEventKind
    from atomiton.platform._jobs import JobStatus as JobStatus
    from atomiton.platform._lazy import lazy_exports as lazy_exports
    from atomiton.platform._provider import provide as provide
    from atomiton.platform._retry import RetryPolicy as RetryPolicy
    from atomiton.platform._scope import Scope as Scope
    from atomiton.platform._settings import env as env
    from atomiton.platform._settings import parse_duration as parse_duration
    from atomiton.platform._sink import EventSink as EventSink
    from atomiton.platform._version import __version__ as __version__

__all__ = [
    "Capabilities",
    "CapabilityError",
    "CgroupLimits",
    "CircuitBreaker",
    "CircuitOpenError",
    "CircularDependencyError",
    "Container",
    "ContainerError",
    "EventSink",
    "JobEventKind",
    "JobStatus",
    "PlatformError",
    "PlatformInfo",
    "ResolutionError",
    "RetryPolicy",
    "Scope",
    "ScopeError",
    "SettingsError",
    "__version__",
    "cache_dir",
    "capabilities",
    "config_dir",
    "data_dir",
    "detect",
    "env",
    "lazy_exports",
    "parse_duration",
    "provide",
    "read_cgroup_limits",
]

# Public name -> private module that defines it.
_HOME = {
    "Capabilities": "_capabilities",
    "CapabilityError": "_errors",
    "CgroupLimits": "_cgroup",
    "CircuitBreaker": "_breaker",
    "CircuitOpenError": "_errors",
    "CircularDependencyError": "_errors",
    "Container": "_container",
    "ContainerError": "_errors",
    "EventSink": "_sink",
    "JobEventKind": "_jobs",
    "JobStatus": "_jobs",
    "PlatformError": "_errors",
    "PlatformInfo": "_detect",
    "ResolutionError": "_errors",
    "RetryPolicy": "_retry",
    "Scope": "_scope",
    "ScopeError": "_errors",
    "SettingsError": "_errors",
    "__version__": "_version",
    "cache_dir": "_dirs",
    "capabilities": "_capabilities",
    "config_dir": "_dirs",
    "data_dir": "_dirs",
    "detect": "_detect",
    "env": "_settings",
    "lazy_exports": "_lazy",
    "parse_duration": "_settings",
    "provide": "_provider",
    "read_cgroup_limits": "_cgroup",
}


# Hidden from type checkers so a misspelt name is still a type error for users.
if not TYPE_CHECKING:
    from atomiton.platform._lazy import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, _HOME, __all__)
