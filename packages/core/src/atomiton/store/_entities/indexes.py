"""Field indexes of an entity store and the planner that answers queries from them.

A ``FieldIndex`` maps each distinct value of one field to the ids holding it, and keeps the
distinct numbers and strings in sorted lists for ranges and prefixes. List values are indexed by
element (so ``contains`` on a ``tags`` list is answered too). Indexes are updated on every write
(remove the old value, add the new one), never rebuilt.

The planner only narrows the candidates: every candidate is still tested against the whole
predicate, so an index can make a query faster but never changes its answer.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

__all__ = ["FieldIndex", "plan_candidates"]

_MAX_CHAR = "\U0010ffff"


def _sorted_list_for(value: Any) -> str | None:
    if isinstance(value, int | float):
        return "numbers"
    if isinstance(value, str):
        return "strings"
    return None


class FieldIndex:
    """An incremental index of one field: equality, ``in``, ranges, prefixes and list elements."""

    __slots__ = ("elements", "field", "indexed", "loose", "numbers", "strings", "values")

    def __init__(self, field: str) -> None:
        self.field = field
        self.values: dict[Hashable, set[str]] = {}
        self.elements: dict[Hashable, set[str]] = {}
        # Ids whose value cannot be looked up (lists, dicts): always candidates for eq/in/range.
        self.loose: set[str] = set()
        self.numbers: list[Any] = []
        self.strings: list[str] = []
        self.indexed: dict[str, Any] = {}

    def add(self, entity_id: str, value: Any) -> None:
        """Index ``entity_id`` under ``value``."""
        self.indexed[entity_id] = value
        if isinstance(value, list | tuple):
            self.loose.add(entity_id)
            for element in value:
                if isinstance(element, Hashable):
                    self.elements.setdefault(element, set()).add(entity_id)
            return
        if not isinstance(value, Hashable):
            self.loose.add(entity_id)
            return
        ids = self.values.get(value)
        if ids is None:
            self.values[value] = {entity_id}
            kind = _sorted_list_for(value)
            if kind is not None:
                bisect.insort(getattr(self, kind), value)
        else:
            ids.add(entity_id)

    def remove(self, entity_id: str) -> None:
        """Forget ``entity_id`` (a no-op if it is not indexed)."""
        if entity_id not in self.indexed:
            return
        value = self.indexed.pop(entity_id)
        if isinstance(value, list | tuple):
            self.loose.discard(entity_id)
            for element in value:
                if isinstance(element, Hashable):
                    ids = self.elements.get(element)
                    if ids is not None:
                        ids.discard(entity_id)
                        if not ids:
                            del self.elements[element]
            return
        if not isinstance(value, Hashable):
            self.loose.discard(entity_id)
            return
        ids = self.values.get(value)
        if ids is None:
            return
        ids.discard(entity_id)
        if not ids:
            del self.values[value]
            kind = _sorted_list_for(value)
            if kind is not None:
                keys: list[Any] = getattr(self, kind)
                position = bisect.bisect_left(keys, value)
                if position < len(keys) and keys[position] == value:
                    del keys[position]

    def _ids_for(self, keys: Iterable[Any]) -> set[str]:
        result: set[str] = set()
        values = self.values
        for key in keys:
            ids = values.get(key)
            if ids:
                result |= ids
        return result

    def _union(self, keys: Iterable[Any]) -> set[str]:
        return self.loose | self._ids_for(keys)

    def candidates(self, conditions: Mapping[str, Any]) -> set[str] | None:
        """Return a superset of the ids satisfying all ``conditions`` on this field, or None.

        None means the index cannot help (e.g. only ``ne`` or ``ends_with``).
        """
        best: set[str] | None = None
        lower = upper = None
        lower_inclusive = upper_inclusive = True
        for op, operand in conditions.items():
            found: set[str] | None = None
            if op == "eq" and isinstance(operand, Hashable):
                found = self._union((operand,))
            elif op == "is_null" and operand is True:
                found = self._ids_for((None,))
            elif op == "in" and isinstance(operand, list | tuple | set | frozenset):
                if all(isinstance(o, Hashable) for o in operand):
                    found = self._union(operand)
            elif op in ("gt", "gte") and _sorted_list_for(operand) is not None:
                lower, lower_inclusive = operand, op == "gte"
            elif op in ("lt", "lte") and _sorted_list_for(operand) is not None:
                upper, upper_inclusive = operand, op == "lte"
            elif op == "starts_with" and isinstance(operand, str):
                found = self._range("strings", operand, True, operand + _MAX_CHAR, True)
            elif op == "contains" and isinstance(operand, Hashable):
                # Lists holding the element, plus strings holding the substring.
                found = set(self.elements.get(operand, ()))
                if isinstance(operand, str):
                    found |= self._ids_for(k for k in self.strings if operand in k)
            if found is not None:
                best = found if best is None else best & found
        if lower is not None or upper is not None:
            kind = _sorted_list_for(lower if lower is not None else upper)
            if kind is not None and (
                lower is None or upper is None or _sorted_list_for(upper) == kind
            ):
                found = self._range(kind, lower, lower_inclusive, upper, upper_inclusive)
                best = found if best is None else best & found
        return best

    def _range(
        self, kind: str, lower: Any, lower_inclusive: bool, upper: Any, upper_inclusive: bool
    ) -> set[str]:
        keys: list[Any] = getattr(self, kind)
        start = 0
        if lower is not None:
            start = (bisect.bisect_left if lower_inclusive else bisect.bisect_right)(keys, lower)
        stop = len(keys)
        if upper is not None:
            stop = (bisect.bisect_right if upper_inclusive else bisect.bisect_left)(keys, upper)
        return self._union(keys[start:stop])


def plan_candidates(
    where: Mapping[str, Any], indexes: Mapping[str, FieldIndex]
) -> tuple[set[str] | None, list[str]]:
    """Return ``(candidate ids or None for a full scan, indexed fields used)`` for ``where``."""
    best: set[str] | None = None
    used: list[str] = []
    for key, value in where.items():
        found: set[str] | None = None
        fields: list[str] = []
        if key == "$and":
            clauses = [value] if isinstance(value, Mapping) else list(value)
            for clause in clauses:
                sub, sub_fields = plan_candidates(clause, indexes)
                if sub is not None:
                    found = sub if found is None else found & sub
                    fields += sub_fields
        elif key == "$or":
            clauses = [value] if isinstance(value, Mapping) else list(value)
            union: set[str] = set()
            for clause in clauses:
                sub, sub_fields = plan_candidates(clause, indexes)
                if sub is None:
                    break
                union |= sub
                fields += sub_fields
            else:
                found = union if clauses else None
        elif not key.startswith("$") and key in indexes:
            conditions = value if isinstance(value, Mapping) else {"eq": value}
            found = indexes[key].candidates(conditions)
            fields = [key]
        if found is not None:
            best = found if best is None else best & found
            used += [f for f in fields if f not in used]
    return best, used
