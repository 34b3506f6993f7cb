"""The query language of ``find_many``: ``where`` clauses compiled to predicates, and ``order_by``.

Grammar (a clause is a dict; its top-level keys AND together)::

    clause   := {field: value | {operator: operand, ...}, "$and": [clause...],
                 "$or": [clause...], "$not": clause}
    operator := eq ne in gt gte lt lte starts_with ends_with contains is_null

A bare value means ``eq``. Several operators on one field must all hold (``{"gte": 2, "lt": 5}``).
A missing field reads as None. Comparisons between values Python cannot order (``"a" > 1``)
do not match rather than raise. ``$and: []`` matches everything and ``$or: []`` nothing (empty
conjunction / disjunction); ``$or: {}`` is refused as ambiguous. Anything else malformed raises
``QueryError`` naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from atomiton.store._errors import QueryError

__all__ = [
    "OPERATORS",
    "Page",
    "Predicate",
    "QueryPlan",
    "compile_where",
    "normalise_order_by",
    "sort_entities",
]

OPERATORS = frozenset(
    {"eq", "ne", "in", "gt", "gte", "lt", "lte", "starts_with", "ends_with", "contains", "is_null"}
)
COMBINATORS = frozenset({"$and", "$or", "$not"})

Predicate = Callable[[Mapping[str, Any]], bool]
Direction = Literal["asc", "desc"]


@dataclass(frozen=True, slots=True)
class QueryPlan:
    """How ``find_many`` answered a query (``explain=True``).

    Attributes:
        strategy: ``"index"`` (candidates came from indexes) or ``"scan"`` (every entity read).
        indexes: the indexed fields used, in the order they were consulted.
        candidates: entities the plan had to test against the full predicate.
        matched: entities that matched (before ``offset`` / ``limit``).
        detail: a one-line human description of the plan.
    """

    strategy: Literal["index", "scan"]
    indexes: tuple[str, ...]
    candidates: int
    matched: int
    detail: str


@dataclass(frozen=True, slots=True)
class Page:
    """One page of ``find_many`` results.

    Attributes:
        data: the entities of this page (copies; mutating them changes nothing stored).
        total: how many entities matched in all, ignoring ``offset`` and ``limit``.
        offset: the offset asked for.
        limit: the limit asked for (None: no limit).
        plan: the plan used, when ``explain=True`` was given; else None.
    """

    data: list[dict[str, Any]]
    total: int
    offset: int = 0
    limit: int | None = None
    plan: QueryPlan | None = field(default=None)


def _missing_operand(op: str, field_name: str) -> QueryError:
    return QueryError(f"operator {op!r} on field {field_name!r} needs an operand")


def _compare(op: str, operand: Any) -> Callable[[Any], bool]:
    if op == "gt":

        def test(v: Any) -> bool:
            return v is not None and v > operand

    elif op == "gte":

        def test(v: Any) -> bool:
            return v is not None and v >= operand

    elif op == "lt":

        def test(v: Any) -> bool:
            return v is not None and v < operand

    else:

        def test(v: Any) -> bool:
            return v is not None and v <= operand

    def safe(v: Any) -> bool:
        try:
            return bool(test(v))
        except TypeError:
            return False

    return safe


def _operator_test(op: str, operand: Any, field_name: str) -> Callable[[Any], bool]:
    if op == "eq":
        return lambda v: bool(v == operand)
    if op == "ne":
        return lambda v: bool(v != operand)
    if op == "in":
        if not isinstance(operand, list | tuple | set | frozenset):
            raise QueryError(f"operator 'in' on field {field_name!r} needs a list, got {operand!r}")
        try:
            options: frozenset[Any] | tuple[Any, ...] = frozenset(operand)
        except TypeError:
            options = tuple(operand)

        def in_test(v: Any) -> bool:
            try:
                return v in options
            except TypeError:  # an unhashable value against a frozenset
                return any(v == o for o in options)

        return in_test
    if op in {"gt", "gte", "lt", "lte"}:
        if operand is None:
            raise _missing_operand(op, field_name)
        return _compare(op, operand)
    if op in {"starts_with", "ends_with"}:
        if not isinstance(operand, str):
            raise QueryError(
                f"operator {op!r} on field {field_name!r} needs a str, got {operand!r}"
            )
        if op == "starts_with":
            return lambda v: isinstance(v, str) and v.startswith(operand)
        return lambda v: isinstance(v, str) and v.endswith(operand)
    if op == "contains":

        def contains(v: Any) -> bool:
            if isinstance(v, str):
                return isinstance(operand, str) and operand in v
            if isinstance(v, list | tuple):
                return operand in v
            return False

        return contains
    if op == "is_null":
        if not isinstance(operand, bool):
            raise QueryError(f"operator 'is_null' on field {field_name!r} needs True or False")
        return (lambda v: v is None) if operand else (lambda v: v is not None)
    raise QueryError(
        f"unknown operator {op!r} on field {field_name!r}; known: {', '.join(sorted(OPERATORS))}"
    )


def _field_predicate(name: str, condition: Any) -> Predicate:
    if not isinstance(condition, Mapping):
        return lambda entity: bool(entity.get(name) == condition)
    if not condition:
        raise QueryError(f"field {name!r} has an empty operator dict; give at least one operator")
    tests = [_operator_test(str(op), operand, name) for op, operand in condition.items()]
    if len(tests) == 1:
        only = tests[0]
        return lambda entity: only(entity.get(name))
    return lambda entity: all(test(entity.get(name)) for test in tests)


def _clauses(value: Any, key: str) -> list[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        return [value]
    if not isinstance(value, list | tuple) or not all(isinstance(c, Mapping) for c in value):
        raise QueryError(f"{key} needs a clause dict or a list of clause dicts, got {value!r}")
    return list(value)


def _all_of(predicates: list[Predicate]) -> Predicate:
    return lambda entity: all(p(entity) for p in predicates)


def _any_of(predicates: list[Predicate]) -> Predicate:
    return lambda entity: any(p(entity) for p in predicates)


def _none_of(predicate: Predicate) -> Predicate:
    return lambda entity: not predicate(entity)


def compile_where(where: Mapping[str, Any] | None) -> Predicate | None:
    """Compile a ``where`` clause to a predicate; None (or ``{}``) matches everything (None)."""
    if where is None or not where:
        return None
    if not isinstance(where, Mapping):
        raise QueryError(f"where must be a dict, got {type(where).__name__}")
    parts: list[Predicate] = []
    for key, value in where.items():
        if not isinstance(key, str):
            raise QueryError(f"field names are strings, got {key!r}")
        if key == "$and":
            subs = [compile_where(c) for c in _clauses(value, key)]
            real = [p for p in subs if p is not None]
            parts.append(_all_of(real))
        elif key == "$or":
            if isinstance(value, Mapping) and not value:
                # One empty clause would match everything, an empty list of clauses nothing.
                raise QueryError(
                    "$or: {} is ambiguous; give a list of clause dicts: [] matches nothing, "
                    "[{}] matches everything"
                )
            # An empty list is an empty disjunction: it matches nothing (as `any([])`).
            subs = [compile_where(c) for c in _clauses(value, key)]
            if any(p is None for p in subs):
                continue  # an empty branch matches everything, so the whole $or does
            real_or = [p for p in subs if p is not None]
            parts.append(_any_of(real_or))
        elif key == "$not":
            if not isinstance(value, Mapping):
                raise QueryError(f"$not needs one clause dict, got {value!r}")
            inner = compile_where(value)
            if inner is None:
                parts.append(lambda e: False)
            else:
                parts.append(_none_of(inner))
        elif key.startswith("$"):
            raise QueryError(f"unknown combinator {key!r}; known: $and, $or, $not")
        else:
            parts.append(_field_predicate(key, value))
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return lambda entity: all(p(entity) for p in parts)


def normalise_order_by(order_by: Any) -> list[tuple[str, Direction]]:
    """Accept ``"f"``, ``("f", "desc")`` or a list of either; return ``[(field, direction)]``."""
    if order_by is None:
        return []
    if isinstance(order_by, str | tuple):
        items = [order_by]
    elif isinstance(order_by, Sequence):
        items = list(order_by)
    else:
        raise QueryError(
            f"order_by is 'field', ('field', 'asc'|'desc') or a list of them, got {order_by!r}"
        )
    result: list[tuple[str, Direction]] = []
    for item in items:
        if isinstance(item, str):
            result.append((item, "asc"))
            continue
        if (
            not isinstance(item, tuple | list)
            or len(item) != 2
            or not isinstance(item[0], str)
            or item[1] not in ("asc", "desc")
        ):
            raise QueryError(
                f"order_by entries are 'field' or ('field', 'asc'|'desc'), got {item!r}"
            )
        result.append((item[0], item[1]))
    return result


def _rank(value: Any) -> tuple[int, Any]:
    # Mixed types sort as numbers < strings < everything else (by repr), never raising.
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, repr(value))


def sort_entities(
    entities: list[dict[str, Any]], order: Sequence[tuple[str, Direction]]
) -> list[dict[str, Any]]:
    """Sort stably by each ``(field, direction)``; None (or missing) sorts last either way."""
    for name, direction in reversed(order):
        present = [e for e in entities if e.get(name) is not None]
        absent = [e for e in entities if e.get(name) is None]
        present.sort(key=lambda e: _rank(e[name]), reverse=direction == "desc")
        entities = present + absent
    return entities
