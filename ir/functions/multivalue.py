"""Multivalue eval functions (``mvappend`` ... ``mv_to_json_array``, ``split``): they read
all the values of a multivalue.

Source: Splunk Search Reference, "Multivalue eval functions".
"""

from __future__ import annotations

import json
from typing import Any

from ir.functions.maths import all_values
from ir.functions.regex import compile_regex
from ir.functions.table import register
from ir.functions.values import mv, per_value, tidy_number, to_number, to_text, values_of

# Multivalue eval functions


@register("mvappend", 1, None)
def _mvappend(*args: Any) -> Any:
    """``mvappend(X, ...)``: all the values of all arguments, in order; nulls skipped."""
    return mv(all_values(args))


@register("mvcount", 1, 1)
def _mvcount(value: Any) -> int | None:
    """``mvcount(MVFIELD)``: the number of values; 1 for a single value; null for none."""
    values = values_of(value)
    return len(values) if values else None


@register("mvdedup", 1, 1)
def _mvdedup(value: Any) -> Any:
    """``mvdedup(X)``: duplicates removed, first occurrences kept in order."""
    seen: dict[str | None, Any] = {}
    for v in values_of(value):
        seen.setdefault(to_text(v), v)
    return mv(seen.values())


@register("mvfind", 2, 2, regex_args=(1,))
def _mvfind(value: Any, pattern: Any) -> int | None:
    """``mvfind(MVFIELD, "REGEX")``: the 0-based index of the first value the regex matches
    (unanchored), or null."""
    if pattern is None:
        return None
    rx = compile_regex(to_text(pattern) or "")
    for index, v in enumerate(values_of(value)):
        if rx.found(to_text(v) or ""):
            return index
    return None


#: An optional argument the call does not give (null is a value a call may give).
_NOT_GIVEN: Any = object()


@register("mvindex", 2, 3)
def _mvindex(value: Any, start: Any, end: Any = _NOT_GIVEN) -> Any:
    """``mvindex(MVFIELD, STARTINDEX[, ENDINDEX])``: 0-based, negative from the end, the end
    index included; an out-of-range start is null, an end past the last value is clamped. An
    end index given but null makes the result null (as any null argument does; the Spark
    lowering reads it so), unlike an end index not given."""
    values = values_of(value)
    first = to_number(start)
    if not values or first is None:
        return None
    count = len(values)
    lo = int(first) + count if first < 0 else int(first)
    if not 0 <= lo < count:
        return None
    if end is _NOT_GIVEN:
        return values[lo]
    last = to_number(end)
    if last is None:
        return None
    hi = min(int(last) + count if last < 0 else int(last), count - 1)
    return mv(values[lo : hi + 1]) if hi >= lo else None


@register("mvjoin", 2, 2)
def _mvjoin(value: Any, delimiter: Any) -> str | None:
    """``mvjoin(MVFIELD, STR)``: the values joined by the delimiter."""
    values = values_of(value)
    if not values or delimiter is None:
        return None
    return (to_text(delimiter) or "").join(to_text(v) or "" for v in values)


@register("mvsort", 1, 1)
def _mvsort(value: Any) -> Any:
    """``mvsort(X)``: the values sorted lexicographically (by code point: digits before upper
    case before lower case, as the reference says)."""
    return mv(sorted(values_of(value), key=lambda v: to_text(v) or ""))


@register("mvzip", 2, 3)
def _mvzip(left: Any, right: Any, delimiter: Any = ",") -> Any:
    """``mvzip(X, Y[, "Z"])``: pairs of values joined by Z (default comma), as long as the
    shorter field."""
    sep = to_text(delimiter) or ""
    return mv(
        f"{to_text(a)}{sep}{to_text(b)}"
        for a, b in zip(values_of(left), values_of(right), strict=False)
    )


@register("mvrange", 2, 3)
def _mvrange(start: Any, end: Any, step: Any = 1) -> Any:
    """``mvrange(X, Y[, Z])``: numbers from X up to but excluding Y, by step Z."""
    lo, hi, by = to_number(start), to_number(end), to_number(step)
    if lo is None or hi is None or not by:
        return None
    out: list[Any] = []
    current = lo
    while (by > 0 and current < hi) or (by < 0 and current > hi):
        out.append(tidy_number(current))
        current += by
        if len(out) > 10000:
            break
    return mv(out)


@register("mv_to_json_array", 1, 2)
def _mv_to_json_array(value: Any, infer: Any = False) -> str | None:
    """``mv_to_json_array(MV[, INFER_TYPES])``: a JSON array of the values (strings, or with
    inferred types when the second argument is true)."""
    values = values_of(value)
    if infer is True:
        items: list[Any] = []
        for v in values:
            try:
                items.append(json.loads(to_text(v) or ""))
            except ValueError:
                items.append(to_text(v))
        return json.dumps(items, separators=(",", ":"))
    return json.dumps([to_text(v) for v in values], ensure_ascii=False, separators=(",", ":"))


@register("split", 2, 2)
@per_value
def _split(value: Any, delimiter: Any) -> Any:
    """``split(X, "Y")``: the text split at each occurrence of Y (an empty Y splits into
    characters); empty pieces are kept (ruleglot's choice); a multivalue result."""
    text = to_text(value) or ""
    sep = to_text(delimiter)
    if sep is None:
        return None
    pieces = list(text) if sep == "" else text.split(sep)
    return pieces[0] if len(pieces) == 1 else pieces
