"""Mathematical and statistical eval functions (``abs`` ... ``sigfig``, ``max``/``min``/
``sum``/``avg``): every argument read as a number, null if one is not.

Sources: Splunk Search Reference, "Mathematical functions" and "Statistical eval functions".
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ir.functions.table import register
from ir.functions.values import per_value, tidy_number, to_number, to_text, values_of

# Mathematical functions


def _numeric(func: Callable[..., Any]) -> Callable[..., Any]:
    """A maths function: every argument read as a number; null if one is not a number."""

    @per_value
    @functools.wraps(func)
    def wrapper(*args: Any) -> Any:
        numbers = [to_number(a) for a in args]
        if any(n is None for n in numbers):
            return None
        try:
            return func(*numbers)
        except (ValueError, OverflowError, ZeroDivisionError):
            return None

    return wrapper


@register("abs", 1, 1)
@_numeric
def _abs(x: float) -> int | float:
    """``abs(X)``."""
    return abs(x)


@register("ceiling", 1, 1, aliases=("ceil",))
@_numeric
def _ceiling(x: float) -> int:
    """``ceiling(X)``/``ceil(X)``: the smallest integer not below X."""
    return math.ceil(x)


@register("floor", 1, 1)
@_numeric
def _floor(x: float) -> int:
    """``floor(X)``."""
    return math.floor(x)


@register("exact", 1, 1)
@_numeric
def _exact(x: float) -> int | float:
    """``exact(X)``: X computed exactly; ruleglot's numbers are already exact doubles."""
    return x


@register("exp", 1, 1)
@_numeric
def _exp(x: float) -> float:
    """``exp(X)``: e to the power X."""
    return math.exp(x)


@register("ln", 1, 1)
@_numeric
def _ln(x: float) -> float | None:
    """``ln(X)``: natural logarithm; null for X <= 0."""
    return math.log(x) if x > 0 else None


@register("log", 1, 2)
@_numeric
def _log(x: float, base: float = 10) -> float | None:
    """``log(X[, Y])``: logarithm of X in base Y (default 10); null outside the domain."""
    if x <= 0 or base <= 0 or base == 1:
        return None
    return math.log(x, base)


@register("pi", 0, 0)
def _pi() -> float:
    """``pi()``."""
    return math.pi


@register("pow", 2, 2)
@_numeric
def _pow(x: float, y: float) -> int | float | None:
    """``pow(X, Y)``: X to the power Y; null when not a real number."""
    result = x**y
    return None if isinstance(result, complex) else result


@register("sqrt", 1, 1)
@_numeric
def _sqrt(x: float) -> float | None:
    """``sqrt(X)``: null for a negative X."""
    return math.sqrt(x) if x >= 0 else None


@register("round", 1, 2)
@_numeric
def _round(x: float, digits: float = 0) -> int | float:
    """``round(X[, Y])``: X rounded to Y decimals (default 0), halves away from zero
    (``round(2.5)`` is 3, as the reference's examples show, not Python's banker's rounding)."""
    places = int(digits)
    try:
        rounded = Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return x
    return int(rounded) if places <= 0 else float(rounded)


@register("sigfig", 1, 1)
@_numeric
def _sigfig(x: float) -> int | float:
    """``sigfig(X)``: ruleglot does not track significant figures; X unchanged."""
    return x


@register("random", 0, 0)
def _random() -> int:
    """``random()``: a pseudo-random integer from 0 to 2**31-1."""
    return random.randint(0, 2**31 - 1)


# Statistical eval functions


def all_values(args: Sequence[Any]) -> list[Any]:
    return [v for a in args for v in values_of(a)]


@register("max", 1, None)
def _max(*args: Any) -> Any:
    """``max(X, ...)``: the greatest value; values are compared as numbers when they are,
    otherwise as strings, and strings are greater than numbers (the reference: numbers
    before strings)."""
    values = all_values(args)
    if not values:
        return None
    text = [v for v in values if to_number(v) is None]
    if text:
        return max(text, key=lambda v: to_text(v) or "")
    return max(values, key=lambda v: to_number(v) or 0)


@register("min", 1, None)
def _min(*args: Any) -> Any:
    """``min(X, ...)``: the least value (numbers before strings, as for ``max``)."""
    values = all_values(args)
    if not values:
        return None
    numbers = [v for v in values if to_number(v) is not None]
    if numbers:
        return min(numbers, key=lambda v: to_number(v) or 0)
    return min(values, key=lambda v: to_text(v) or "")


@register("sum", 1, None)
def _sum(*args: Any) -> Any:
    """``sum(X, ...)``: the sum of the numeric values; null if there are none."""
    numbers = [n for n in (to_number(v) for v in all_values(args)) if n is not None]
    return tidy_number(sum(numbers)) if numbers else None


@register("avg", 1, None)
def _avg(*args: Any) -> Any:
    """``avg(X, ...)``: the mean of the numeric values; null if there are none."""
    numbers = [n for n in (to_number(v) for v in all_values(args)) if n is not None]
    return tidy_number(sum(numbers) / len(numbers)) if numbers else None
