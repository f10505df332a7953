"""GA4 ``FilterExpression``s: ``dimensionFilter`` (before rows add up) and ``metricFilter`` (after, like HAVING).

An expression is exactly one of ``andGroup``/``orGroup`` (``{"expressions": [...]}``), ``notExpression``
or ``filter``: ``{"fieldName": ..., <one of> stringFilter {matchType, value, caseSensitive} |
inListFilter {values, caseSensitive} | numericFilter {operation, value {int64Value | doubleValue}} |
betweenFilter {fromValue, toValue} | emptyFilter {}}``. String matching is case-insensitive unless
``caseSensitive``; regular expressions are Python's (Google uses RE2, which accepts a subset). A
malformed expression is a 400 ``INVALID_ARGUMENT``, as Google answers it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pmkpi_sandbox._http import ApiError

Mask = Callable[[pd.DataFrame], np.ndarray]
GROUPS = ("andGroup", "orGroup", "notExpression", "filter")
FILTERS = ("stringFilter", "inListFilter", "numericFilter", "betweenFilter", "emptyFilter")
OPERATIONS = {
    "EQUAL": np.equal, "LESS_THAN": np.less, "LESS_THAN_OR_EQUAL": np.less_equal,
    "GREATER_THAN": np.greater, "GREATER_THAN_OR_EQUAL": np.greater_equal,
}
OPERATION_NAMES = ("OPERATION_UNSPECIFIED", *OPERATIONS)  # by enum number (clients may send numbers)
MATCH_TYPES = ("MATCH_TYPE_UNSPECIFIED", "EXACT", "BEGINS_WITH", "ENDS_WITH", "CONTAINS", "FULL_REGEXP",
               "PARTIAL_REGEXP")


@dataclass(frozen=True)
class Filter:
    """A parsed expression: the fields it reads and the row mask it computes."""

    fields: frozenset[str]
    mask: Mask


def parse_filter(expression: object, clause: str) -> Filter:
    """Parse the ``dimensionFilter`` or ``metricFilter`` (``clause``) of a request."""
    if not isinstance(expression, dict) or sum(key in expression for key in GROUPS) != 1:
        raise ApiError(400, f"Invalid {clause}: a FilterExpression sets exactly one of {', '.join(GROUPS)}.")
    if "filter" in expression:
        return _field_filter(expression["filter"], clause)
    if "notExpression" in expression:
        inner = parse_filter(expression["notExpression"], clause)
        return Filter(inner.fields, lambda frame: ~inner.mask(frame))
    group = "andGroup" if "andGroup" in expression else "orGroup"
    items = (expression[group] or {}).get("expressions") if isinstance(expression[group], dict) else None
    if not items or not isinstance(items, list):
        raise ApiError(400, f"Invalid {clause}: {group}.expressions must list at least one FilterExpression.")
    parts = [parse_filter(item, clause) for item in items]
    combine = np.logical_and if group == "andGroup" else np.logical_or
    return Filter(frozenset().union(*(p.fields for p in parts)),
                  lambda frame: combine.reduce([p.mask(frame) for p in parts]))


def _field_filter(spec: object, clause: str) -> Filter:
    name = spec.get("fieldName") if isinstance(spec, dict) else None
    kinds = [key for key in FILTERS if isinstance(spec, dict) and key in spec]
    if not isinstance(name, str) or not name or len(kinds) != 1:
        raise ApiError(400, f"Invalid {clause}: a Filter names fieldName and sets exactly one of "
                       f"{', '.join(FILTERS)}.")
    kind, body = kinds[0], spec[kinds[0]] or {}
    if kind == "stringFilter":
        mask = _string_mask(name, body, clause)
    elif kind == "inListFilter":
        values = body.get("values")
        if not isinstance(values, list) or not values:
            raise ApiError(400, f"Invalid {clause}: inListFilter.values must be a non-empty list.")
        mask = _in_list_mask(name, [str(v) for v in values], bool(body.get("caseSensitive")))
    elif kind == "numericFilter":
        operation = enum_name(body.get("operation"), OPERATION_NAMES)
        if operation not in OPERATIONS:
            raise ApiError(400, f"Invalid {clause}: numericFilter.operation must be one of {', '.join(OPERATIONS)}.")
        value = _number(body.get("value"), clause)
        mask = lambda frame: OPERATIONS[operation](_numbers(frame[name]), value)  # noqa: E731
    elif kind == "betweenFilter":
        low, high = _number(body.get("fromValue"), clause), _number(body.get("toValue"), clause)
        mask = lambda frame: (_numbers(frame[name]) >= low) & (_numbers(frame[name]) <= high)  # noqa: E731
    else:
        mask = lambda frame: (frame[name].astype(str) == "").to_numpy()  # noqa: E731
    return Filter(frozenset({name}), mask)


def _string_mask(name: str, body: dict, clause: str) -> Mask:
    match_type = enum_name(body.get("matchType", "EXACT"), MATCH_TYPES)
    value = body.get("value")
    if not isinstance(value, str):
        raise ApiError(400, f"Invalid {clause}: stringFilter.value must be a string.")
    flags = 0 if body.get("caseSensitive") else re.IGNORECASE
    patterns = {"EXACT": re.escape(value), "MATCH_TYPE_UNSPECIFIED": re.escape(value),
                "BEGINS_WITH": re.escape(value) + ".*", "ENDS_WITH": ".*" + re.escape(value),
                "CONTAINS": ".*" + re.escape(value) + ".*", "FULL_REGEXP": value, "PARTIAL_REGEXP": value}
    if match_type not in patterns:
        raise ApiError(400, f"Invalid {clause}: stringFilter.matchType {match_type!r} is not one of "
                       f"{', '.join(patterns)}.")
    try:
        pattern = re.compile(patterns[match_type], flags | re.DOTALL)
    except re.error as exc:
        raise ApiError(400, f"Invalid {clause}: {value!r} is not a valid regular expression ({exc}).") from None
    test = pattern.search if match_type == "PARTIAL_REGEXP" else pattern.fullmatch
    return lambda frame: _per_value(frame[name], lambda text: test(text) is not None)


def _in_list_mask(name: str, values: list[str], case_sensitive: bool) -> Mask:
    wanted = set(values) if case_sensitive else {v.lower() for v in values}
    return lambda frame: _per_value(frame[name], lambda text: (text if case_sensitive else text.lower()) in wanted)


def enum_name(value: object, names: tuple[str, ...]) -> object:
    """An enum value as its name: JSON clients may send the number (``enum-encoding=int``)."""
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return names[int(value)] if int(value) < len(names) else value
    return value


def _per_value(column: pd.Series, test: Callable[[str], bool]) -> np.ndarray:
    """``test`` of each value, evaluated once per distinct value."""
    codes, uniques = pd.factorize(column.astype(str))
    return np.array([test(value) for value in uniques], dtype=bool)[codes] if len(uniques) else np.zeros(0, bool)


def _numbers(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)


def _number(value: object, clause: str) -> float:
    if isinstance(value, dict) and ("int64Value" in value or "doubleValue" in value):
        try:
            return float(value.get("int64Value", value.get("doubleValue")))
        except (TypeError, ValueError):
            pass
    raise ApiError(400, f"Invalid {clause}: a NumericValue sets int64Value or doubleValue.")
