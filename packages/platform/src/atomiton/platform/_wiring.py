"""Autowiring: what a factory needs, read from its signature's type annotations.

A parameter annotated ``T`` depends on the registration for ``T``; ``T | None`` on ``T``;
``Annotated[T, "key"]`` on the string key ``"key"``. A parameter whose dependency is not registered
falls back to its default, and without a default it is an error naming it. ``*args`` and
``**kwargs`` are never filled. Analysis happens once per registration, at first resolve or at
``validate()``, never at import or registration time.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from typing import Any

from atomiton.platform._errors import ResolutionError

Key = type[Any] | str

SINGLETON = "singleton"
TRANSIENT = "transient"
SCOPED = "scoped"
INSTANCE = "instance"

# How a factory produces its service (decides how it is created and cleaned up).
PLAIN = "plain"  # returns the service (maybe a context manager or something with close())
GENERATOR = "generator"  # yields the service once; the rest of the body is the cleanup
ASYNC_GENERATOR = "async_generator"
COROUTINE = "coroutine"  # async def returning the service

_NO_DEFAULT = inspect.Parameter.empty


def describe(key: object) -> str:
    """A short human name for a key: a type's qualified name or a quoted string key."""
    if isinstance(key, str):
        return repr(key)
    name = getattr(key, "__qualname__", None) or getattr(key, "__name__", None)
    return str(name) if name else repr(key)


def chain_text(chain: typing.Sequence[object]) -> str:
    """``A -> B -> C`` for a resolution chain."""
    return " -> ".join(describe(key) for key in chain)


class Param:
    """One parameter of a factory: where its value comes from."""

    __slots__ = ("has_default", "key", "name", "positional")

    def __init__(self, name: str, key: Key | None, has_default: bool, positional: bool) -> None:
        self.name = name
        self.key = key
        self.has_default = has_default
        self.positional = positional


def _key_of(annotation: Any) -> Key | None:
    """The container key an annotation asks for, or None if it names none."""
    if annotation is _NO_DEFAULT:
        return None
    if typing.get_origin(annotation) is typing.Annotated:
        for extra in annotation.__metadata__:
            if isinstance(extra, str):
                return extra
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return _key_of(members[0]) if len(members) == 1 else None
    return annotation if isinstance(annotation, type) else None


class Registration:
    """A key's recipe: lifetime, factory, and (lazily) the factory's parameters."""

    __slots__ = ("_params", "factory", "is_class", "key", "kind", "lifetime", "may_clean", "value")

    def __init__(self, key: Key, lifetime: str, factory: Any = None, value: Any = None) -> None:
        self.key = key
        self.lifetime = lifetime
        self.factory = factory
        self.value = value
        self._params: tuple[Param, ...] | None = None
        self.is_class = isinstance(factory, type)
        if lifetime == INSTANCE:
            self.kind = PLAIN
        elif inspect.isasyncgenfunction(factory):
            self.kind = ASYNC_GENERATOR
        elif inspect.isgeneratorfunction(factory):
            self.kind = GENERATOR
        elif inspect.iscoroutinefunction(factory):
            self.kind = COROUTINE
        else:
            self.kind = PLAIN
        # A class without any of these hooks never needs a cleanup record: the hot path skips
        # the checks. A function factory's result is inspected when it is created.
        self.may_clean = not self.is_class or any(
            hasattr(factory, hook) for hook in ("__enter__", "__aenter__", "close", "aclose")
        )

    @property
    def is_async(self) -> bool:
        """Only ``aresolve`` can create it (async factory, or an async-only context manager)."""
        if self.kind in (ASYNC_GENERATOR, COROUTINE):
            return True
        return (
            self.is_class
            and hasattr(self.factory, "__aenter__")
            and not hasattr(self.factory, "__enter__")
        )

    def params(self) -> tuple[Param, ...]:
        """The factory's parameters, analysed once."""
        if self._params is None:
            self._params = () if self.lifetime == INSTANCE else analyse(self.key, self.factory)
        return self._params


def analyse(key: Key, factory: Any) -> tuple[Param, ...]:
    """Read ``factory``'s parameters and the keys their annotations ask for.

    Raises:
        ResolutionError: The signature cannot be read, or an annotation cannot be evaluated.
    """
    try:
        signature = inspect.signature(factory, eval_str=True)
    except (NameError, TypeError, AttributeError, SyntaxError):
        # Evaluating every annotation failed, maybe only the return annotation (a type imported
        # under TYPE_CHECKING, or local to a function): autowiring needs the parameters' alone,
        # so read the signature unevaluated and evaluate each parameter's annotation below,
        # where a failure names the parameter.
        try:
            signature = inspect.signature(factory)
        except ValueError:
            return ()
        except (TypeError, AttributeError) as exc:
            raise ResolutionError(
                f"cannot read the parameters of {describe(factory)} (the factory for "
                f"{describe(key)}): {exc}",
                key,
            ) from exc
    except ValueError:  # some builtins have no signature: treat them as taking nothing
        return ()
    params: list[Param] = []
    positional = True
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.kind is parameter.KEYWORD_ONLY:
            positional = False
        annotation = parameter.annotation
        if isinstance(annotation, str):
            # A quoted annotation under `from __future__ import annotations` evaluates to a
            # string once; evaluate it a second time in the factory's module.
            annotation = _evaluate(key, factory, parameter.name, annotation)
        params.append(
            Param(
                parameter.name,
                _key_of(annotation),
                parameter.default is not _NO_DEFAULT,
                positional and parameter.kind is not parameter.KEYWORD_ONLY,
            )
        )
    return tuple(params)


def _evaluate(key: Key, factory: Any, name: str, text: str) -> Any:
    function: Any = factory
    while isinstance(function, functools.partial):
        function = function.func
    if isinstance(function, type):
        function = getattr(function, "__init__", function)
    namespace = getattr(inspect.unwrap(function), "__globals__", {})
    try:
        return eval(text, dict(namespace))
    except Exception as exc:
        raise ResolutionError(
            f"cannot evaluate the annotation {text!r} of parameter {name!r} of "
            f"{describe(factory)} (the factory for {describe(key)}): {exc}. Annotations must "
            "name types importable from the factory's module.",
            key,
        ) from exc


def plan_arguments(
    registration: Registration,
    is_registered: typing.Callable[[Key], bool],
    chain: typing.Sequence[object],
) -> list[tuple[Param, Key]]:
    """The parameters to fill and their keys; unfillable ones without defaults are errors.

    A skipped parameter (default used) turns every later one into a keyword argument.

    Raises:
        ResolutionError: A parameter without default has no registered key; the message names
            the parameter, the factory, the key and the chain that needed it.
    """
    chosen: list[tuple[Param, Key]] = []
    for param in registration.params():
        key = param.key
        if key is not None and is_registered(key):
            chosen.append((param, key))
            continue
        if param.has_default:
            continue
        owner = describe(registration.factory)
        if key is None:
            why = "it has no type annotation naming a registered type"
            fix = "annotate it with a registered type, or give it a default"
        else:
            why = f"nothing is registered for {describe(key)}"
            fix = (
                f"register it (container.singleton/transient/scoped/instance({describe(key)}"
                ", ...)) or give the parameter a default"
            )
        full_chain = [*chain, key if key is not None else f"<{param.name}>"]
        raise ResolutionError(
            f"cannot resolve parameter {param.name!r} of {owner} for {describe(registration.key)}"
            f": {why}; chain: {chain_text(full_chain)}. Fix: {fix}.",
            key,
            full_chain,
        )
    return chosen


def call_shape(
    arguments: list[tuple[Param, Key]], registration: Registration
) -> tuple[int, tuple[str, ...]]:
    """How many leading arguments can be passed positionally, and the keyword names after.

    Positional passing is cheaper; it stops at the first parameter left to its default.
    """
    order = [param.name for param in registration.params()]
    count = 0
    for index, (param, _) in enumerate(arguments):
        if param.positional and index < len(order) and order[index] == param.name:
            count += 1
        else:
            break
    return count, tuple(param.name for param, _ in arguments[count:])
