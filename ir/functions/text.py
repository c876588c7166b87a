"""Text eval functions (``len``, ``lower``/``upper``, ``trim``..., ``replace``,
``substr``, ``urldecode``).

Source: Splunk Search Reference, "Text functions".
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

from ir.functions.regex import compile_regex, expand_template
from ir.functions.table import FUNCTIONS, Function, register
from ir.functions.values import per_value, to_number, to_text

# Text functions


@register("len", 1, 1)
@per_value
def _len(value: Any) -> int:
    """``len(X)``: the number of characters."""
    return len(to_text(value) or "")


@register("lower", 1, 1)
@per_value
def _lower(value: Any) -> str | None:
    """``lower(X)``."""
    return (to_text(value) or "").lower()


@register("upper", 1, 1)
@per_value
def _upper(value: Any) -> str | None:
    """``upper(X)``."""
    return (to_text(value) or "").upper()


def _strip(which: str) -> Callable[..., Any]:
    @per_value
    def strip(value: Any, chars: Any = None) -> str:
        text = to_text(value) or ""
        remove = " \t" if chars is None else (to_text(chars) or "")
        return {"both": text.strip, "left": text.lstrip, "right": text.rstrip}[which](remove)

    name = {"both": "trim", "left": "ltrim", "right": "rtrim"}[which]
    strip.__doc__ = (
        f"``{name}(X[, Y])``: the characters of Y (default space and tab) "
        f"removed from the {which} side(s) of X."
    )
    return strip


FUNCTIONS["trim"] = Function("trim", 1, 2, _strip("both"))
FUNCTIONS["ltrim"] = Function("ltrim", 1, 2, _strip("left"))
FUNCTIONS["rtrim"] = Function("rtrim", 1, 2, _strip("right"))


@register("replace", 3, 3, regex_args=(1,))
@per_value
def _replace(value: Any, pattern: Any, replacement: Any) -> str | None:
    """``replace(X, Y, Z)``: every match of the regex Y in X replaced by Z, where ``\\1``...
    are groups of Y."""
    if pattern is None or replacement is None:
        return None
    rx = compile_regex(to_text(pattern) or "")
    return rx.sub(expand_template(to_text(replacement) or ""), to_text(value) or "")


@register("substr", 2, 3)
@per_value
def _substr(value: Any, start: Any, length: Any = None) -> str | None:
    """``substr(X, Y[, Z])``: Z characters (default: the rest) from position Y, 1-based;
    a negative Y counts from the end (``substr("string", -3)`` is ``ing``); Y = 0 is read as
    1 (ruleglot's choice)."""
    text = to_text(value) or ""
    first = to_number(start)
    if first is None:
        return None
    begin = int(first) - 1 if first > 0 else max(len(text) + int(first), 0) if first < 0 else 0
    if length is None:
        return text[begin:]
    count = to_number(length)
    if count is None or count < 0:
        return None
    return text[begin : begin + int(count)]


@register("urldecode", 1, 1)
@per_value
def _urldecode(value: Any) -> str:
    """``urldecode(X)``: ``%XX`` escapes decoded as UTF-8 (``+`` stays ``+``: ruleglot's
    choice, the reference's example has none)."""
    return urllib.parse.unquote(to_text(value) or "")
