"""Comparison, conditional and informational eval functions (``match``, ``like``,
``cidrmatch``, ``in``, ``nullif``, ``true``/``false``/``null``, ``isnull``... ``typeof``).

Sources: Splunk Search Reference, "Comparison and Conditional functions" and "Informational
functions". Tests hold when they hold for any value of a multivalue, and are false on null.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Any

from ir.functions.regex import compile_regex
from ir.functions.table import register
from ir.functions.values import equal, to_number, to_text, values_of
from ir.regexrun import BoundedRegex, bounded

# Comparison and Conditional functions


@register("match", 2, 2, regex_args=(1,))
def _match(subject: Any, pattern: Any) -> bool:
    """``match(SUBJECT, "REGEX")``: true when the regex matches anywhere in the subject
    (unanchored, PCRE syntax so ``(?i)`` works); any value of a multivalue subject."""
    if subject is None or pattern is None:
        return False
    rx = compile_regex(to_text(pattern) or "")
    return any(rx.found(to_text(v) or "") for v in values_of(subject))


def like_regex(pattern: str) -> BoundedRegex:
    """``like``'s pattern: ``%`` any run of characters, ``_`` exactly one, the rest literal
    (no escape character: the reference documents none), whole value, case-sensitive."""
    body = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return bounded(body, re.DOTALL)


_like_cache = functools.lru_cache(maxsize=1024)(like_regex)


@register("like", 2, 2)
def _like(subject: Any, pattern: Any) -> bool:
    """``like(TEXT, PATTERN)``: SQL LIKE with ``%`` and ``_`` (see :func:`like_regex`)."""
    if subject is None or pattern is None:
        return False
    rx = _like_cache(to_text(pattern) or "")
    return any(rx.fullmatch(to_text(v) or "") is not None for v in values_of(subject))


@functools.lru_cache(maxsize=1024)
def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return None


def cidr_contains(cidr: str, address: str) -> bool:
    """The address (IPv4 or IPv6 text) is inside the network ``cidr``."""
    network = _network(cidr)
    if network is None:
        return False
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return ip.version == network.version and ip in network


@register("cidrmatch", 2, 2)
def _cidrmatch(cidr: Any, ip: Any) -> bool:
    """``cidrmatch("CIDR", IP)``: the IP is in the subnet; false for a value that is not an
    address. IPv6 is accepted too (the reference only shows IPv4: ruleglot's choice)."""
    if cidr is None or ip is None:
        return False
    return any(cidr_contains(to_text(cidr) or "", to_text(v) or "") for v in values_of(ip))


@register("in", 1, None)
def _in(value: Any, *candidates: Any) -> bool:
    """``in(FIELD, VALUE-LIST)``: the field equals one of the values (as ``=``)."""
    if value is None:
        return False
    return any(equal(v, c) for v in values_of(value) for c in candidates if c is not None)


@register("nullif", 2, 2)
def _nullif(first: Any, second: Any) -> Any:
    """``nullif(X, Y)``: null when the two values are equal (as ``=``), else ``X``."""
    if (
        first is not None
        and second is not None
        and not isinstance(first, list)
        and not isinstance(second, list)
        and equal(first, second)
    ):
        return None
    return first


@register("true", 0, 0)
def _true() -> bool:
    """``true()``."""
    return True


@register("false", 0, 0)
def _false() -> bool:
    """``false()``."""
    return False


@register("null", 0, 0)
def _null() -> None:
    """``null()``."""
    return None


# Informational functions


@register("isnull", 1, 1)
def _isnull(value: Any) -> bool:
    """``isnull(X)``: X is null (missing, JSON null); an empty string is not null."""
    return value is None


@register("isnotnull", 1, 1)
def _isnotnull(value: Any) -> bool:
    """``isnotnull(X)``."""
    return value is not None


@register("isnum", 1, 1)
def _isnum(value: Any) -> bool:
    """``isnum(X)``: X is a number, or a string SPL reads as one (see the module docstring)."""
    return not isinstance(value, list) and to_number(value) is not None


@register("isint", 1, 1)
def _isint(value: Any) -> bool:
    """``isint(X)``: X is an integer (an ``int``, or a string of digits)."""
    number = to_number(value)
    if isinstance(value, str):
        return number is not None and "." not in value
    return isinstance(number, int)


@register("isstr", 1, 1)
def _isstr(value: Any) -> bool:
    """``isstr(X)``: X is a string that is not a number."""
    return isinstance(value, str) and to_number(value) is None


@register("isbool", 1, 1)
def _isbool(value: Any) -> bool:
    """``isbool(X)``: X is a boolean (from a comparison or ``true()``)."""
    return isinstance(value, bool)


@register("typeof", 1, 1)
def _typeof(value: Any) -> str:
    """``typeof(X)``: ``Number``, ``String``, ``Boolean``, ``Invalid`` for null;
    ``Multivalue`` for a multivalue (ruleglot's choice)."""
    if value is None:
        return "Invalid"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, list):
        return "Multivalue"
    return "Number" if to_number(value) is not None else "String"
