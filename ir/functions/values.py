"""SPL values: null, text, numbers, multivalues, and how SPL compares and orders them.

Every family of eval functions (and :mod:`ir.evalexpr`, :mod:`ir.pipeline`) reads values
through these helpers, so "is a number", "the text of a value" and "equal" mean one thing
(Splunk Search Reference, "Evaluation functions"; the rules are in :mod:`ir.functions`).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

from ir.events import scalars

# --- values -----------------------------------------------------------------------------------

#: SPL's implicit number syntax; the same rule as ``ir.evaluator.number_of``.
_IMPLICIT_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
#: ``tonumber``'s base-10 syntax: sign, decimals, exponent (C ``strtod`` without spaces).
EXPLICIT_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def mv(values: Iterable[Any]) -> Any:
    """A multivalue from values: nulls dropped, none is null, one is that value."""
    out = [v for v in values if v is not None]
    if not out:
        return None
    return out[0] if len(out) == 1 else out


def values_of(value: Any) -> list[Any]:
    """Every value of ``value``: none for null, its elements for a multivalue."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def field_value(raw: Any) -> Any:
    """An event's field value as eval sees it: JSON ``null``/missing -> null, booleans -> their
    JSON text (Splunk extracts ``true`` as the text ``true``), objects -> compact JSON text,
    lists -> a multivalue of their non-null scalars (nested lists flattened)."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if raw is None or isinstance(raw, (str, int, float)):
        return raw
    if isinstance(raw, dict):
        return json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
    if isinstance(raw, list):
        return mv([field_value(item) for item in scalars(raw)])
    return str(raw)


def to_number(value: Any) -> int | float | None:
    """The number SPL reads in a single value, or ``None`` (see "Numbers in strings")."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str) and _IMPLICIT_NUMBER.fullmatch(value):
        return float(value) if "." in value else int(value)
    return None


def format_number(number: int | float) -> str:
    """A number as SPL prints it: integers without ``.0``, ``nan``/``inf``/``-inf``."""
    if isinstance(number, int):
        return str(number)
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return repr(number)


def to_text(value: Any) -> str | None:
    """A single value as text (``None`` for null); booleans read ``true``/``false``."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format_number(value)
    if isinstance(value, list):
        return to_text(value[0]) if value else None
    return str(value)


def tidy_number(number: float) -> int | float:
    """An integral float as ``int`` (exact), others unchanged."""
    if isinstance(number, float) and number.is_integer() and abs(number) < 2**53:
        return int(number)
    return number


def per_value(func: Callable[..., Any]) -> Callable[..., Any]:
    """Apply ``func`` to each value of a multivalue first argument (see "Multivalue
    arguments"); a null first argument gives null without calling ``func``."""

    @functools.wraps(func)
    def wrapper(first: Any, *rest: Any) -> Any:
        if first is None:
            return None
        if isinstance(first, list):
            out: list[Any] = []
            for v in first:
                out.extend(values_of(func(v, *rest)))
            return mv(out)
        return func(first, *rest)

    return wrapper


def equal(left: Any, right: Any) -> bool:
    """SPL ``=`` on two single non-null values: numerically when both are numbers, else the
    texts compared exactly (case-sensitive). SPL reference, "where" and "eval": comparisons
    in eval expressions are case-sensitive."""
    a, b = to_number(left), to_number(right)
    if a is not None and b is not None:
        return a == b
    return to_text(left) == to_text(right)


def order(left: Any, right: Any) -> int:
    """-1, 0 or 1: numbers numerically, otherwise texts by code point (SPL's lexicographic
    order)."""
    a, b = to_number(left), to_number(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    ta, tb = to_text(left) or "", to_text(right) or ""
    return (ta > tb) - (ta < tb)
