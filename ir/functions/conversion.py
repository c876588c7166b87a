"""Conversion and cryptographic eval functions (``tonumber``, ``tostring``, ``printf``,
``ipmask``, ``md5``/``sha1``/``sha256``/``sha512``).

Sources: Splunk Search Reference, "Conversion functions" and "Cryptographic functions".
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
from collections.abc import Callable
from typing import Any

from ir.functions.table import FUNCTIONS, Function, register
from ir.functions.values import EXPLICIT_NUMBER, per_value, to_number, to_text

# Conversion functions


@register("tonumber", 1, 2)
@per_value
def _tonumber(value: Any, base: Any = 10) -> int | float | None:
    """``tonumber(NUMSTR[, BASE])``: base 2 to 36 (an ``0x`` prefix is allowed in base 16);
    base 10 also reads a sign, decimals and an exponent. A value with leading or trailing
    spaces is not a number (null), as the reference says."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    radix = to_number(base)
    if radix is None or not 2 <= radix <= 36:
        return None
    if radix == 10:
        if not EXPLICIT_NUMBER.fullmatch(text):
            return None
        number = float(text)
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        return number
    if text != text.strip():
        return None
    try:
        return int(text, int(radix))
    except ValueError:
        return None


def _commas(number: int | float) -> str:
    if isinstance(number, int) or float(number).is_integer():
        return f"{int(number):,}"
    return f"{number:,.2f}"


def _duration(number: int | float) -> str:
    total = int(math.floor(number))
    days, rest = divmod(abs(total), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    text = f"{days}+{clock}" if days else clock
    return "-" + text if total < 0 else text


@register("tostring", 1, 2)
@per_value
def _tostring(value: Any, fmt: Any = None) -> str | None:
    """``tostring(X[, "hex"|"commas"|"duration"])``: a number as text; ``hex`` gives ``0xF``
    for 15, ``commas`` gives ``12,345.68`` (two decimals, integers none), ``duration`` gives
    ``HH:MM:SS`` (``D+HH:MM:SS`` past a day, whole seconds); a boolean gives ``True`` or
    ``False`` (the reference's example ``tostring(1==1)``)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if fmt is None:
        return to_text(value)
    number = to_number(value)
    kind = to_text(fmt)
    if number is None:
        return to_text(value)
    if kind == "hex":
        whole = int(number)
        return ("-0x" if whole < 0 else "0x") + format(abs(whole), "X")
    if kind == "commas":
        return _commas(number)
    if kind == "duration":
        return _duration(number)
    return to_text(value)


@register("printf", 1, None)
def _printf(fmt: Any, *args: Any) -> str | None:
    """``printf("format", args...)``: C ``printf`` conversions ``%s %d %i %u %f %F %e %E %g %G
    %x %X %o %c %%`` with flags, width and precision (also ``*``); the ``'`` flag groups
    thousands. Arguments are read as the conversion needs (a non-number for ``%d`` is 0)."""
    if fmt is None:
        return None
    queue = list(args)

    def take() -> Any:
        return queue.pop(0) if queue else None

    def convert(match: re.Match[str]) -> str:
        flags, width, precision, conv = match.groups()
        if conv == "%":
            return "%"
        if width == "*":
            width = str(int(to_number(take()) or 0))
        if precision == ".*":
            precision = "." + str(int(to_number(take()) or 0))
        group = "'" in flags
        spec = "%" + flags.replace("'", "") + (width or "") + (precision or "")
        value = take()
        if conv in "diu":
            number = int(to_number(value) or 0)
            text = (spec + "d") % number
            if group:
                text = text.replace(str(abs(number)), f"{abs(number):,}")
            return text
        if conv in "fFeEgG":
            return (spec + conv) % float(to_number(value) or 0)
        if conv in "xXo":
            return (spec + conv) % int(to_number(value) or 0)
        if conv == "c":
            code = to_number(value)
            return chr(int(code)) if code is not None else (to_text(value) or "")[:1]
        shown = to_text(value)
        return (spec + "s") % ("" if shown is None else shown)

    return re.sub(
        r"%([-+ 0#']*)(\*|\d+)?(\.\*|\.\d+)?([diufFeEgGxXocs%])", convert, to_text(fmt) or ""
    )


@per_value
def _ipmask_each(ip: Any, mask: Any) -> str | None:
    try:
        address = int(ipaddress.IPv4Address(to_text(ip)))
        bits = int(ipaddress.IPv4Address(to_text(mask)))
    except ValueError:
        return None
    return str(ipaddress.IPv4Address(address & bits))


@register("ipmask", 2, 2)
def _ipmask(mask: Any, ip: Any) -> Any:
    """``ipmask(MASK, IP)``: bitwise AND of two IPv4 addresses
    (``ipmask("255.255.255.0", "10.20.30.120")`` is ``10.20.30.0``)."""
    return _ipmask_each(ip, mask)


# Cryptographic functions


def _hasher(algorithm: str) -> Callable[[Any], Any]:
    @per_value
    def digest(value: Any) -> str:
        return hashlib.new(algorithm, (to_text(value) or "").encode("utf-8")).hexdigest()

    digest.__doc__ = f"``{algorithm}(X)``: the hex digest of the UTF-8 text of X."
    return digest


for _algorithm in ("md5", "sha1", "sha256", "sha512"):
    FUNCTIONS[_algorithm] = Function(_algorithm, 1, 1, _hasher(_algorithm))
