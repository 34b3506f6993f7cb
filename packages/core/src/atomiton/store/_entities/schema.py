"""Optional per-store schemas: a dataclass, a msgspec Struct or a pydantic model validates writes.

Entities stay plain dicts; the schema only checks (and, for msgspec/pydantic, normalises) the
user's fields. The bookkeeping fields the client adds (``id``, ``created_at``, ``updated_at``,
``version``, ``deleted``, ``deleted_at``) are validated only if the schema declares them.
msgspec and pydantic are optional extras, imported only when a store uses them.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from collections.abc import Callable
from typing import Any

from atomiton.store._errors import SchemaValidationError

__all__ = ["META_FIELDS", "SchemaValidator", "make_validator"]

META_FIELDS = frozenset({"id", "created_at", "updated_at", "version", "deleted", "deleted_at"})

SchemaValidator = Callable[[dict[str, Any]], dict[str, Any]]


def _is_msgspec_struct(schema: type) -> bool:
    # Only import msgspec when the schema could be one of its Structs (it is an optional extra).
    if "msgspec" not in sys.modules and not any(
        c.__module__.startswith("msgspec") for c in schema.__mro__
    ):
        return False
    import msgspec

    return isinstance(schema, type) and issubclass(schema, msgspec.Struct)


def _is_pydantic_model(schema: type) -> bool:
    if not any(c.__module__.startswith("pydantic") for c in schema.__mro__):
        return False
    import pydantic

    return issubclass(schema, pydantic.BaseModel)


def make_validator(schema: type, *, store: str) -> SchemaValidator:
    """Return a function that validates an entity dict against ``schema`` and returns it.

    Raises:
        TypeError: ``schema`` is neither a dataclass, a msgspec Struct nor a pydantic model.
    """
    if not isinstance(schema, type):
        raise TypeError(
            f"store {store!r}: schema must be a class (a dataclass, a msgspec Struct or a "
            f"pydantic model), got {type(schema).__name__} {schema!r}"
        )
    if dataclasses.is_dataclass(schema):
        return _dataclass_validator(schema, store)
    if _is_msgspec_struct(schema):
        return _msgspec_validator(schema, store)
    if _is_pydantic_model(schema):
        return _pydantic_validator(schema, store)
    raise TypeError(
        f"store {store!r}: schema must be a dataclass, a msgspec Struct or a pydantic model, "
        f"got {schema!r}"
    )


def _split(entity: dict[str, Any], declared: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    meta = {k: v for k, v in entity.items() if k in META_FIELDS and k not in declared}
    user = {k: v for k, v in entity.items() if k not in meta}
    return user, meta


def _check_type(value: Any, hint: Any) -> bool:
    """A shallow runtime check of common annotations; anything exotic is accepted."""
    if hint is Any or hint is object:
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return any(_check_type(value, arg) for arg in typing.get_args(hint))
    if hint is None or hint is type(None):
        return value is None
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    target = origin if origin is not None else hint
    if not isinstance(target, type):
        return True
    if target is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if target is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if target in (list, tuple, set, frozenset):
        return isinstance(value, list | tuple)
    return isinstance(value, target)


def _dataclass_validator(schema: type, store: str) -> SchemaValidator:
    fields = dataclasses.fields(schema)
    hints = typing.get_type_hints(schema)
    declared = {f.name for f in fields}
    required = {
        f.name
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }

    def validate(entity: dict[str, Any]) -> dict[str, Any]:
        user, _meta = _split(entity, declared)
        for name in sorted(required - user.keys()):
            raise SchemaValidationError(
                f"store {store!r}: field {name!r} is required by {schema.__name__}",
                store=store,
                field=name,
            )
        for name in user:
            if name not in declared:
                raise SchemaValidationError(
                    f"store {store!r}: field {name!r} is not declared by {schema.__name__}",
                    store=store,
                    field=name,
                )
            if not _check_type(user[name], hints.get(name, Any)):
                raise SchemaValidationError(
                    f"store {store!r}: field {name!r} expects {hints[name]!r}, "
                    f"got {type(user[name]).__name__} {user[name]!r}",
                    store=store,
                    field=name,
                )
        return entity

    return validate


def _msgspec_validator(schema: type, store: str) -> SchemaValidator:
    import msgspec

    declared = set(getattr(schema, "__struct_fields__", ()))

    def validate(entity: dict[str, Any]) -> dict[str, Any]:
        user, meta = _split(entity, declared)
        try:
            value: Any = msgspec.convert(user, schema)
        except msgspec.ValidationError as error:
            text = str(error)
            field = None
            if "`$." in text:
                field = text.rsplit("`$.", 1)[1].rstrip("`").replace("[", ".").replace("]", "")
            elif "required field `" in text:
                field = text.split("required field `", 1)[1].split("`", 1)[0]
            elif "unknown field `" in text:
                field = text.split("unknown field `", 1)[1].split("`", 1)[0]
            raise SchemaValidationError(
                f"store {store!r}: {schema.__name__} rejected field {field!r}: {text}",
                store=store,
                field=field,
            ) from error
        result: dict[str, Any] = msgspec.to_builtins(value)
        return {**result, **meta}

    return validate


def _pydantic_validator(schema: type, store: str) -> SchemaValidator:
    import pydantic

    if not issubclass(schema, pydantic.BaseModel):  # chosen for BaseModel subclasses only
        raise TypeError(f"{schema.__name__} is not a pydantic model")
    model = schema
    declared = set(model.model_fields)

    def validate(entity: dict[str, Any]) -> dict[str, Any]:
        user, meta = _split(entity, declared)
        try:
            parsed = model.model_validate(user)
        except pydantic.ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first.get("loc", ())) or None
            raise SchemaValidationError(
                f"store {store!r}: {schema.__name__} rejected field {field!r}: {first.get('msg')}",
                store=store,
                field=field,
            ) from error
        result: dict[str, Any] = parsed.model_dump(mode="json")
        return {**result, **meta}

    return validate
